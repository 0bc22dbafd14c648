/** The paper's parametrisation: the optimised variable is δ itself, at full resolution. */
import type * as tf from '@tensorflow/tfjs';
import type { Parametrisation } from './constraint.js';

export function identityParametrisation(height: number, width: number): Parametrisation {
  return {
    name: 'identity',
    isIdentity: true,
    variableSize: [height, width],
    toDelta: (variable: tf.Tensor4D) => variable,
    dispose() {},
  };
}
