/**
 * The targets step of generation: ID training features (through the feature cache), class prototypes, and the
 * prepared target strategy that then picks one target per OOD item.
 */
import type { ResolvedAttackPreset } from '../../attacks/attack-params.js';
import { targetStrategy } from '../../attacks/registry.js';
import { classPrototypes, type ClassPrototypes } from '../../attacks/targets/class-prototypes.js';
import type { PreparedTargets } from '../../attacks/targets/target-strategy.js';
import { UserError } from '../core/errors.js';
import type { OnError } from '../data/batches.js';
import type { FeatureSet } from '../data/feature-set.js';
import { computeFeatures } from '../data/features.js';
import { firstItems } from '../data/first-items.js';
import type { ImageSource, Preprocess } from '../data/image-source.js';
import type { Encoder } from '../models/encoder.js';
import { openImageSource } from '../sources/open-source.js';

export interface GenerationTargets {
  /** The ID source as given, and its first --id-n items (the features' rows). */
  fullIdSource: ImageSource;
  idSource: ImageSource;
  idFeatures: FeatureSet;
  /** Class prototypes of a labelled ID source (for the nearest-class statistics); null without classes. */
  prototypes: ClassPrototypes | null;
  targets: PreparedTargets;
}

export interface GenerationTargetOptions {
  encoder: Encoder;
  preset: ResolvedAttackPreset;
  preprocess: Preprocess;
  id: string;
  idN?: number;
  seed: number;
  onError: OnError;
  onSkipped: (item: string, reason: string) => void;
  /** A cached feature file that failed its content check (it is recomputed). */
  onCacheRejected?: (file: string, reason: string) => void;
}

export async function prepareGenerationTargets(options: GenerationTargetOptions): Promise<GenerationTargets> {
  const { encoder, preset, seed } = options;
  const { params } = preset;
  const fullIdSource = await openImageSource(options.id);
  const idSource = firstItems(fullIdSource, options.idN, '--id-n', options.id);
  const computed = await computeFeatures(encoder, idSource, {
    preprocess: options.preprocess,
    batchSize: params.batch,
    kind: params.features,
    onError: options.onError,
    progress: { onCacheRejected: options.onCacheRejected },
  });
  for (const failure of computed.failures) options.onSkipped(failure.item.origin, failure.reason);
  const idFeatures = computed.set;
  if (idFeatures.ids.length === 0) throw new UserError(`${options.id}: no ID image could be used`);
  const prototypes = idFeatures.classNames.length > 0 ? classPrototypes(idFeatures) : null;
  const targets = targetStrategy(params.target.strategy).prepare({ seed, encoder, idFeatures, requestedClass: params.target.class });
  return { fullIdSource, idSource, idFeatures, prototypes, targets };
}
