/** Signed-gradient descent (the PGD update of Madry et al. 2018): θ ← θ − α·sign(g). No state. */
import * as tf from '@tensorflow/tfjs';
import type { Optimiser, OptimiserEntry } from './optimiser.js';

export function signedGradientOptimiser(stepSize: number): Optimiser {
  return {
    name: 'signed-gradient',
    init() {
      return { tensors: [], step: 0 };
    },
    update(variable, gradient, state) {
      const next = tf.tidy(() => tf.sub(variable, tf.mul(tf.sign(gradient), stepSize))) as tf.Tensor4D;
      return { variable: next, state: { tensors: [], step: state.step + 1 } };
    },
  };
}

export const signedGradientEntry: OptimiserEntry = {
  name: 'signed-gradient',
  description: 'signed-gradient descent (the PGD step); lr is the step size α',
  build: signedGradientOptimiser,
};
