/**
 * False-positive rate at a true-positive rate (FPR95 for tpr = 0.95).
 *
 * Interpolation: none. We take the FPR at the **first threshold, from the highest
 * score down, where TPR ≥ tpr** — i.e. `fpr[np.searchsorted(tpr_curve, 0.95, side='left')]` over sklearn's
 * `roc_curve(drop_intermediate=False)` points. (The paper's own code uses `np.interp(0.95, tpr, fpr)`, which can
 * be slightly lower when the crossing falls inside a step.)
 */
import type { ScoreSweep } from './score-sweep.js';

export function fprAtTprOfSweep(sweep: ScoreSweep, tpr = 0.95): number {
  const { truePositives: tp, falsePositives: fp, positives: P, negatives: N } = sweep;
  // Compare counts, not ratios, so 0.95·P that is an exact integer is not missed by rounding.
  const needed = tpr * P - 1e-9 * P;
  for (let i = 0; i < tp.length; i++) {
    if (tp[i]! >= needed) return fp[i]! / N;
  }
  return 1; // unreachable: the last threshold has TP = P
}
