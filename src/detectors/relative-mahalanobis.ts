/**
 * Relative Mahalanobis (Ren et al. 2021, as in the authors' code): score(x) = −min_c [MD_c(x) − MD_0(x)], where
 * MD_c uses the class means and the shared covariance and MD_0 the global mean and global covariance of the
 * ID train set. Float64 throughout; needs class labels.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureKind } from '../models/encoder.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { assertSameDim, assertUsableFeatures } from './shared/feature-validation.js';
import { FitCache } from './shared/fit-cache.js';
import { type ClassGaussians, type GlobalGaussian, fitGlobalGaussian, mahalanobisDistances } from './shared/gaussian-fit.js';
import { classDistancesTensor, globalDistanceTensor } from './shared/gaussian-tensors.js';
import { assertTensorDim } from './shared/tensor-rows.js';
import { type MahalanobisOptions, classGaussiansCached, mahalanobisVariantEntry } from './mahalanobis.js';

export class RelativeMahalanobisDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  private readonly options: MahalanobisOptions;
  private readonly cache: FitCache;
  private fitted: { classes: ClassGaussians; global: GlobalGaussian } | null = null;

  constructor(options: MahalanobisOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'relative-mahalanobis';
    this.featureKind = options.featureKind ?? 'pre-projection';
    this.cache = options.cache ?? new FitCache();
  }

  /** Shrinkage α used for the shared and the global covariance (0 = none). */
  get shrinkage(): { shared: number; global: number } {
    return { shared: this.fitted?.classes.shared.shrinkage ?? 0, global: this.fitted?.global.gaussian.shrinkage ?? 0 };
  }

  fitNotes(): string[] {
    const { shared, global } = this.shrinkage;
    return shared > 0 || global > 0 ? [`singular covariance: shrinkage α = ${shared} (shared Σ), ${global} (global Σ)`] : [];
  }

  async fit({ train }: DetectorFitInput): Promise<void> {
    const classes = await classGaussiansCached(this.cache, train, this.name, this.options.shrinkage);
    const global = await this.cache.get(train, `global-gaussian:${this.options.shrinkage ?? 'auto'}`, () =>
      fitGlobalGaussian(train, this.name, this.options.shrinkage),
    );
    this.fitted = { classes, global };
  }

  score(features: FeatureSet): Float64Array {
    if (!this.fitted) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(this.fitted.classes.dim, features, this.name, 'the query set');
    const classes = this.fitted.classes.classes.length;
    const { perClass, toGlobal } = mahalanobisDistances(this.fitted.classes, this.fitted.global, features);
    const out = new Float64Array(features.ids.length);
    for (let q = 0; q < out.length; q++) {
      let min = Infinity;
      for (let c = 0; c < classes; c++) min = Math.min(min, perClass[q * classes + c]! - toGlobal![q]!);
      out[q] = -min;
    }
    return out;
  }

  /** −min_c [MD_c − MD_0] = MD_0 − min_c MD_c. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    if (!this.fitted) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, this.fitted.classes.dim, this.name);
    const { classes, global } = this.fitted;
    return tf.tidy(() => tf.sub(globalDistanceTensor(features, global), tf.min(classDistancesTensor(features, classes), 1)) as tf.Tensor1D);
  }
}

export const relativeMahalanobisEntry = mahalanobisVariantEntry(
  'relative-mahalanobis',
  'relative Mahalanobis: −min_c [MD_c − MD_0], MD_0 under the global Gaussian (float64)',
  (options) => new RelativeMahalanobisDetector(options),
);
