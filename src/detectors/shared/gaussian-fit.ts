/**
 * The Gaussian statistics behind (relative) Mahalanobis, in float64 as the authors' code does
 * (`compute_maha_vals` in HHU-MMBS/plp-official-tmlr2024):
 * - class means μ_c and the shared covariance Σ = unweighted mean over classes of each class's sample
 *   covariance (divisor n_c − 1, like torch.cov); classes with fewer than 2 rows are skipped, as there;
 * - the global mean μ_0 and global sample covariance Σ_0 (for relative Mahalanobis).
 *
 * Distances use the Cholesky factor Σ = L Lᵀ: MD(x) = ‖L⁻¹(x − μ)‖², so each query costs one triangular solve
 * (D²/2) plus C·D, instead of C·D² for the quadratic form per class.
 *
 * Singular covariance (fewer rows than dimensions, constant features): when a Cholesky pivot falls below
 * 1e-10 × the largest variance, we shrink toward a scaled identity, Σ' = (1 − α)Σ + α·(tr Σ / D)·I with the
 * fixed α = 0.01 (SINGULAR_SHRINKAGE), and record α so the report can say so. A caller can force any α.
 */
import type { FeatureSet } from '../../data/feature-set.js';
import { UserError } from '../../core/errors.js';
import { blockedScatter } from './blocked-scatter.js';

export const SINGULAR_SHRINKAGE = 0.01;
const PIVOT_TOLERANCE = 1e-10;

/** A Gaussian's mean and the Cholesky factor of its covariance. */
export interface CholeskyGaussian {
  dim: number;
  /** Lower-triangular L, row-major [D × D], with Σ' = L Lᵀ. */
  cholesky: Float64Array;
  /** Shrinkage α actually applied (0 when Σ was positive definite as estimated). */
  shrinkage: number;
}

export interface ClassGaussians {
  dim: number;
  /** Classes that had ≥ 2 rows, in ascending order. */
  classes: number[];
  /** L⁻¹ μ_c per kept class, [classes × D]. */
  whitenedMeans: Float64Array;
  shared: CholeskyGaussian;
}

export interface GlobalGaussian {
  mean: Float64Array;
  gaussian: CholeskyGaussian;
}

function meanOf(set: FeatureSet, rows: ArrayLike<number>): Float64Array {
  const mean = new Float64Array(set.dim);
  for (let i = 0; i < rows.length; i++) {
    const offset = rows[i]! * set.dim;
    for (let d = 0; d < set.dim; d++) mean[d]! += set.vectors[offset + d]!;
  }
  for (let d = 0; d < set.dim; d++) mean[d]! /= rows.length;
  return mean;
}

/** Cholesky factor of a symmetric matrix, or null when a pivot is not clearly positive. */
function tryCholesky(matrix: Float64Array, dim: number): Float64Array | null {
  let maxDiagonal = 0;
  for (let i = 0; i < dim; i++) maxDiagonal = Math.max(maxDiagonal, matrix[i * dim + i]!);
  if (!(maxDiagonal > 0)) return null;
  const L = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    let pivot = matrix[j * dim + j]!;
    const rowJ = j * dim;
    for (let k = 0; k < j; k++) pivot -= L[rowJ + k]! * L[rowJ + k]!;
    if (!(pivot > PIVOT_TOLERANCE * maxDiagonal)) return null;
    const diagonal = Math.sqrt(pivot);
    L[rowJ + j] = diagonal;
    for (let i = j + 1; i < dim; i++) {
      const rowI = i * dim;
      let sum = matrix[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= L[rowI + k]! * L[rowJ + k]!;
      L[rowI + j] = sum / diagonal;
    }
  }
  return L;
}

/** Cholesky of Σ, shrinking toward (tr Σ / D)·I when Σ is singular (see the module comment). */
export function choleskyWithShrinkage(covariance: Float64Array, dim: number, what: string, forcedShrinkage?: number): CholeskyGaussian {
  const shrink = (alpha: number): Float64Array => {
    let trace = 0;
    for (let i = 0; i < dim; i++) trace += covariance[i * dim + i]!;
    const out = new Float64Array(covariance.length);
    for (let i = 0; i < out.length; i++) out[i] = (1 - alpha) * covariance[i]!;
    for (let i = 0; i < dim; i++) out[i * dim + i]! += (alpha * trace) / dim;
    return out;
  };
  if (forcedShrinkage !== undefined && forcedShrinkage > 0) {
    const L = tryCholesky(shrink(forcedShrinkage), dim);
    if (!L) throw new UserError(`${what}: covariance is not positive definite even with shrinkage ${forcedShrinkage} (all features constant?)`);
    return { dim, cholesky: L, shrinkage: forcedShrinkage };
  }
  const plain = tryCholesky(covariance, dim);
  if (plain) return { dim, cholesky: plain, shrinkage: 0 };
  const L = tryCholesky(shrink(SINGULAR_SHRINKAGE), dim);
  if (!L) throw new UserError(`${what}: covariance is zero (all ID train features are identical); Mahalanobis is undefined`);
  return { dim, cholesky: L, shrinkage: SINGULAR_SHRINKAGE };
}

/** Solves L z = x for lower-triangular L (forward substitution), writing z. */
export function forwardSolve(L: Float64Array, dim: number, x: Float64Array, z: Float64Array): void {
  for (let i = 0; i < dim; i++) {
    let sum = x[i]!;
    const row = i * dim;
    for (let k = 0; k < i; k++) sum -= L[row + k]! * z[k]!;
    z[i] = sum / L[row + i]!;
  }
}

export function fitClassGaussians(train: FeatureSet, what: string, forcedShrinkage?: number): ClassGaussians {
  const dim = train.dim;
  const byClass = new Map<number, number[]>();
  for (let r = 0; r < train.labels.length; r++) {
    const label = train.labels[r]!;
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(r);
  }
  const classes = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= 2).sort((a, b) => a - b);
  if (classes.length < 2) {
    throw new UserError(
      `${what}: needs at least 2 ID classes with 2 or more rows each; the ID train set has ${byClass.size} class(es)` +
        (byClass.size >= 2 ? ' but too few rows per class' : ''),
    );
  }
  const means = classes.map((c) => meanOf(train, byClass.get(c)!));
  const rows = Int32Array.from(classes.flatMap((c) => byClass.get(c)!));
  const group = Int32Array.from(classes.flatMap((c, index) => byClass.get(c)!.map(() => index)));
  const flatMeans = new Float64Array(classes.length * dim);
  means.forEach((mean, index) => flatMeans.set(mean, index * dim));
  const weights = Float64Array.from(classes, (c) => 1 / (byClass.get(c)!.length - 1) / classes.length);
  const covariance = blockedScatter(train, { rows, group, means: flatMeans, weights });
  const shared = choleskyWithShrinkage(covariance, dim, what, forcedShrinkage);
  const whitenedMeans = new Float64Array(classes.length * dim);
  const z = new Float64Array(dim);
  means.forEach((mean, index) => {
    forwardSolve(shared.cholesky, dim, mean, z);
    whitenedMeans.set(z, index * dim);
  });
  return { dim, classes, whitenedMeans, shared };
}

export function fitGlobalGaussian(train: FeatureSet, what: string, forcedShrinkage?: number): GlobalGaussian {
  if (train.ids.length < 2) throw new UserError(`${what}: needs at least 2 ID train rows for a covariance`);
  const rows = Int32Array.from({ length: train.ids.length }, (_, i) => i);
  const mean = meanOf(train, rows);
  const covariance = blockedScatter(train, { rows, group: new Int32Array(rows.length), means: mean, weights: Float64Array.of(1 / (rows.length - 1)) });
  return { mean, gaussian: choleskyWithShrinkage(covariance, train.dim, what, forcedShrinkage) };
}

/**
 * Squared Mahalanobis distances of every query row: to each class mean (shared Σ) into `perClass`
 * [queries × classes], and, when `global` is given, to the global Gaussian into `toGlobal`.
 */
export function mahalanobisDistances(
  fit: ClassGaussians,
  global: GlobalGaussian | null,
  queries: FeatureSet,
): { perClass: Float64Array; toGlobal: Float64Array | null } {
  const { dim, classes, whitenedMeans, shared } = fit;
  const n = queries.ids.length;
  const perClass = new Float64Array(n * classes.length);
  const toGlobal = global ? new Float64Array(n) : null;
  const x = new Float64Array(dim);
  const z = new Float64Array(dim);
  for (let q = 0; q < n; q++) {
    for (let d = 0; d < dim; d++) x[d] = queries.vectors[q * dim + d]!;
    forwardSolve(shared.cholesky, dim, x, z);
    for (let c = 0; c < classes.length; c++) {
      let sum = 0;
      const offset = c * dim;
      for (let d = 0; d < dim; d++) {
        const diff = z[d]! - whitenedMeans[offset + d]!;
        sum += diff * diff;
      }
      perClass[q * classes.length + c] = sum;
    }
    if (global && toGlobal) {
      for (let d = 0; d < dim; d++) x[d] = queries.vectors[q * dim + d]! - global.mean[d]!;
      forwardSolve(global.gaussian.cholesky, dim, x, z);
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += z[d]! * z[d]!;
      toGlobal[q] = sum;
    }
  }
  return { perClass, toGlobal };
}
