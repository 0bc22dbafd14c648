/**
 * Adam with PyTorch's semantics (torch.optim.Adam, the optimiser of the paper's code): β1 0.9, β2 0.999,
 * eps 1e-8 added to √v̂ (not inside the root), bias correction on both moments, no weight decay:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
 */
import * as tf from '@tensorflow/tfjs';
import type { Optimiser, OptimiserEntry, OptimiserState } from './optimiser.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

export function adamOptimiser(lr: number): Optimiser {
  return {
    name: 'adam',
    init(variable) {
      return { tensors: [tf.zerosLike(variable), tf.zerosLike(variable)], step: 0 };
    },
    update(variable, gradient, state: OptimiserState) {
      const t = state.step + 1;
      const [m, v] = state.tensors as [tf.Tensor4D, tf.Tensor4D];
      const m2 = tf.tidy(() => tf.add(tf.mul(m, BETA1), tf.mul(gradient, 1 - BETA1))) as tf.Tensor4D;
      const v2 = tf.tidy(() => tf.add(tf.mul(v, BETA2), tf.mul(tf.square(gradient), 1 - BETA2))) as tf.Tensor4D;
      const next = tf.tidy(() => {
        const stepSize = lr / (1 - BETA1 ** t);
        const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - BETA2 ** t)), EPS);
        return tf.sub(variable, tf.mul(tf.div(m2, denom), stepSize));
      }) as tf.Tensor4D;
      return { variable: next, state: { tensors: [m2, v2], step: t } };
    },
  };
}

export const adamEntry: OptimiserEntry = {
  name: 'adam',
  description: "Adam with torch.optim.Adam's semantics (the paper's optimiser); lr is its learning rate",
  build: adamOptimiser,
};
