/**
 * OOD detector contract. Convention, everywhere in advood: **a higher score means more in-distribution.**
 */
import type { FeatureKind } from '../models/encoder.js';
import type { FeatureSet } from '../data/feature-set.js';

export interface DetectorFitInput {
  /** ID training features (the bank / fit set), in the detector's feature kind. */
  train: FeatureSet;
  /** Projected text embeddings of the class prompts [classes × D], for zero-shot detectors. */
  textEmbeddings?: FeatureSet;
  /** Projected image features of the train set, for detectors that pseudo-label with text (PLP). */
  trainProjected?: FeatureSet;
}

export interface Detector {
  /** Unique name, as in reports ('knn-1', 'mahalanobis', 'plp-energy', ...). */
  readonly name: string;
  /** Which feature kind score() expects. */
  readonly featureKind: FeatureKind;
  fit(input: DetectorFitInput): Promise<void> | void;
  /** One score per row; higher = more ID. */
  score(features: FeatureSet): Float64Array;
  /** Facts about the fit that a report should state (bank size, covariance shrinkage, ...). Optional. */
  fitNotes?(): string[];
}
