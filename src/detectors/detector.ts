/**
 * OOD detector contract. Convention, everywhere in advood: **a higher score means more in-distribution.**
 */
import type * as tf from '@tensorflow/tfjs';
import type { FeatureKind } from '../models/encoder.js';
import type { FeatureSet } from '../data/feature-set.js';

export interface DetectorFitInput {
  /** ID training features (the bank / fit set), in the detector's feature kind. */
  train: FeatureSet;
  /** Projected text embeddings of the class prompts [classes × D], for zero-shot detectors. */
  textEmbeddings?: FeatureSet;
  /** Projected image features of the train set, for detectors that pseudo-label with text (PLP). */
  trainProjected?: FeatureSet;
  /**
   * Embeds prompts of the detector's own choosing (NegLabel's lexicon and its ID prompt), where the target has a
   * text tower; the class prompts above are a fixed ensemble of the class names (src/models/prompt-ensemble.ts).
   */
  embedText?: TextEmbedder;
}

/** Projected text embeddings of arbitrary prompts (src/pipeline/text-embedder.ts makes one per target). */
export interface TextEmbedder {
  /** What the embeddings depend on (encoder id and weights), for cache keys and fit fingerprints. */
  readonly id: string;
  /**
   * One row per prompt, in order (ids = the prompts; labels −1), not normalised. Long lists take a while on a
   * real text tower: the embedder reports its own progress and caches the result.
   */
  embed(prompts: readonly string[]): Promise<FeatureSet>;
}

export interface Detector {
  /** Unique name, as in reports ('knn-1', 'mahalanobis', 'plp-energy', ...). */
  readonly name: string;
  /** Which feature kind score() expects. */
  readonly featureKind: FeatureKind;
  /**
   * The train view fit() reads, where it is not featureKind: GL-MCM scores per-patch features but fits on text
   * alone, so it reads the projected view and the train set's per-patch features (for ImageNet's 1.28 M train
   * images, 257 × 768 values each) are never computed.
   */
  readonly fitFeatureKind?: FeatureKind;
  fit(input: DetectorFitInput): Promise<void> | void;
  /** One score per row; higher = more ID. */
  score(features: FeatureSet): Float64Array;
  /** Facts about the fit that a report should state (bank size, covariance shrinkage, ...). Optional. */
  fitNotes?(): string[];
}

/**
 * A detector whose score is a tfjs function of the features, so an attack can climb it (the adaptive attack of
 * `advood generate --objective detector:NAME`). scoreTensor(f) equals score() of the same rows within float32
 * tolerance (test/detectors/score-tensor.test.ts) and is differentiable almost everywhere (a max or a top-k is
 * differentiable except where the winner changes).
 */
export interface DifferentiableDetector extends Detector {
  /** Scores [B] of features [B,D] (after fit); higher = more ID. The caller disposes the result. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D;
}

export function isDifferentiable(detector: Detector): detector is DifferentiableDetector {
  return typeof (detector as Partial<DifferentiableDetector>).scoreTensor === 'function';
}
