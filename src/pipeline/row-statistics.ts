/** Success rate and medians over release rows: the numbers `advood generate` and `advood demo` print. */
import { median } from '../metrics/percentile.js';
import type { ReleaseRow } from '../release/release-row.js';

/** The per-row numbers the statistics need (not the images: a run may be large). */
export type RowNumbers = Pick<ReleaseRow, 'success' | 'cosBefore' | 'cosAfter' | 'psnr' | 'linf' | 'lowFreqEnergy' | 'steps' | 'detectorScoreBefore' | 'detectorScoreAfter'>;

export interface RowStatistics {
  rows: number;
  successRate: number;
  median: { cosBefore: number; cosAfter: number; psnr: number; linf: number; lowFreqEnergy: number; steps: number };
  /** Medians of the attacked detector's score (clean → saved image), for a release attacked on a detector. */
  detectorScore?: { before: number; after: number };
}

export function rowNumbers({ success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps, detectorScoreBefore, detectorScoreAfter }: RowNumbers): RowNumbers {
  const detector = detectorScoreBefore !== undefined && detectorScoreAfter !== undefined ? { detectorScoreBefore, detectorScoreAfter } : {};
  return { success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps, ...detector };
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
    ...(rows.length > 0 && rows.every((r) => r.detectorScoreBefore !== undefined && r.detectorScoreAfter !== undefined) && {
      detectorScore: { before: median(rows.map((r) => r.detectorScoreBefore!)), after: median(rows.map((r) => r.detectorScoreAfter!)) },
    }),
  };
}
