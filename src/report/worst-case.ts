/**
 * The worst case per detector: its AUROC on clean OOD, under the paper's attack, under each attack on its own
 * score (adaptive releases, src/pipeline/adaptive-releases.ts: the paper's attack repeated on the score, APGD,
 * Square), under their per-item ensemble, and the minimum. A detector that looks robust to the paper's feature
 * collision is only robust if it also holds under attacks on its own decision function (Carlini et al. 2019;
 * Tramèr et al. 2020), and one that holds against gradient attacks but not against the gradient-free Square may
 * be masking its gradients (Athalye et al. 2018). Derived from an EvaluationResult; the bootstrap CIs are the rows'.
 */
import type { AdaptiveAttack, EvaluationResult, MetricRow } from '../metrics/evaluation-result.js';
import type { Estimate } from '../metrics/ood-metrics.js';

export interface WorstCaseCell {
  /** The OOD set the AUROC was measured on. */
  set: string;
  auroc: Estimate;
}

export interface WorstCaseRow {
  detector: string;
  /** The clean images the paper's worst release was made from (else those of the adaptive release). */
  clean: WorstCaseCell | null;
  /** The lowest AUROC among the paper-attack (feature-collision) releases. */
  paper: WorstCaseCell | null;
  /** A gradient attack with its preset's optimiser on this detector's own score (the paper's attack repeated on it, by default). */
  adaptive: WorstCaseCell | null;
  /** APGD on its own score. */
  apgd: WorstCaseCell | null;
  /** The gradient-free Square attack on its own score. */
  square: WorstCaseCell | null;
  /** The per-item worst case over its adaptive attacks (two or more of them). */
  ensemble: WorstCaseCell | null;
  /** The lowest of all. */
  worst: WorstCaseCell;
  /**
   * Square, which uses no gradients, reached a lower AUROC than every gradient attack on the same score: the
   * sign of a score whose gradients mislead (Athalye et al. 2018), so the gradient attacks' figures are not a
   * worst case for it.
   */
  gradientMasking: boolean;
}

function cell(row: MetricRow | undefined): WorstCaseCell | null {
  return row ? { set: row.set, auroc: row.metrics.auroc } : null;
}

/**
 * One row per detector, when the evaluation holds at least one adaptive release; else none: without an attack
 * on each detector's own score the minimum is not a worst case (the report then heads with worstUnderAttacks, captioned so).
 */
export function worstCaseRows(result: EvaluationResult): WorstCaseRow[] {
  return result.sets.some((s) => s.attackedDetector !== undefined) ? worstUnderAttacks(result) : [];
}

/** The same rows whatever attacks ran: a detector with no adversarial set at all has none. */
export function worstUnderAttacks(result: EvaluationResult): WorstCaseRow[] {
  const adversarial = result.sets.filter((s) => s.kind === 'adversarial');
  const paperSets = adversarial.filter((s) => s.attackedDetector === undefined);
  const out: WorstCaseRow[] = [];
  for (const { name: detector } of result.detectors) {
    const rowOf = (set: string | undefined) => result.rows.find((r) => r.detector === detector && r.set === set);
    const paperRows = paperSets.map((s) => rowOf(s.name)!).sort((a, b) => a.metrics.auroc.value - b.metrics.auroc.value);
    const ownSets = adversarial.filter((s) => s.attackedDetector === detector);
    const ownBy = (attack: AdaptiveAttack) => ownSets.find((s) => (s.adaptiveAttack ?? 'gradient') === attack);
    const adaptiveSet = ownBy('gradient') ?? ownSets[0];
    const paper = cell(paperRows[0]);
    const adaptive = cell(rowOf(ownBy('gradient')?.name));
    const apgd = cell(rowOf(ownBy('apgd')?.name));
    const square = cell(rowOf(ownBy('square')?.name));
    const ensembleRow = result.ensembles.find((e) => e.detector === detector);
    const ensemble = ensembleRow ? { set: ensembleRow.set, auroc: ensembleRow.metrics.auroc } : null;
    const cleanOf = (paper ? paperSets.find((s) => s.name === paper.set) : adaptiveSet)?.cleanOf;
    const clean = cell(rowOf(cleanOf));
    const cells = [clean, paper, adaptive, apgd, square, ensemble].filter((c): c is WorstCaseCell => c !== null);
    if (cells.length === 0) continue;
    const worst = cells.reduce((a, b) => (b.auroc.value < a.auroc.value ? b : a));
    const gradientCells = [adaptive, apgd].filter((c): c is WorstCaseCell => c !== null);
    const gradientMasking = square !== null && gradientCells.length > 0 && gradientCells.every((c) => square.auroc.value < c.auroc.value);
    out.push({ detector, clean, paper, adaptive, apgd, square, ensemble, worst, gradientMasking });
  }
  return out;
}
