/** Success rate and medians over release rows: the numbers `advood generate` and `advood demo` print. */
import { median } from '../metrics/percentile.js';
import type { ReleaseRow } from '../release/release-row.js';

/** The per-row numbers the statistics need (not the images: a run may be large). */
export type RowNumbers = Pick<ReleaseRow, 'success' | 'cosBefore' | 'cosAfter' | 'psnr' | 'linf' | 'lowFreqEnergy' | 'steps'>;

export interface RowStatistics {
  rows: number;
  successRate: number;
  median: { cosBefore: number; cosAfter: number; psnr: number; linf: number; lowFreqEnergy: number; steps: number };
}

export function rowNumbers({ success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps }: RowNumbers): RowNumbers {
  return { success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps };
}

export function successRate(rows: readonly RowNumbers[]): number {
  return rows.length ? rows.filter((r) => r.success).length / rows.length : 0;
}

export function meanCosAfter(rows: readonly RowNumbers[]): number {
  return rows.length ? rows.reduce((a, r) => a + r.cosAfter, 0) / rows.length : 0;
}

export function rowStatistics(rows: readonly RowNumbers[]): RowStatistics {
  return {
    rows: rows.length,
    successRate: successRate(rows),
    median: {
      cosBefore: median(rows.map((r) => r.cosBefore)),
      cosAfter: median(rows.map((r) => r.cosAfter)),
      psnr: median(rows.map((r) => r.psnr)),
      linf: median(rows.map((r) => r.linf)),
      lowFreqEnergy: median(rows.map((r) => r.lowFreqEnergy)),
      steps: median(rows.map((r) => r.steps)),
    },
  };
}
