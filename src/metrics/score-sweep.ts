/**
 * The threshold sweep behind every ranking metric: walk the distinct scores from highest to lowest and count
 * how many positives (TP) and negatives (FP) score at or above each one. This is what sklearn's
 * `_binary_clf_curve` computes; AUROC, FPR@TPR and average precision are all read off it, so the bootstrap
 * sorts each resample once and derives all four metrics from the same sweep.
 */
import { UserError } from '../core/errors.js';

export interface ScoreSweep {
  /** Distinct score values, descending. */
  readonly thresholds: Float64Array;
  /** Positives with score ≥ thresholds[i]. */
  readonly truePositives: Float64Array;
  /** Negatives with score ≥ thresholds[i]. */
  readonly falsePositives: Float64Array;
  readonly positives: number;
  readonly negatives: number;
}

/** Throws a UserError naming `what` when the scores are empty or contain NaN/±Infinity. */
export function assertUsableScores(scores: ArrayLike<number>, what: string): void {
  if (scores.length === 0) throw new UserError(`${what}: no scores (the set is empty)`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new UserError(`${what}: score of row ${i} is ${scores[i]}, not a finite number`);
  }
}

function sortedDescending(scores: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(scores);
  out.sort();
  out.reverse();
  return out;
}

/** Sweep with `positive` as the positive class; a higher score means "more positive". */
export function scoreSweep(positive: ArrayLike<number>, negative: ArrayLike<number>): ScoreSweep {
  return sweepOfSorted(sortedDescending(positive), sortedDescending(negative));
}

/** Same as scoreSweep, for inputs already sorted descending (the bootstrap's fast path). */
export function sweepOfSorted(pos: Float64Array, neg: Float64Array): ScoreSweep {
  const capacity = pos.length + neg.length;
  const thresholds = new Float64Array(capacity);
  const tps = new Float64Array(capacity);
  const fps = new Float64Array(capacity);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < pos.length || j < neg.length) {
    const p = i < pos.length ? pos[i]! : -Infinity;
    const q = j < neg.length ? neg[j]! : -Infinity;
    const t = p >= q ? p : q;
    // Consume every score equal to t on both sides: tied scores share one threshold (ties count half in AUROC).
    while (i < pos.length && pos[i] === t) i++;
    while (j < neg.length && neg[j] === t) j++;
    thresholds[n] = t;
    tps[n] = i;
    fps[n] = j;
    n++;
  }
  return {
    thresholds: thresholds.slice(0, n),
    truePositives: tps.slice(0, n),
    falsePositives: fps.slice(0, n),
    positives: pos.length,
    negatives: neg.length,
  };
}
