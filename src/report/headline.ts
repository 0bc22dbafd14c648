/**
 * What the report opens with: the one table a reader came for. With an adaptive release it is the worst case per
 * detector (clean, the paper's attack, its own attack, the minimum); with the paper's releases only, clean vs the
 * paper's attack, captioned as no worst case; with clean OOD only, the AUROC on each clean set. summary.md and
 * report.html both render this model, so they cannot disagree on what the headline is.
 */
import type { EvaluationResult } from '../metrics/evaluation-result.js';
import { estimateText } from './number-text.js';
import { type WorstCaseCell, type WorstCaseRow, worstCaseRows, worstUnderAttacks } from './worst-case.js';

export interface Headline {
  title: string;
  caption: string;
  columns: string[];
  rows: { detector: string; cells: (WorstCaseCell | null)[] }[];
  /** Whether a cell names the set it was measured on: the attack columns pick a set per detector, a clean-set column is one set. */
  cellsNameSets: boolean;
  /** Sentences under the table: the detectors whose gradient attacks Square beat (possible gradient masking). */
  notes: string[];
}

export const WORST_CASE_CAPTION =
  "AUROC in % on clean OOD, under the paper's attack (its worst release), under attacks on the detector's own score (adaptive: the paper's attack repeated on the score, and where run APGD, the gradient-free Square and their per-item ensemble), and the minimum; — = not attacked that way.";
export const WORST_CASE_HEADERS = ['Clean OOD', "Paper's attack", 'Own (adaptive) attack', 'Worst'];

/** The worst-case columns, each with the cell it reads; the attack-strength ones only where some detector has them. */
const WORST_CASE_COLUMNS: { header: string; cell: (row: WorstCaseRow) => WorstCaseCell | null; always: boolean }[] = [
  { header: WORST_CASE_HEADERS[0]!, cell: (r) => r.clean, always: true },
  { header: WORST_CASE_HEADERS[1]!, cell: (r) => r.paper, always: true },
  { header: WORST_CASE_HEADERS[2]!, cell: (r) => r.adaptive, always: true },
  { header: 'APGD (own score)', cell: (r) => r.apgd, always: false },
  { header: 'Square (own score, no gradients)', cell: (r) => r.square, always: false },
  { header: 'Ensemble (per-item worst)', cell: (r) => r.ensemble, always: false },
  { header: WORST_CASE_HEADERS[3]!, cell: (r) => r.worst, always: true },
];

/** In words, for each detector where Square beat every gradient attack on its score. */
export function gradientMaskingNotes(rows: readonly WorstCaseRow[]): string[] {
  return rows
    .filter((r) => r.gradientMasking)
    .map((r) => {
      const gradient = [r.adaptive && `the own-score gradient attack's ${estimateText(r.adaptive.auroc)}`, r.apgd && `APGD's ${estimateText(r.apgd.auroc)}`].filter(Boolean).join(' and ');
      return `Possible gradient masking for ${r.detector}: Square, which uses no gradients, lowered its AUROC to ${estimateText(r.square!.auroc)}, below ${gradient}; its gradient attacks understate the worst case.`;
    });
}

const PAPER_ONLY_CAPTION =
  "AUROC in % on clean OOD and under the paper's attack (its worst release). No detector was attacked on its own score (evaluate --adaptive), so this is not a worst case.";

export function headline(result: EvaluationResult): Headline {
  const worst = worstCaseRows(result);
  if (worst.length > 0) {
    const columns = WORST_CASE_COLUMNS.filter((c) => c.always || worst.some((r) => c.cell(r) !== null));
    return {
      title: 'Worst case per detector',
      caption: WORST_CASE_CAPTION,
      columns: columns.map((c) => c.header),
      rows: worst.map((r) => ({ detector: r.detector, cells: columns.map((c) => c.cell(r)) })),
      cellsNameSets: true,
      notes: gradientMaskingNotes(worst),
    };
  }
  const paper = worstUnderAttacks(result);
  if (paper.length > 0) {
    return {
      title: "The paper's attack per detector",
      caption: PAPER_ONLY_CAPTION,
      columns: WORST_CASE_HEADERS.slice(0, 2),
      rows: paper.map((r) => ({ detector: r.detector, cells: [r.clean, r.paper] })),
      cellsNameSets: true,
      notes: [],
    };
  }
  const clean = result.sets.map((s) => s.name);
  return {
    title: 'Clean AUROC per detector',
    caption: 'AUROC in % on each clean OOD set; no adversarial set was evaluated.',
    columns: clean,
    rows: result.detectors.map(({ name }) => ({
      detector: name,
      cells: clean.map((set) => {
        const row = result.rows.find((r) => r.detector === name && r.set === set);
        return row ? { set, auroc: row.metrics.auroc } : null;
      }),
    })),
    cellsNameSets: false,
    notes: [],
  };
}

/** A cell as text: AUROC [CI], with the set it was measured on where the column does not say it; — when absent. */
export function headlineCellText(cell: WorstCaseCell | null, nameSet: boolean): string {
  if (!cell) return '—';
  return nameSet ? `${estimateText(cell.auroc)} (${cell.set})` : estimateText(cell.auroc);
}
