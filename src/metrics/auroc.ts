/**
 * Area under the ROC curve, as sklearn's `roc_auc_score`: the trapezoid rule over the ROC points of every
 * distinct threshold, starting at (0, 0). Tied positive/negative scores form one diagonal step, so a tie
 * counts half (equal to the Mann–Whitney U statistic with mid-ranks divided by P·N).
 */
import type { ScoreSweep } from './score-sweep.js';

export function aurocOfSweep(sweep: ScoreSweep): number {
  const { truePositives: tp, falsePositives: fp, positives: P, negatives: N } = sweep;
  let area = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let i = 0; i < tp.length; i++) {
    area += (fp[i]! - prevFp) * (tp[i]! + prevTp);
    prevTp = tp[i]!;
    prevFp = fp[i]!;
  }
  return area / (2 * P * N);
}
