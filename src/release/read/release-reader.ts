/**
 * Reads a release row by row (what `advood evaluate` iterates), one record batch in memory at a time.
 * Shard names come from state.json and must agree with manifest.json; names that are not plain files inside
 * the release directory are refused, so a crafted release cannot make advood read elsewhere.
 *
 * Every file is hashed in the read that decodes it and compared with the digest it must have: what verify
 * measured (openVerifiedRelease passes it), else the manifest's sha256. A file swapped after verification is
 * therefore refused, naming it, rather than read as if it were the verified one.
 */
import { parseGuardedJson } from '../../core/json-guard.js';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { sha256Hex, type FileDigest } from '../../core/digest.js';
import { UserError } from '../../core/errors.js';
import { openHashedRead, readHashed } from '../../core/hashed-read.js';
import { type HfFeatures, parseHfFeatures } from '../hf-features.js';
import { DATASET_INFO_FILE, resolveReleaseFile, STATE_FILE } from '../hf-layout.js';
import { decodeReleaseBatch } from '../release-batch-codec.js';
import { releaseColumns } from '../release-columns.js';
import { MANIFEST_FILE, readManifest, type ReleaseManifest } from '../release-manifest.js';
import type { ReleaseRow } from '../release-row.js';

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
  /**
   * Rows of shard `index`. The shard is hashed as it is decoded; once its stream ends, a digest other than the
   * expected one throws (naming the shard) instead of ending the iteration, so a full pass never completes on
   * bytes other than the verified ones. A pass stopped early has not been checked.
   */
  shardRows(index: number): AsyncIterable<ReleaseRow>;
  /**
   * Shard `index` read whole (at most its shard size) and hashed in that read, refused (naming it) unless it is
   * the expected bytes, before anything is decoded: for writers that must not have written a row of a shard
   * that then fails the check at its end. Its rows decode from those same bytes.
   */
  wholeShard(index: number): Promise<{ bytes: Buffer; rows(): AsyncIterable<ReleaseRow> }>;
}

/** What a release's files must hash to, by path inside the release (verify's `measured`). */
export type ExpectedFiles = readonly ({ path: string } & FileDigest)[];

/** `verified`: the digests verify measured; without it, the manifest's own sha256 of each file. */
export async function openRelease(dir: string, verified?: ExpectedFiles): Promise<OpenedRelease> {
  const { manifest, text } = readManifest(dir);
  const expected = new Map((verified ?? manifest.files).map((file) => [file.path, file]));
  const checkDigest = (path: string, read: FileDigest, name: string) => refuseOtherBytes(path, read, expected.get(name), verified !== undefined);
  if (verified) checkDigest(join(dir, MANIFEST_FILE), { sha256: sha256Hex(text), size: Buffer.byteLength(text) }, MANIFEST_FILE);
  const readJson = async (name: string): Promise<unknown> => {
    const path = join(dir, name);
    const read = await readHashed(path).catch((error: Error) => {
      throw new UserError(`${path}: cannot read (${error.message})`);
    });
    checkDigest(path, read, name);
    try {
      return parseGuardedJson(read.bytes.toString('utf8'));
    } catch (error) {
      throw new UserError(`${path}: cannot read (${(error as Error).message})`);
    }
  };
  const state = (await readJson(STATE_FILE)) as { _data_files?: unknown };
  if (!Array.isArray(state._data_files)) throw new UserError(`${join(dir, STATE_FILE)}: "_data_files" is not a list`);
  const stateNames = state._data_files.map((entry: unknown) => (entry as { filename?: unknown })?.filename);
  const shardPaths = stateNames.map((name, i) => resolveReleaseFile(dir, name, `${join(dir, STATE_FILE)} _data_files[${i}]`));
  manifest.shards.forEach((shard, i) => resolveReleaseFile(dir, shard.filename, `${join(dir, 'manifest.json')} shards[${i}]`));
  manifest.files.forEach((file, i) => resolveReleaseFile(dir, file.path, `${join(dir, 'manifest.json')} files[${i}]`));
  const manifestNames = manifest.shards.map((s) => s.filename);
  if (JSON.stringify(stateNames) !== JSON.stringify(manifestNames)) {
    throw new UserError(`${dir}: state.json lists shards ${JSON.stringify(stateNames)} but manifest.json lists ${JSON.stringify(manifestNames)}`);
  }
  const rawInfo = (await readJson(DATASET_INFO_FILE)) as Record<string, unknown>;
  const info: DatasetInfoJson = {
    features: parseHfFeatures(rawInfo.features, join(dir, DATASET_INFO_FILE)),
    description: String(rawInfo.description ?? ''),
    citation: String(rawInfo.citation ?? ''),
    license: String(rawInfo.license ?? ''),
    homepage: String(rawInfo.homepage ?? ''),
  };
  const columns = releaseColumns(manifest.schema);
  async function* shardRows(index: number): AsyncGenerator<ReleaseRow> {
    const path = shardPaths[index]!;
    const read = openHashedRead(path);
    let finished = false;
    try {
      for await (const batch of await readShardBatches(path, read.chunks)) yield* decodeReleaseBatch(batch, columns);
      finished = true;
      checkDigest(path, await read.finish(), stateNames[index] as string);
    } finally {
      if (!finished) read.close();
    }
  }
  async function wholeShard(index: number) {
    const path = shardPaths[index]!;
    const read = await readHashed(path).catch((error: Error) => {
      throw new UserError(`${path}: cannot read (${error.message})`);
    });
    checkDigest(path, read, stateNames[index] as string);
    return {
      bytes: read.bytes,
      async *rows(): AsyncGenerator<ReleaseRow> {
        const once = (async function* () {
          yield read.bytes;
        })();
        for await (const batch of await readShardBatches(path, once)) yield* decodeReleaseBatch(batch, columns);
      },
    };
  }
  return {
    dir,
    manifest,
    info,
    shardPaths,
    length: manifest.counts.rows,
    shardRows,
    wholeShard,
    async *rows() {
      for (let index = 0; index < shardPaths.length; index++) yield* shardRows(index);
    },
  };
}

/** Refuses bytes other than those expected of the file at `path` (verify's measure, else the manifest's), in one line naming it. */
function refuseOtherBytes(path: string, read: FileDigest, want: FileDigest | undefined, verified: boolean): void {
  if (!want) throw new UserError(`${path}: the manifest records no sha256 for it, so what is read cannot be checked; not using it`);
  if (read.sha256 === want.sha256 && read.size === want.size) return;
  const [what, whose] = verified ? ['changed since it was verified', 'verified'] : ['does not match the manifest', 'the manifest says'];
  throw new UserError(
    `${path}: ${what} (read ${read.size} bytes, sha256 ${read.sha256.slice(0, 12)}…; ${whose} ${want.size} bytes, ${want.sha256.slice(0, 12)}…); not using it`,
  );
}

/** Record batches of one shard, streamed from disk (or from `bytes`, a hashed read of it). */
export async function readShardBatches(path: string, bytes: AsyncIterable<Uint8Array> = createReadStream(path, { highWaterMark: 1 << 20 })) {
  try {
    const reader = await RecordBatchReader.from(bytes);
    return reader;
  } catch (error) {
    throw new UserError(`${path}: cannot be read as an Arrow IPC stream (${(error as Error).message})`);
  }
}
