/**
 * What the report opens with: the one table a reader came for. With an adaptive release it is the worst case per
 * detector (clean, the paper's attack, its own attack, the minimum); with the paper's releases only, clean vs the
 * paper's attack, captioned as no worst case; with clean OOD only, the AUROC on each clean set. summary.md and
 * report.html both render this model, so they cannot disagree on what the headline is.
 */
import type { EvaluationResult } from '../metrics/evaluation-result.js';
import { estimateText } from './number-text.js';
import { type WorstCaseCell, worstCaseRows, worstUnderAttacks } from './worst-case.js';

export interface Headline {
  title: string;
  caption: string;
  columns: string[];
  rows: { detector: string; cells: (WorstCaseCell | null)[] }[];
  /** Whether a cell names the set it was measured on: the attack columns pick a set per detector, a clean-set column is one set. */
  cellsNameSets: boolean;
}

export const WORST_CASE_CAPTION =
  "AUROC in % on clean OOD, under the paper's attack (its worst release), under an attack on the detector's own score (adaptive), and the minimum; — = not attacked that way.";
export const WORST_CASE_HEADERS = ['Clean OOD', "Paper's attack", 'Own (adaptive) attack', 'Worst'];

const PAPER_ONLY_CAPTION =
  "AUROC in % on clean OOD and under the paper's attack (its worst release). No detector was attacked on its own score (evaluate --adaptive), so this is not a worst case.";

export function headline(result: EvaluationResult): Headline {
  const worst = worstCaseRows(result);
  if (worst.length > 0) {
    return {
      title: 'Worst case per detector',
      caption: WORST_CASE_CAPTION,
      columns: WORST_CASE_HEADERS,
      rows: worst.map((r) => ({ detector: r.detector, cells: [r.clean, r.paper, r.adaptive, r.worst] })),
      cellsNameSets: true,
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
  };
}

/** A cell as text: AUROC [CI], with the set it was measured on where the column does not say it; — when absent. */
export function headlineCellText(cell: WorstCaseCell | null, nameSet: boolean): string {
  if (!cell) return '—';
  return nameSet ? `${estimateText(cell.auroc)} (${cell.set})` : estimateText(cell.auroc);
}
