/**
 * Scores from classifier logits, at temperature T (higher = more ID):
 * - MSP: max_c softmax(logits / T)_c (Hendrycks & Gimpel 2017; the authors' `msp`);
 * - energy: T · logsumexp(logits / T) (negative free energy, Liu et al. 2020; the authors' `free_energy`);
 * - max-logit: max_c logits_c (Hendrycks et al. 2022);
 * - GEN: −Σ_{j ∈ top-M} p_j^γ (1 − p_j)^γ over the M largest softmax probabilities p = softmax(logits / T)
 *   (Liu, Lochman & Zach, "GEN: Pushing the Limits of Softmax-Based Out-of-Distribution Detection", CVPR 2023,
 *   eq. 6), with the paper's γ = 0.1 and M = 100 (all classes when there are fewer).
 * Computed in float64 with the max subtracted, so large logits cannot overflow.
 */
import * as tf from '@tensorflow/tfjs';

export const LOGIT_SCORE_NAMES = ['msp', 'energy', 'max-logit', 'gen'] as const;
export type LogitScoreName = (typeof LOGIT_SCORE_NAMES)[number];

/** GEN's γ and M (Liu et al. 2023, the values of their ImageNet experiments and code). */
export const GEN_GAMMA = 0.1;
export const GEN_TOP_M = 100;

/** The same scores as tfjs functions of logits [B × classes] (float32, differentiable), for adaptive attacks. */
export function logitScoresTensor(logits: tf.Tensor2D, kind: LogitScoreName, temperature = 1): tf.Tensor1D {
  return tf.tidy(() => {
    if (kind === 'max-logit') return tf.max(logits, 1) as tf.Tensor1D;
    const scaled = tf.div(logits, temperature);
    // tf.softmax and tf.logSumExp subtract the row max themselves, like the float64 path below.
    if (kind === 'msp') return tf.max(tf.softmax(scaled), 1) as tf.Tensor1D;
    if (kind === 'gen') return generalizedEntropyScore(scaled as tf.Tensor2D);
    return tf.mul(tf.logSumExp(scaled, 1), temperature) as tf.Tensor1D;
  });
}

/**
 * −Σ_top-M p^γ (1 − p)^γ, in logs: p^γ = exp(γ · log_softmax), so a probability that underflows contributes 0
 * instead of 0 · ∞ in the gradient. log(1 − p) of the most probable class is the logsumexp of the other classes'
 * log-probabilities, exact where 1 − p rounds to 0 in float32 (a saturated softmax at CLIP's logit scale); for
 * the others p < ½ and 1 − p is exact. The top-M set and the most probable class are masks from the
 * probabilities' ranks: constant in the features, as a sort's permutation is.
 */
function generalizedEntropyScore(scaled: tf.Tensor2D): tf.Tensor1D {
  const [, classes] = scaled.shape;
  const logP = tf.logSoftmax(scaled);
  const p = tf.exp(logP);
  const isMax = tf.oneHot(tf.argMax(scaled, 1), classes).toFloat();
  const logOthers = tf.logSumExp(tf.add(logP, tf.mul(isMax, -1e30)), 1, true);
  const logOneMinusP = tf.add(tf.mul(isMax, logOthers), tf.mul(tf.sub(1, isMax), tf.log(tf.maximum(tf.sub(1, p), 2 ** -24))));
  const terms = tf.exp(tf.mul(GEN_GAMMA, tf.add(logP, logOneMinusP)));
  const m = Math.min(GEN_TOP_M, classes);
  const inTopM = m === classes ? terms : tf.mul(terms, tf.sum(tf.oneHot(tf.topk(p, m).indices, classes), 1));
  return tf.neg(tf.sum(inTopM, 1)) as tf.Tensor1D;
}

/** One score per row of the [rows × classes] logits. */
export function logitScores(logits: ArrayLike<number>, rows: number, classes: number, kind: LogitScoreName, temperature = 1): Float64Array {
  const out = new Float64Array(rows);
  /** exp((logit − max) / T) of the current row; GEN normalises them into its probabilities. */
  const exps = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    const offset = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[offset + c]!);
    if (kind === 'max-logit') {
      out[r] = max;
      continue;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      exps[c] = Math.exp((logits[offset + c]! - max) / temperature);
      sum += exps[c]!;
    }
    if (kind === 'gen') {
      const sorted = exps.map((e) => e / sum).sort().reverse();
      // 1 − p of the most probable class as the sum of the others: exact where 1 − p would round to 0.
      const oneMinusTop = sorted.subarray(1).reduce((total, q) => total + q, 0);
      const top = sorted.subarray(0, Math.min(GEN_TOP_M, classes));
      out[r] = -top.reduce((total, q, j) => total + q ** GEN_GAMMA * (j === 0 ? oneMinusTop : 1 - q) ** GEN_GAMMA, 0);
      continue;
    }
    // softmax max = exp(0)/sum; logsumexp(l/T) = max/T + log(sum)
    out[r] = kind === 'msp' ? 1 / sum : max + temperature * Math.log(sum);
  }
  return out;
}
