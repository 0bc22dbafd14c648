/**
 * The summary of an evaluation as tables: detector × OOD set with AUROC / FPR95 / AUPR-In / AUPR-Out and their
 * bootstrap intervals, and for each adversarial set its clean source next to it with Δ (the collapse).
 * Markdown (printed; the headline table first), CSV (one row per detector × set, with the clean source's values
 * and Δ) and JSON.
 */
import type { EvaluationResult } from '../metrics/evaluation-result.js';
import { METRIC_LABELS, METRIC_NAMES } from '../metrics/ood-metrics.js';
import { headline, headlineCellText } from './headline.js';
import { estimateText, percent, signed } from './number-text.js';
import { worstCaseRows } from './worst-case.js';

/** The headline table first (headline.ts), then every detector × set, the collapse, notes and what could not run. */
export function summaryMarkdown(result: EvaluationResult): string {
  const lines: string[] = [];
  const confidence = Math.round(result.bootstrap.confidence * 100);
  lines.push(`ID test: ${result.idTestSize} images. Values in %, [${confidence} % percentile bootstrap CI, ${result.bootstrap.resamples} resamples].`);
  const head = headline(result);
  lines.push('', `${head.title}: ${head.caption}`, '');
  lines.push(`| Detector | ${head.columns.join(' | ')} |`);
  lines.push(`|---|${head.columns.map(() => '---:').join('|')}|`);
  for (const row of head.rows) lines.push(`| ${row.detector} | ${row.cells.map((c) => headlineCellText(c, head.cellsNameSets)).join(' | ')} |`);
  if (head.notes.length > 0) lines.push('', ...head.notes);
  lines.push('', 'Every detector × OOD set, in %.', '');
  lines.push(`| Detector | OOD set | ${METRIC_NAMES.map((m) => METRIC_LABELS[m]).join(' | ')} |`);
  lines.push(`|---|---|${METRIC_NAMES.map(() => '---:').join('|')}|`);
  for (const row of result.rows) {
    const set = result.sets.find((s) => s.name === row.set)!;
    const label = set.kind === 'adversarial' ? `${row.set} (adv.)` : row.set;
    lines.push(`| ${row.detector} | ${label} | ${METRIC_NAMES.map((m) => estimateText(row.metrics[m])).join(' | ')} |`);
  }
  if (result.collapses.length > 0) {
    lines.push('');
    lines.push('Collapse: clean → adversarial (Δ), in %.');
    lines.push('');
    lines.push(`| Detector | Adversarial set | Clean source | ${METRIC_NAMES.map((m) => METRIC_LABELS[m]).join(' | ')} |`);
    lines.push(`|---|---|---|${METRIC_NAMES.map(() => '---:').join('|')}|`);
    for (const c of result.collapses) {
      const clean = result.rows.find((r) => r.detector === c.detector && r.set === c.clean)!;
      const adv = result.rows.find((r) => r.detector === c.detector && r.set === c.adversarial)!;
      const cells = METRIC_NAMES.map((m) => `${percent(clean.metrics[m].value)} → ${percent(adv.metrics[m].value)} (${signed(c.delta[m])})`);
      lines.push(`| ${c.detector} | ${c.adversarial} | ${c.clean} | ${cells.join(' | ')} |`);
    }
  }
  const notes = result.detectors.filter((d) => d.notes.length > 0);
  if (notes.length > 0) {
    lines.push('');
    for (const d of notes) lines.push(`- ${d.name}: ${d.notes.join('; ')}`);
  }
  if (result.notApplicable.length > 0) {
    lines.push('');
    lines.push('Not applicable here:');
    lines.push('');
    for (const d of result.notApplicable) lines.push(`- ${d.detector}: ${d.reason}`);
  }
  return lines.join('\n') + '\n';
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per detector × OOD set; values are fractions (not %), empty cells where not applicable. */
export function summaryCsv(result: EvaluationResult): string {
  const header = ['detector', 'set', 'kind', 'clean_source', 'id_size', 'ood_size'];
  for (const m of METRIC_NAMES) header.push(m, `${m}_ci_low`, `${m}_ci_high`, `${m}_clean`, `${m}_delta`);
  const lines = [header.join(',')];
  for (const row of result.rows) {
    const set = result.sets.find((s) => s.name === row.set)!;
    const collapse = result.collapses.find((c) => c.detector === row.detector && c.adversarial === row.set);
    const clean = collapse && result.rows.find((r) => r.detector === row.detector && r.set === collapse.clean);
    const cells: (string | number | null)[] = [row.detector, row.set, set.kind, set.cleanOf ?? null, result.idTestSize, set.size];
    for (const m of METRIC_NAMES) {
      const e = row.metrics[m];
      cells.push(e.value, e.low, e.high, clean ? clean.metrics[m].value : null, collapse ? collapse.delta[m] : null);
    }
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

/** Everything but the per-sample scores (those go to the Arrow file), plus the worst case per detector. */
export function summaryJson(result: EvaluationResult): string {
  const { scores: _scores, ...summary } = result;
  const worstCase = worstCaseRows(result);
  return JSON.stringify(worstCase.length > 0 ? { ...summary, worstCase } : summary, null, 2) + '\n';
}
