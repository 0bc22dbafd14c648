/**
 * The one registry of release columns: for each ReleaseRow key, its column name (snake_case, as Python users
 * expect), its Hugging Face feature, and how a value goes into and out of Arrow. Writer, reader, card and verify
 * all derive from this list, so they cannot drift apart.
 */
import { Field, Schema } from 'apache-arrow';
import { UserError } from '../core/errors.js';
import {
  type HfFeature,
  type HfFeatures,
  hfClassLabel,
  hfFeatureToArrowType,
  hfFixedSequence,
  hfImage,
  hfSchemaMetadata,
  hfValue,
} from './hf-features.js';
import type { ReleaseRow } from './release-row.js';

/** What shapes a release's schema; recorded in the manifest and compared by `merge`. */
export interface ReleaseSchemaInfo {
  /** ID class names; `label`, `target_class` and `nearest_class_*` index into them (-1 = none, as HF allows). */
  classNames: string[];
  /** Length of the `feature` vector, or null to leave the column out. */
  featureDim: number | null;
  /** Whether the clean source image is stored (the CLI's default is yes). */
  includeCleanImage: boolean;
  /**
   * A release attacked on a detector's score (`--objective detector:NAME`) adds that detector's score of the
   * clean and of the saved adversarial image. Absent (not false) otherwise, so that a feature-collision
   * release's manifest is byte for byte what it was before detector objectives existed.
   */
  detectorScores?: true;
  /**
   * Random starts per item (the preset's `restarts`, when above 1): adds the winning start of each row and every
   * start's objective on its saved 8-bit image. Absent for one start, so such a release's bytes do not change.
   */
  restarts?: number;
}

type Codec = 'string' | 'image' | 'int64' | 'int32' | 'float64' | 'bool' | 'float32-vector';

export interface ReleaseColumn {
  key: keyof ReleaseRow;
  name: string;
  feature: HfFeature;
  codec: Codec;
}

/** Columns in file order. */
export function releaseColumns(info: ReleaseSchemaInfo): ReleaseColumn[] {
  const classes = hfClassLabel(info.classNames);
  const col = (key: keyof ReleaseRow, name: string, feature: HfFeature, codec: Codec): ReleaseColumn => ({ key, name, feature, codec });
  const columns: (ReleaseColumn | null)[] = [
    col('id', 'id', hfValue('string'), 'string'),
    col('image', 'image', hfImage(), 'image'),
    info.includeCleanImage ? col('cleanImage', 'clean_image', hfImage(), 'image') : null,
    col('label', 'label', classes, 'int64'),
    col('sourceDataset', 'source_dataset', hfValue('string'), 'string'),
    col('sourceId', 'source_id', hfValue('string'), 'string'),
    col('sourceSha256', 'source_sha256', hfValue('string'), 'string'),
    col('targetStrategy', 'target_strategy', hfValue('string'), 'string'),
    col('targetClass', 'target_class', classes, 'int64'),
    col('targetIndex', 'target_index', hfValue('int64'), 'int64'),
    col('targetReason', 'target_reason', hfValue('string'), 'string'),
    col('targetModel', 'target_model', hfValue('string'), 'string'),
    col('weightsSha256', 'weights_sha256', hfValue('string'), 'string'),
    col('attackPreset', 'attack_preset', hfValue('string'), 'string'),
    col('paramsHash', 'params_hash', hfValue('string'), 'string'),
    col('seed', 'seed', hfValue('int64'), 'int64'),
    col('cosBefore', 'cos_before', hfValue('float64'), 'float64'),
    col('cosAfter', 'cos_after', hfValue('float64'), 'float64'),
    col('nearestClassBefore', 'nearest_class_before', classes, 'int64'),
    col('nearestClassAfter', 'nearest_class_after', classes, 'int64'),
    col('linf', 'linf', hfValue('float64'), 'float64'),
    col('l2', 'l2', hfValue('float64'), 'float64'),
    col('psnr', 'psnr', hfValue('float64'), 'float64'),
    col('lowFreqEnergy', 'low_freq_energy', hfValue('float64'), 'float64'),
    col('steps', 'steps', hfValue('int32'), 'int32'),
    col('success', 'success', hfValue('bool'), 'bool'),
    ...(info.detectorScores
      ? [
          col('detectorScoreBefore', 'detector_score_before', hfValue('float64'), 'float64'),
          col('detectorScoreAfter', 'detector_score_after', hfValue('float64'), 'float64'),
        ]
      : []),
    ...(info.restarts !== undefined
      ? [
          col('restart', 'restart', hfValue('int32'), 'int32'),
          col('restartObjectives', 'restart_objectives', hfFixedSequence(hfValue('float32'), info.restarts), 'float32-vector'),
        ]
      : []),
    info.featureDim !== null ? col('feature', 'feature', hfFixedSequence(hfValue('float32'), info.featureDim), 'float32-vector') : null,
    col('advoodVersion', 'advood_version', hfValue('string'), 'string'),
  ];
  return columns.filter((c): c is ReleaseColumn => c !== null);
}

export function releaseFeatures(info: ReleaseSchemaInfo): HfFeatures {
  return Object.fromEntries(releaseColumns(info).map((c) => [c.name, c.feature]));
}

/** The Arrow schema of every shard: all fields nullable, HF features in the `huggingface` metadata. */
export function releaseArrowSchema(info: ReleaseSchemaInfo): Schema {
  validateSchemaInfo(info);
  const columns = releaseColumns(info);
  return new Schema(
    columns.map((c) => new Field(c.name, hfFeatureToArrowType(c.feature), true)),
    new Map([['huggingface', hfSchemaMetadata(releaseFeatures(info))]]),
  );
}

export function validateSchemaInfo(info: ReleaseSchemaInfo): void {
  if (!Array.isArray(info.classNames) || !info.classNames.every((n) => typeof n === 'string')) {
    throw new UserError('release schema: classNames must be a list of strings');
  }
  if (info.featureDim !== null && !(Number.isInteger(info.featureDim) && info.featureDim > 0)) {
    throw new UserError(`release schema: featureDim must be a positive integer or null, got ${info.featureDim}`);
  }
  if (info.restarts !== undefined && !(Number.isInteger(info.restarts) && info.restarts >= 2)) {
    throw new UserError(`release schema: restarts must be an integer ≥ 2 or absent, got ${JSON.stringify(info.restarts)}`);
  }
  if (info.detectorScores !== undefined && info.detectorScores !== true) {
    throw new UserError(`release schema: detectorScores must be true or absent, got ${JSON.stringify(info.detectorScores)}`);
  }
}
