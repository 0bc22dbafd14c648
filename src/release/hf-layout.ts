/**
 * The file layout of `datasets.Dataset.save_to_disk` (datasets/arrow_dataset.py): shard names, state.json and
 * dataset_info.json, written the way datasets writes them (state.json: json.dump(indent=2, sort_keys=True);
 * dataset_info.json: only the first level of keys sorted, indent=2, so nested feature order is kept).
 */
import { basename, resolve, sep } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import { UserError } from '../core/errors.js';
import type { HfFeatures } from './hf-features.js';
import { sortKeysDeep } from '../core/canonical-json.js';

export const STATE_FILE = 'state.json';
export const DATASET_INFO_FILE = 'dataset_info.json';

export function shardFileName(index: number, count: number): string {
  return `data-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.arrow`;
}

export const SHARD_FILE_PATTERN = /^data-(\d{5})-of-(\d{5})\.arrow$/;

/**
 * Resolves a file name taken from a release's own metadata (state.json, manifest.json). Only plain names of
 * files directly inside `dir` are accepted: a crafted release must not make advood read or write elsewhere.
 */
export function resolveReleaseFile(dir: string, name: unknown, where: string): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || basename(name) !== name) {
    throw new UserError(`${where}: ${JSON.stringify(name)} is not a plain file name inside the release; refusing to follow it`);
  }
  const root = resolve(dir);
  const path = resolve(root, name);
  if (!path.startsWith(root + sep)) throw new UserError(`${where}: ${JSON.stringify(name)} escapes the release directory`);
  return path;
}

/** state.json's `_fingerprint`: like datasets' fingerprints 16 hex digits, here a pure function of the shards so reruns agree. */
export function releaseFingerprint(shardSha256: readonly string[]): string {
  return sha256Hex(shardSha256.join('\n')).slice(0, 16);
}

export interface HfState {
  _data_files: { filename: string }[];
  _fingerprint: string;
  _format_columns: null;
  _format_kwargs: Record<string, never>;
  _format_type: null;
  _output_all_columns: false;
  _split: null;
}

export function buildState(shardNames: readonly string[], fingerprint: string): HfState {
  return {
    _data_files: shardNames.map((filename) => ({ filename })),
    _fingerprint: fingerprint,
    _format_columns: null,
    _format_kwargs: {},
    _format_type: null,
    _output_all_columns: false,
    _split: null,
  };
}

export function serializeState(state: HfState): string {
  return JSON.stringify(sortKeysDeep(state), null, 2);
}

export interface HfDatasetInfo {
  citation: string;
  description: string;
  features: HfFeatures;
  homepage: string;
  license: string;
}

export function serializeDatasetInfo(info: HfDatasetInfo): string {
  const sorted = Object.fromEntries(Object.keys(info).sort().map((k) => [k, info[k as keyof HfDatasetInfo]]));
  return JSON.stringify(sorted, null, 2);
}
