/**
 * Reads a release row by row (what `advood evaluate` iterates), one record batch in memory at a time.
 * Shard names come from state.json and must agree with manifest.json; names that are not plain files inside
 * the release directory are refused, so a crafted release cannot make advood read elsewhere.
 */
import { parseGuardedJson } from '../core/json-guard.js';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { UserError } from '../core/errors.js';
import { type HfFeatures, parseHfFeatures } from './hf-features.js';
import { DATASET_INFO_FILE, resolveReleaseFile, STATE_FILE } from './hf-layout.js';
import { decodeReleaseBatch } from './release-batch-codec.js';
import { releaseColumns } from './release-columns.js';
import { readManifest, type ReleaseManifest } from './release-manifest.js';
import type { ReleaseRow } from './release-row.js';

export interface DatasetInfoJson {
  features: HfFeatures;
  description: string;
  citation: string;
  license: string;
  homepage: string;
}

export interface OpenedRelease {
  dir: string;
  manifest: ReleaseManifest;
  info: DatasetInfoJson;
  /** Absolute paths of the data shards, in order. */
  shardPaths: string[];
  /** Number of rows. */
  length: number;
  rows(): AsyncIterable<ReleaseRow>;
}

export async function openRelease(dir: string): Promise<OpenedRelease> {
  const { manifest } = readManifest(dir);
  const state = readJson(join(dir, STATE_FILE)) as { _data_files?: unknown };
  if (!Array.isArray(state._data_files)) throw new UserError(`${join(dir, STATE_FILE)}: "_data_files" is not a list`);
  const stateNames = state._data_files.map((entry: unknown) => (entry as { filename?: unknown })?.filename);
  const shardPaths = stateNames.map((name, i) => resolveReleaseFile(dir, name, `${join(dir, STATE_FILE)} _data_files[${i}]`));
  manifest.shards.forEach((shard, i) => resolveReleaseFile(dir, shard.filename, `${join(dir, 'manifest.json')} shards[${i}]`));
  manifest.files.forEach((file, i) => resolveReleaseFile(dir, file.path, `${join(dir, 'manifest.json')} files[${i}]`));
  const manifestNames = manifest.shards.map((s) => s.filename);
  if (JSON.stringify(stateNames) !== JSON.stringify(manifestNames)) {
    throw new UserError(`${dir}: state.json lists shards ${JSON.stringify(stateNames)} but manifest.json lists ${JSON.stringify(manifestNames)}`);
  }
  const rawInfo = readJson(join(dir, DATASET_INFO_FILE)) as Record<string, unknown>;
  const info: DatasetInfoJson = {
    features: parseHfFeatures(rawInfo.features, join(dir, DATASET_INFO_FILE)),
    description: String(rawInfo.description ?? ''),
    citation: String(rawInfo.citation ?? ''),
    license: String(rawInfo.license ?? ''),
    homepage: String(rawInfo.homepage ?? ''),
  };
  const columns = releaseColumns(manifest.schema);
  return {
    dir,
    manifest,
    info,
    shardPaths,
    length: manifest.counts.rows,
    async *rows() {
      for (const path of shardPaths) {
        for await (const batch of await readShardBatches(path)) yield* decodeReleaseBatch(batch, columns);
      }
    },
  };
}

/** Record batches of one shard, streamed from disk. */
export async function readShardBatches(path: string) {
  try {
    const reader = await RecordBatchReader.from(createReadStream(path, { highWaterMark: 1 << 20 }));
    return reader;
  } catch (error) {
    throw new UserError(`${path}: cannot be read as an Arrow IPC stream (${(error as Error).message})`);
  }
}

function readJson(path: string): unknown {
  try {
    return parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: cannot read (${(error as Error).message})`);
  }
}
