/**
 * The features an evaluation fits and scores detectors on: every representation the target has (pre-projection,
 * and projected when it has a text tower), through the feature cache, plus the class text embeddings.
 * `advood evaluate` and the detector objective of `advood generate` both build their fit inputs here, so a
 * detector attacked by generate is fitted on exactly the features evaluate fits it on.
 */
import { UserError } from '../core/errors.js';
import type { FeatureSet } from '../data/feature-set.js';
import { type FeatureProgress, computeFeatures } from '../data/features.js';
import type { ImageSource, Preprocess } from '../data/image-source.js';
import type { DetectorNeeds } from '../detectors/detector-entry.js';
import type { FeatureViews } from '../detectors/evaluate-detectors.js';
import { LOCAL_FEATURE_KIND, type Encoder, type FeatureKind } from '../models/encoder.js';
import { promptEnsembleEmbeddings } from '../models/prompt-ensemble.js';

/** True when the target embeds text (zero-shot detectors: MCM, PLP). */
export function hasTextTower(encoder: Encoder): boolean {
  return typeof encoder.encodeText === 'function' && encoder.featureKinds.includes('projected');
}

/** What the target (and whether the ID train set is labelled) provides, in the detector registry's terms. */
export function availableNeeds(encoder: Encoder, labelled: boolean): DetectorNeeds {
  const text = hasTextTower(encoder);
  return { labels: labelled, text, projected: text, patches: text && encoder.featureKinds.includes(LOCAL_FEATURE_KIND) };
}

/**
 * The representations detectors read for this target: its embeddings, and the per-patch kind only when a
 * detector that will run needs it (`withPatches`): its rows are 1 + patches times as long (50× for ViT-B/32),
 * too much to compute and cache for every evaluation.
 */
export function evaluatedFeatureKinds(encoder: Encoder, withPatches = false): FeatureKind[] {
  if (!hasTextTower(encoder)) return ['pre-projection'];
  const embeddings: FeatureKind[] = ['pre-projection', 'projected'];
  return withPatches && encoder.featureKinds.includes(LOCAL_FEATURE_KIND) ? [...embeddings, LOCAL_FEATURE_KIND] : embeddings;
}

export interface FeatureViewOptions {
  preprocess: Preprocess;
  batchSize: number;
  /** The representations to compute; default evaluatedFeatureKinds(encoder). */
  kinds?: readonly FeatureKind[];
  /** Progress callbacks per representation. */
  progress?: (kind: FeatureKind) => FeatureProgress;
}

/** The source's features in every evaluated representation; a source none of whose images decode is an error. */
export async function featureViewsOf(encoder: Encoder, setName: string, source: ImageSource, options: FeatureViewOptions): Promise<FeatureViews> {
  const views: FeatureViews = {};
  for (const kind of options.kinds ?? evaluatedFeatureKinds(encoder)) {
    const result = await computeFeatures(encoder, source, { preprocess: options.preprocess, batchSize: options.batchSize, kind, progress: options.progress?.(kind) });
    if (result.set.ids.length === 0) throw new UserError(`${setName}: none of its ${source.items.length} images could be used`);
    views[kind] = result.set;
  }
  return views;
}

/** Prompt-ensembled class text embeddings as a FeatureSet (one row per class). */
export function textFeatureSet(encoder: Encoder, classNames: readonly string[]): FeatureSet {
  if (classNames.length === 0) throw new UserError('zero-shot detectors need class names for the ID train set (a labelled source)');
  const embeddings = promptEnsembleEmbeddings(encoder, classNames);
  try {
    return {
      ids: [...classNames],
      labels: Int32Array.from(classNames, (_, i) => i),
      classNames,
      dim: embeddings.shape[1],
      vectors: embeddings.dataSync() as Float32Array,
    };
  } finally {
    embeddings.dispose();
  }
}
