/**
 * Average precision as sklearn's `average_precision_score`: Σ_n (R_n − R_{n−1}) · P_n over the distinct
 * thresholds from the highest score down (a step function, no trapezoid). AUPR-In takes ID as positive with
 * the scores as they are; AUPR-Out takes OOD as positive with the scores negated.
 */
import type { ScoreSweep } from './score-sweep.js';

export function averagePrecisionOfSweep(sweep: ScoreSweep): number {
  const { truePositives: tp, falsePositives: fp, positives: P } = sweep;
  let ap = 0;
  let prevTp = 0;
  for (let i = 0; i < tp.length; i++) {
    const precision = tp[i]! / (tp[i]! + fp[i]!);
    ap += ((tp[i]! - prevTp) / P) * precision;
    prevTp = tp[i]!;
  }
  return ap;
}
