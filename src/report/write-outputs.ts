/**
 * Writes everything an evaluation produces into one directory: summary.md, summary.csv, summary.json,
 * scores.arrow (per-sample scores) and report.html. Returns the Markdown summary for printing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationResult } from '../metrics/evaluation-result.js';
import { type ReportOptions, renderReportHtml } from './report-html.js';
import { scoresArrowBytes } from './scores-arrow.js';
import { summaryCsv, summaryJson, summaryMarkdown } from './summary-table.js';

export const OUTPUT_FILES = ['summary.md', 'summary.csv', 'summary.json', 'scores.arrow', 'report.html'] as const;

export async function writeEvaluationOutputs(
  result: EvaluationResult,
  outDir: string,
  options: ReportOptions = {},
): Promise<{ markdown: string; files: string[] }> {
  await mkdir(outDir, { recursive: true });
  const markdown = summaryMarkdown(result);
  const contents: Record<(typeof OUTPUT_FILES)[number], string | Uint8Array> = {
    'summary.md': markdown,
    'summary.csv': summaryCsv(result),
    'summary.json': summaryJson(result),
    'scores.arrow': scoresArrowBytes(result.scores),
    'report.html': await renderReportHtml(result, options),
  };
  const files: string[] = [];
  for (const name of OUTPUT_FILES) {
    const path = join(outDir, name);
    await writeFile(path, contents[name]);
    files.push(path);
  }
  return { markdown, files };
}
