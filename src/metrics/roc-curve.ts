/**
 * ROC curve points for plots: (FPR, TPR) at every distinct threshold, from (0, 0) to (1, 1), with ID positive.
 * Long curves are thinned to at most `maxPoints` by keeping evenly spaced points plus both ends; the plot
 * does not need every step of a 50k-sample curve.
 */
import { assertUsableScores, scoreSweep } from './score-sweep.js';

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
}

export function rocCurve(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, maxPoints = 500): RocCurve {
  assertUsableScores(idScores, 'ID test scores');
  assertUsableScores(oodScores, 'OOD scores');
  const sweep = scoreSweep(idScores, oodScores);
  const total = sweep.thresholds.length + 1;
  const keep = Math.min(total, Math.max(2, maxPoints));
  const fpr = new Float64Array(keep);
  const tpr = new Float64Array(keep);
  for (let k = 0; k < keep; k++) {
    const index = keep === total ? k : Math.round((k * (total - 1)) / (keep - 1));
    fpr[k] = index === 0 ? 0 : sweep.falsePositives[index - 1]! / sweep.negatives;
    tpr[k] = index === 0 ? 0 : sweep.truePositives[index - 1]! / sweep.positives;
  }
  return { fpr, tpr };
}
