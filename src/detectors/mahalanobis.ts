/**
 * Mahalanobis detector (Lee et al. 2018, as in the authors' code): class means, one shared covariance
 * (mean of the per-class covariances), score(x) = −min_c (x − μ_c)ᵀ Σ⁻¹ (x − μ_c), in float64.
 * Needs class labels; see gaussian-fit.ts for the singular-covariance fallback.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureKind } from '../models/encoder.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { Detector, DetectorFitInput, DifferentiableDetector } from './detector.js';
import { assertLabelled, assertSameDim, assertUsableFeatures } from './shared/feature-validation.js';
import { type DetectorEntry, type DetectorOptionDoc, FEATURE_KIND_OPTION, defineDetector } from './detector-entry.js';
import { FitCache } from './shared/fit-cache.js';
import { type ClassGaussians, fitClassGaussians, mahalanobisDistances } from './shared/gaussian-fit.js';
import { classDistancesTensor } from './shared/gaussian-tensors.js';
import { assertTensorDim } from './shared/tensor-rows.js';

export interface MahalanobisOptions {
  featureKind?: FeatureKind;
  /** Force this shrinkage α toward (tr Σ / D)·I; default: none unless Σ is singular (then 0.01). */
  shrinkage?: number;
  name?: string;
  /** Shares the class Gaussians with relative Mahalanobis built from the same registry call. */
  cache?: FitCache;
}

export function classGaussiansCached(cache: FitCache, train: FeatureSet, detector: string, shrinkage?: number): Promise<ClassGaussians> {
  return cache.get(train, `class-gaussians:${shrinkage ?? 'auto'}`, () => {
    assertUsableFeatures(train, `${detector}: ID train set`);
    assertLabelled(train, detector);
    return fitClassGaussians(train, detector, shrinkage);
  });
}

export class MahalanobisDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  private readonly options: MahalanobisOptions;
  private readonly cache: FitCache;
  private fitted: ClassGaussians | null = null;

  constructor(options: MahalanobisOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'mahalanobis';
    this.featureKind = options.featureKind ?? 'pre-projection';
    this.cache = options.cache ?? new FitCache();
  }

  /** Shrinkage α used for the shared covariance (0 = none). */
  get shrinkage(): number {
    return this.fitted?.shared.shrinkage ?? 0;
  }

  fitNotes(): string[] {
    return this.shrinkage > 0 ? [`singular covariance: shrinkage α = ${this.shrinkage} toward (tr Σ / D)·I`] : [];
  }

  async fit({ train }: DetectorFitInput): Promise<void> {
    this.fitted = await classGaussiansCached(this.cache, train, this.name, this.options.shrinkage);
  }

  score(features: FeatureSet): Float64Array {
    if (!this.fitted) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(this.fitted.dim, features, this.name, 'the query set');
    const classes = this.fitted.classes.length;
    const { perClass } = mahalanobisDistances(this.fitted, null, features);
    const out = new Float64Array(features.ids.length);
    for (let q = 0; q < out.length; q++) {
      let min = Infinity;
      for (let c = 0; c < classes; c++) min = Math.min(min, perClass[q * classes + c]!);
      out[q] = -min;
    }
    return out;
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    if (!this.fitted) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, this.fitted.dim, this.name);
    const fitted = this.fitted;
    return tf.tidy(() => tf.neg(tf.min(classDistancesTensor(features, fitted), 1)) as tf.Tensor1D);
  }
}

/** Options of both Mahalanobis variants (relative-mahalanobis.ts uses them too). */
export const MAHALANOBIS_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'shrinkage', type: 'number', default: null, description: 'force α of Σ → (1−α)Σ + α(trΣ/D)I; by default 0.01 only if Σ is singular' },
  FEATURE_KIND_OPTION,
];

/** The registry entry of a Mahalanobis variant: labels needed, the shared options, class Gaussians shared in one call. */
export function mahalanobisVariantEntry(name: string, description: string, construct: (options: MahalanobisOptions) => Detector): DetectorEntry {
  return defineDetector({ name, description, needs: { labels: true, text: false, projected: false }, options: MAHALANOBIS_OPTIONS, differentiable: true }, (read, shared) =>
    construct({ shrinkage: read.number('shrinkage', false), featureKind: read.featureKind, name: read.name, cache: shared }),
  );
}

export const mahalanobisEntry = mahalanobisVariantEntry(
  'mahalanobis',
  'Mahalanobis: −min_c distance to class means under the shared covariance (float64)',
  (options) => new MahalanobisDetector(options),
);
