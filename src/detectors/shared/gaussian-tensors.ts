/**
 * The (relative) Mahalanobis distances of gaussian-fit.ts as tfjs functions of a feature batch, for the
 * detectors' scoreTensor. gaussian-fit.ts solves L z = x per query in float64; a tensor graph has no triangular
 * solve, so here z = x · (L⁻¹)ᵀ with L⁻¹ computed once per fit (D³/6 multiply-adds in float64, about half a
 * second at D = 1280) and cast to float32. Distances are sums of squared differences in the whitened space
 * (not ‖z‖² − 2 z·m + ‖m‖², whose cancellation would cost float32 digits).
 */
import * as tf from '@tensorflow/tfjs';
import type { CholeskyGaussian, ClassGaussians, GlobalGaussian } from './gaussian-fit.js';

/** (L⁻¹)ᵀ as row-major float32 [D × D], cached per fitted Gaussian (the fit cache shares fits between detectors). */
const whitenings = new WeakMap<CholeskyGaussian, Float32Array>();

function whiteningTransposed(gaussian: CholeskyGaussian): Float32Array {
  const cached = whitenings.get(gaussian);
  if (cached) return cached;
  const { dim, cholesky: L } = gaussian;
  // Column j of L⁻¹ by forward substitution on e_j; L⁻¹ is lower-triangular, so rows i < j stay 0.
  const inverse = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    for (let i = j; i < dim; i++) {
      let sum = i === j ? 1 : 0;
      const row = i * dim;
      for (let k = j; k < i; k++) sum -= L[row + k]! * inverse[k * dim + j]!;
      inverse[row + j] = sum / L[row + i]!;
    }
  }
  const out = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j <= i; j++) out[j * dim + i] = inverse[i * dim + j]!;
  whitenings.set(gaussian, out);
  return out;
}

function whiten(features: tf.Tensor2D, gaussian: CholeskyGaussian): tf.Tensor2D {
  return tf.matMul(features, tf.tensor2d(whiteningTransposed(gaussian), [gaussian.dim, gaussian.dim]));
}

/** Squared distances [B × classes] to every class mean under the shared covariance. */
export function classDistancesTensor(features: tf.Tensor2D, fit: ClassGaussians): tf.Tensor2D {
  return tf.tidy(() => {
    const z = whiten(features, fit.shared);
    const means = tf.tensor2d(Float32Array.from(fit.whitenedMeans), [fit.classes.length, fit.dim]);
    const diff = tf.sub(tf.expandDims(z, 1), tf.expandDims(means, 0));
    return tf.sum(tf.square(diff), 2) as tf.Tensor2D;
  });
}

/** Squared distance [B] to the global Gaussian (relative Mahalanobis's MD_0). */
export function globalDistanceTensor(features: tf.Tensor2D, global: GlobalGaussian): tf.Tensor1D {
  return tf.tidy(() => {
    const centred = tf.sub(features, tf.tensor1d(Float32Array.from(global.mean)));
    return tf.sum(tf.square(whiten(centred as tf.Tensor2D, global.gaussian)), 1) as tf.Tensor1D;
  });
}
