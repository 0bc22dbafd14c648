/**
 * The worst case per detector: its AUROC on clean OOD, under the paper's attack, under an attack on its own
 * score (an adaptive release, src/pipeline/adaptive-releases.ts), and the minimum of the three. A detector that
 * looks robust to the paper's feature collision is only robust if it also holds under its own attack
 * (Carlini et al. 2019; Tramèr et al. 2020). Derived from an EvaluationResult; the bootstrap CIs are the rows'.
 */
import type { EvaluationResult, MetricRow } from '../metrics/evaluation-result.js';
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
  /** The release attacked on this detector's own score; null when it was not attacked adaptively. */
  adaptive: WorstCaseCell | null;
  /** The lowest of the three. */
  worst: WorstCaseCell;
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
    const adaptiveSet = adversarial.find((s) => s.attackedDetector === detector);
    const paper = cell(paperRows[0]);
    const adaptive = cell(rowOf(adaptiveSet?.name));
    const cleanOf = (paper ? paperSets.find((s) => s.name === paper.set) : adaptiveSet)?.cleanOf;
    const clean = cell(rowOf(cleanOf));
    const cells = [clean, paper, adaptive].filter((c): c is WorstCaseCell => c !== null);
    if (cells.length === 0) continue;
    const worst = cells.reduce((a, b) => (b.auroc.value < a.auroc.value ? b : a));
    out.push({ detector, clean, paper, adaptive, worst });
  }
  return out;
}
