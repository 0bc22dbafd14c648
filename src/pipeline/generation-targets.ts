/**
 * The targets step of generation: the ID features the target strategy reads, and the prepared strategy that
 * then picks one target per OOD item. Only the ID images the strategy uses are encoded: every usable one for
 * the prototype strategies (through the feature cache), the drawn rows for 'sample' (the paper's: one random ID
 * image per OOD item, so a run of 16 items encodes at most 16 ID images), none for 'text'.
 *
 * The nearest-ID-class columns of a release row (nearest_class_before/after) need every class prototype, so they
 * are filled exactly when the strategy reads every ID image anyway; with 'sample' and 'text' they are -1. The
 * rule depends on the strategy alone, never on what the feature cache happens to hold, so a run's bytes do not
 * depend on earlier runs.
 */
import type { ResolvedAttackPreset } from '../../attacks/attack-params.js';
import { targetStrategy } from '../../attacks/registry.js';
import { classPrototypes, type ClassPrototypes } from '../../attacks/targets/class-prototypes.js';
import { MAX_ID_DRAWS, type DrawnIdFeatures, type PreparedTargets, type TargetContextBase, type TargetStrategy } from '../../attacks/targets/target-strategy.js';
import { UserError } from '../core/errors.js';
import type { OnError } from '../data/batches.js';
import { featureRow } from '../data/feature-set.js';
import { computeFeatures, computeFeaturesOfRows, type ComputeFeaturesOptions } from '../data/features.js';
import { firstItems } from '../data/first-items.js';
import type { ImageSource, Preprocess } from '../data/image-source.js';
import type { Encoder } from '../models/encoder.js';
import { openImageSource } from '../sources/open-source.js';

export interface GenerationTargets {
  /** The ID source as given, and its first --id-n items (the rows target_index counts). */
  fullIdSource: ImageSource;
  idSource: ImageSource;
  /** Class prototypes over every usable ID image, for the nearest-class columns; null unless the strategy reads them. */
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
  /** Release row ids of the OOD items this run attacks: a drawing strategy draws its ID rows for them. */
  itemKeys: readonly string[];
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
  if (idSource.items.length === 0) throw new UserError(`${options.id}: the ID source has no images`);
  const strategy: TargetStrategy = targetStrategy(params.target.strategy);
  const base: TargetContextBase = { seed, encoder, classNames: idSource.classNames, requestedClass: params.target.class };
  const featureOptions: Omit<ComputeFeaturesOptions, 'cache'> = {
    preprocess: options.preprocess,
    batchSize: params.batch,
    kind: params.features,
    onError: options.onError,
    progress: { onCacheRejected: options.onCacheRejected },
  };
  switch (strategy.reads) {
    case 'all-id-features': {
      const computed = await computeFeatures(encoder, idSource, featureOptions);
      for (const failure of computed.failures) options.onSkipped(failure.item.origin, failure.reason);
      const idFeatures = computed.set;
      if (idFeatures.ids.length === 0) throw new UserError(`${options.id}: no ID image could be used`);
      const prototypes = idFeatures.classNames.length > 0 ? classPrototypes(idFeatures) : null;
      return { fullIdSource, idSource, prototypes, targets: strategy.prepare({ ...base, idFeatures }) };
    }
    case 'drawn-id-features': {
      const drawn = await drawnIdFeatures(strategy.drawRow.bind(strategy), options, idSource, featureOptions);
      return { fullIdSource, idSource, prototypes: null, targets: strategy.prepare({ ...base, drawn }) };
    }
    case 'class-names':
      return { fullIdSource, idSource, prototypes: null, targets: strategy.prepare(base) };
  }
}

/**
 * Encodes the ID rows drawn for the run's items. A drawn image that cannot be used is skipped and named
 * (onSkipped), and its items draw again (attempt 1, 2, … of the same (seed, item key) stream, so the pairing stays
 * independent of batching, shards and resumes, and 'sample' follows the same chain when it chooses).
 */
async function drawnIdFeatures(
  drawRow: (seed: number, key: string, rows: number, attempt: number) => number,
  options: GenerationTargetOptions,
  idSource: ImageSource,
  featureOptions: Omit<ComputeFeaturesOptions, 'cache'>,
): Promise<DrawnIdFeatures> {
  const rows = idSource.items.length;
  const rowOfId = new Map(idSource.items.map((item, row) => [item.id, row]));
  const features = new Map<number, { id: string; label: number; vector: Float32Array }>();
  const unusable = new Set<number>();
  let pending = [...options.itemKeys];
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === MAX_ID_DRAWS) {
      throw new UserError(`${options.id}: ${MAX_ID_DRAWS} drawn ID images in a row could not be used for ${pending[0]}; check the ID source`);
    }
    const drawn = new Map(pending.map((key) => [key, drawRow(options.seed, key, rows, attempt)]));
    const toEncode = [...new Set(drawn.values())].filter((row) => !features.has(row) && !unusable.has(row)).sort((a, b) => a - b);
    if (toEncode.length > 0) {
      const computed = await computeFeaturesOfRows(options.encoder, idSource, toEncode, { ...featureOptions, onError: 'skip' });
      for (const failure of computed.failures) options.onSkipped(failure.item.origin, failure.reason);
      const set = computed.set;
      set.ids.forEach((id, i) => features.set(rowOfId.get(id)!, { id, label: set.labels[i]!, vector: featureRow(set, i) }));
      for (const row of toEncode) if (!features.has(row)) unusable.add(row);
    }
    pending = pending.filter((key) => !features.has(drawn.get(key)!));
  }
  return { rows, features };
}
