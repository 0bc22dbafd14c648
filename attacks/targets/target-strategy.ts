/**
 * Target strategies choose, per OOD item, the ID feature its embedding should collide with, and say why.
 * A strategy is prepared once per run (prototypes, text embeddings) and then asked batch by batch.
 */
import type { FeatureSet } from '../../src/data/feature-set.js';
import type { Encoder } from '../../src/models/encoder.js';
import { UserError } from '../../src/core/errors.js';
import type { TargetStrategyName } from './target-strategy-names.js';

export interface TargetItem {
  /** Stable item key (release row id): per-item draws depend on it and the seed only. */
  key: string;
  /** Feature of the clean image in the attack's feature space. */
  cleanFeature: Float32Array;
}

export interface TargetChoice {
  vector: Float32Array;
  strategy: TargetStrategyName;
  /** ID class of the target, -1 when none. */
  targetClass: number;
  /** Row of the ID feature set used as target ('sample'), -1 otherwise. */
  targetIndex: number;
  reason: string;
}

export interface TargetContext {
  seed: number;
  encoder: Encoder;
  /** ID training features in the attack's feature space (from the feature cache). */
  idFeatures: FeatureSet;
  /** params.target.class: a class name or index, or null to draw one per item. */
  requestedClass: string | number | null;
}

export interface PreparedTargets {
  choose(items: readonly TargetItem[]): TargetChoice[];
}

export interface TargetStrategy {
  readonly name: TargetStrategyName;
  /** One line for the README's table and --help. */
  readonly description: string;
  prepare(context: TargetContext): PreparedTargets;
}

/** Resolves a class name or index against the ID class names, or throws naming the valid ones. */
export function resolveClassIndex(requested: string | number, classNames: readonly string[]): number {
  if (typeof requested === 'number') {
    if (requested < classNames.length) return requested;
    throw new UserError(`target class index ${requested} is out of range: the ID source has ${classNames.length} classes`);
  }
  const index = classNames.indexOf(requested);
  if (index >= 0) return index;
  const folded = classNames.findIndex((c) => c.toLowerCase() === requested.toLowerCase());
  if (folded >= 0) return folded;
  throw new UserError(`unknown target class '${requested}'; the ID source's classes are: ${classNames.join(', ')}`);
}
