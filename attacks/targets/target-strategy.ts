/**
 * Target strategies choose, per OOD item, the ID feature its embedding should collide with, and say why.
 * A strategy is prepared once per run (prototypes, text embeddings) and then asked batch by batch.
 *
 * Each strategy says which ID features it reads, so that a run encodes no ID image it does not use: the
 * prototype strategies read every ID image's features (through the feature cache), 'sample' only the rows it
 * draws for this run's items, 'text' none at all (class names only).
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
  /** Row of the ID source used as target ('sample'), -1 otherwise. */
  targetIndex: number;
  reason: string;
}

export interface TargetContextBase {
  seed: number;
  encoder: Encoder;
  /** The ID source's class names (index = class label). */
  classNames: readonly string[];
  /** params.target.class: a class name or index, or null to draw one per item. */
  requestedClass: string | number | null;
}

/** The ID rows a drawing strategy picked, encoded: row of the ID source → its image id, label and feature. */
export interface DrawnIdFeatures {
  /** Rows of the ID source (its items, in order): draws are made over 0…rows-1. */
  readonly rows: number;
  readonly features: ReadonlyMap<number, { id: string; label: number; vector: Float32Array }>;
}

export interface PreparedTargets {
  choose(items: readonly TargetItem[]): TargetChoice[];
}

interface StrategyInfo {
  readonly name: TargetStrategyName;
  /** One line for the README's table and --help. */
  readonly description: string;
}

/** Reads every usable ID image's features (class prototypes). */
export interface AllIdFeaturesStrategy extends StrategyInfo {
  readonly reads: 'all-id-features';
  prepare(context: TargetContextBase & { idFeatures: FeatureSet }): PreparedTargets;
}

/** Draws per item before a drawing strategy gives up on an ID source whose drawn images keep failing to decode. */
export const MAX_ID_DRAWS = 16;

/** Reads the features of one ID row per item, which it draws from (seed, item key) alone, before anything is encoded. */
export interface DrawnIdFeaturesStrategy extends StrategyInfo {
  readonly reads: 'drawn-id-features';
  /** Row drawn for an item; attempt 1, 2, … draw again where the rows drawn before could not be used. */
  drawRow(seed: number, key: string, rows: number, attempt?: number): number;
  prepare(context: TargetContextBase & { drawn: DrawnIdFeatures }): PreparedTargets;
}

/** Reads no ID image (class names only). */
export interface ClassNamesStrategy extends StrategyInfo {
  readonly reads: 'class-names';
  prepare(context: TargetContextBase): PreparedTargets;
}

export type TargetStrategy = AllIdFeaturesStrategy | DrawnIdFeaturesStrategy | ClassNamesStrategy;

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
