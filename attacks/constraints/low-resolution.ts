/**
 * Low-resolution parametrisation: δ lives on an (H/s)×(W/s) grid and is upsampled bilinearly (half-pixel
 * centres) to H×W. The grid is the optimised variable, so δ is exactly an upsampled grid at every step.
 * Upsampling is a fixed matrix product (U·grid·Uᵀ) rather than resizeBilinear so that the same code path is
 * differentiable on every backend and the map is visibly linear (the budget projection relies on that).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/core/errors.js';
import type { ConstraintEntry, Parametrisation } from './constraint.js';
import { applySeparable, bilinearUpsampleMatrix, transposedTensor } from './separable-basis.js';

export function lowResolutionParametrisation(height: number, width: number, scale: number): Parametrisation {
  if (!Number.isInteger(scale) || scale < 1) throw new UserError(`lowResolution.scale must be an integer ≥ 1, got ${scale}`);
  if (height % scale !== 0 || width % scale !== 0) {
    throw new UserError(`lowResolution.scale ${scale} does not divide the input size ${height}×${width}`);
  }
  const h = height / scale;
  const w = width / scale;
  // applySeparable computes Lᵀ·v·R; with U [H×h], L = Uᵀ [h×H] and R = Uᵀ [w×W] give U·v·Uᵀ.
  const left = transposedTensor(bilinearUpsampleMatrix(height, h), height, h);
  const right = transposedTensor(bilinearUpsampleMatrix(width, w), width, w);
  return {
    name: 'low-resolution',
    isIdentity: false,
    variableSize: [h, w],
    toDelta: (grid: tf.Tensor4D) => applySeparable(grid, left, right),
    dispose() {
      left.dispose();
      right.dispose();
    },
  };
}

export const lowResolutionEntry = {
  field: 'lowResolution',
  role: 'parametrisation',
  description: 'δ optimised on a grid `scale` times coarser, bilinearly upsampled',
  keys: ['scale'],
  read: (v, check, path) => ({ scale: check.number(v.scale, `${path}.scale`, { min: 1, integer: true }) }),
  example: { scale: 4 },
  build: (c, height, width) => lowResolutionParametrisation(height, width, c.scale),
} satisfies ConstraintEntry<'lowResolution', { scale: number }>;
