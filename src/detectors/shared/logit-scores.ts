/**
 * Scores from classifier logits (the authors' `msp`, `free_energy` and max-logit), at temperature T:
 * - MSP: max_c softmax(logits / T)_c;
 * - energy: T · logsumexp(logits / T) (negative free energy, Liu et al. 2020);
 * - max-logit: max_c logits_c.
 * Computed in float64 with the max subtracted, so large logits cannot overflow.
 */
import * as tf from '@tensorflow/tfjs';

export const LOGIT_SCORE_NAMES = ['msp', 'energy', 'max-logit'] as const;
export type LogitScoreName = (typeof LOGIT_SCORE_NAMES)[number];

/** The same scores as tfjs functions of logits [B × classes] (float32, differentiable), for adaptive attacks. */
export function logitScoresTensor(logits: tf.Tensor2D, kind: LogitScoreName, temperature = 1): tf.Tensor1D {
  return tf.tidy(() => {
    if (kind === 'max-logit') return tf.max(logits, 1) as tf.Tensor1D;
    const scaled = tf.div(logits, temperature);
    // tf.softmax and tf.logSumExp subtract the row max themselves, like the float64 path below.
    if (kind === 'msp') return tf.max(tf.softmax(scaled), 1) as tf.Tensor1D;
    return tf.mul(tf.logSumExp(scaled, 1), temperature) as tf.Tensor1D;
  });
}

/** One score per row of the [rows × classes] logits. */
export function logitScores(logits: ArrayLike<number>, rows: number, classes: number, kind: LogitScoreName, temperature = 1): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const offset = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[offset + c]!);
    if (kind === 'max-logit') {
      out[r] = max;
      continue;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp((logits[offset + c]! - max) / temperature);
    // softmax max = exp(0)/sum; logsumexp(l/T) = max/T + log(sum)
    out[r] = kind === 'msp' ? 1 / sum : max + temperature * Math.log(sum);
  }
  return out;
}
