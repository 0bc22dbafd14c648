/**
 * DCT low-pass parametrisation: δ is synthesised from its k×k lowest orthonormal DCT-II coefficients per
 * channel, δ_c = D_kᵀ · C_c · D_k with D_k the first k rows of the DCT matrix. All other coefficients are
 * structurally zero, so δ has no energy outside the band. Because the basis is orthonormal, ‖δ‖₂ = ‖C‖₂.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/core/errors.js';
import type { ConstraintEntry, Parametrisation } from './constraint.js';
import { applySeparable, dctMatrix } from './separable-basis.js';

/** The first k rows of the orthonormal DCT-II matrix of the given size, [k×size]. */
export function lowDctRows(size: number, k: number): tf.Tensor2D {
  return tf.tensor2d(dctMatrix(size).subarray(0, k * size), [k, size]);
}

export function dctLowPassParametrisation(height: number, width: number, k: number): Parametrisation {
  if (!Number.isInteger(k) || k < 1) throw new UserError(`dctLowPass.k must be an integer ≥ 1, got ${k}`);
  if (k > Math.min(height, width)) throw new UserError(`dctLowPass.k ${k} exceeds the input size ${height}×${width}`);
  const left = lowDctRows(height, k);
  const right = lowDctRows(width, k);
  return {
    name: 'dct-low-pass',
    isIdentity: false,
    variableSize: [k, k],
    toDelta: (coefficients: tf.Tensor4D) => applySeparable(coefficients, left, right),
    dispose() {
      left.dispose();
      right.dispose();
    },
  };
}

export const dctLowPassEntry = {
  field: 'dctLowPass',
  role: 'parametrisation',
  description: 'δ synthesised from its k×k lowest DCT-II coefficients per channel (no energy above the band)',
  keys: ['k'],
  read: (v, check, path) => ({ k: check.number(v.k, `${path}.k`, { min: 1, integer: true }) }),
  example: { k: 8 },
  build: (c, height, width) => dctLowPassParametrisation(height, width, c.k),
} satisfies ConstraintEntry<'dctLowPass', { k: number }>;
