/**
 * The paper's smoothness penalty λ·(mean((∂yδ)²) + mean((∂xδ)²)).
 *
 * ∂ is torchmetrics' image_gradients: a forward difference, zero in the last row (∂y) / column (∂x). In the
 * official notebook (HHU-MMBS/plp-official-tmlr2024, notebooks/clip-ood-adversarial-examples.ipynb,
 * `compute_adv`) the means run over the whole [B,C,H,W] tensor and the cosine is averaged over the batch, so
 * per item the penalty is the mean over that item's H·W·C entries (zero row/column included), and the shared
 * 1/B factor is applied by the attack to the summed loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConstraintEntry, Penalty } from './constraint.js';

export function smoothnessPenalty(lambda: number): Penalty {
  return {
    name: 'smoothness',
    perItem(delta: tf.Tensor4D): tf.Tensor1D {
      return tf.tidy(() => {
        const [, h, w, c] = delta.shape;
        const dy = tf.sub(tf.slice(delta, [0, 1, 0, 0], [-1, h - 1, -1, -1]), tf.slice(delta, [0, 0, 0, 0], [-1, h - 1, -1, -1]));
        const dx = tf.sub(tf.slice(delta, [0, 0, 1, 0], [-1, -1, w - 1, -1]), tf.slice(delta, [0, 0, 0, 0], [-1, -1, w - 1, -1]));
        // Sum of squares divided by H·W·C: the mean over the zero-padded gradient images.
        const sumSquares = tf.add(tf.sum(tf.square(dy), [1, 2, 3]), tf.sum(tf.square(dx), [1, 2, 3]));
        return tf.mul(sumSquares, lambda / (h * w * c)) as tf.Tensor1D;
      });
    },
  };
}

export const smoothnessEntry = {
  field: 'smoothness',
  role: 'penalty',
  description: 'λ · total variation of δ added to the loss (the paper\'s smooth setting); λ = 0 is no penalty',
  keys: ['lambda'],
  read: (v, check, path) => ({ lambda: check.number(v.lambda, `${path}.lambda`, { min: 0 }) }),
  example: { lambda: 10 },
  build: (c) => (c.lambda > 0 ? smoothnessPenalty(c.lambda) : null),
} satisfies ConstraintEntry<'smoothness', { lambda: number }>;
