/**
 * The four OOD metrics of a detector on one (ID test, OOD) pair, with percentile-bootstrap confidence intervals.
 * Convention: ID is the positive class and a higher score means more ID, as in sklearn's roc_auc_score with ID
 * labelled 1 (the paper's evaluation; src/detectors/detector.ts states the score convention).
 */
import { UserError } from '../core/errors.js';
import { aurocOfSweep } from './auroc.js';
import { averagePrecisionOfSweep } from './average-precision.js';
import { fprAtTprOfSweep } from './fpr-at-tpr.js';
import { assertUsableScores, sweepOfSorted } from './score-sweep.js';
import { SeededRandom } from '../core/seeded-random.js';
import { percentile } from './percentile.js';

export const METRIC_NAMES = ['auroc', 'fpr95', 'auprIn', 'auprOut'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Human labels, for tables. */
export const METRIC_LABELS: Record<MetricName, string> = {
  auroc: 'AUROC',
  fpr95: 'FPR95',
  auprIn: 'AUPR-In',
  auprOut: 'AUPR-Out',
};

/** Whether a larger value is better: FPR95 is the one where lower is better. */
export const METRIC_HIGHER_IS_BETTER: Record<MetricName, boolean> = {
  auroc: true,
  fpr95: false,
  auprIn: true,
  auprOut: true,
};

export interface Estimate {
  value: number;
  /** Bounds of the percentile bootstrap interval; null when no resampling was asked for. */
  low: number | null;
  high: number | null;
}

export type OodMetrics = Record<MetricName, Estimate>;

export interface BootstrapOptions {
  /** Number of bootstrap resamples; 0 disables the intervals. Default 1000. */
  resamples?: number;
  /** PRNG seed; the same seed and scores give the same interval. Default 0. */
  seed?: number;
  /** Two-sided coverage of the interval. Default 0.95. */
  confidence?: number;
}

function negatedReversed(sortedDesc: Float64Array): Float64Array {
  const n = sortedDesc.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = -sortedDesc[n - 1 - i]!;
  return out;
}

/** All four metrics from ID and OOD scores that are already sorted descending. */
function metricsOfSorted(id: Float64Array, ood: Float64Array): Record<MetricName, number> {
  const inSweep = sweepOfSorted(id, ood);
  // AUPR-Out: OOD is the positive class and the score is negated.
  const outSweep = sweepOfSorted(negatedReversed(ood), negatedReversed(id));
  return {
    auroc: aurocOfSweep(inSweep),
    fpr95: fprAtTprOfSweep(inSweep, 0.95),
    auprIn: averagePrecisionOfSweep(inSweep),
    auprOut: averagePrecisionOfSweep(outSweep),
  };
}

function sortDesc(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  out.sort();
  return out.reverse();
}

/** Point estimates only (no resampling). */
export function oodMetricValues(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): Record<MetricName, number> {
  assertUsableScores(idScores, 'ID test scores');
  assertUsableScores(oodScores, 'OOD scores');
  return metricsOfSorted(sortDesc(idScores), sortDesc(oodScores));
}

/**
 * Point estimates plus percentile bootstrap intervals. ID and OOD are resampled separately (each with
 * replacement, at its own size), so each resample keeps the class balance of the data.
 */
export function oodMetrics(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, options: BootstrapOptions = {}): OodMetrics {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 0) throw new UserError(`bootstrap resamples must be a non-negative integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new UserError(`bootstrap confidence must be in (0, 1), got ${confidence}`);
  const point = oodMetricValues(idScores, oodScores);
  const out = {} as OodMetrics;
  if (resamples === 0) {
    for (const name of METRIC_NAMES) out[name] = { value: point[name], low: null, high: null };
    return out;
  }
  const random = new SeededRandom(options.seed ?? 0);
  const id = Float64Array.from(idScores);
  const ood = Float64Array.from(oodScores);
  const idSample = new Float64Array(id.length);
  const oodSample = new Float64Array(ood.length);
  const draws: Record<MetricName, Float64Array> = {
    auroc: new Float64Array(resamples),
    fpr95: new Float64Array(resamples),
    auprIn: new Float64Array(resamples),
    auprOut: new Float64Array(resamples),
  };
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < id.length; i++) idSample[i] = id[random.nextInt(id.length)]!;
    for (let i = 0; i < ood.length; i++) oodSample[i] = ood[random.nextInt(ood.length)]!;
    const m = metricsOfSorted(sortDesc(idSample), sortDesc(oodSample));
    for (const name of METRIC_NAMES) draws[name][r] = m[name];
  }
  const tail = ((1 - confidence) / 2) * 100;
  for (const name of METRIC_NAMES) {
    const sorted = draws[name].sort();
    out[name] = { value: point[name], low: percentile(sorted, tail), high: percentile(sorted, 100 - tail) };
  }
  return out;
}
