/**
 * Features of a whole image source under one encoder, cached on disk so that detectors and attacks reuse
 * them (and, uncached, of chosen rows of a source: computeFeaturesOfRows). The cache key is everything that
 * changes the numbers: encoder id and weights sha256, feature kind, preprocessing, and the source's fingerprint.
 * Cached files live in advoodCacheDir('features').
 *
 * A source that knows the sha256 of its items' bytes in advance (a verified release: its fingerprint is made
 * of those bytes' digests) binds the key to them both ways: a fill refuses features decoded from other bytes,
 * and a hit is served only when every row it holds was decoded from the expected bytes (the file records the
 * sha256 of the bytes each row was decoded from), so neither a swap before reading nor a file filled from one
 * can stand for the verified content.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Encoder, FeatureKind } from '../models/encoder.js';
import { advoodCacheDir } from '../core/cache-dir.js';
import { ItemError, UserError, errorMessage } from '../core/errors.js';
import { type ImageBatch, iterateBatches, type ItemFailure, type OnError } from './batches.js';
import { FEATURE_FILE_VERSION, readFeatureFile, writeFeatureFile, type FeatureFile, type FeatureProvenance } from './feature-file.js';
import type { ImageSource, Preprocess } from './image-source.js';

export interface FeatureProgress {
  /** Called after each batch with the number of items it covered (decoded or failed). */
  onBatch?(done: number, total: number): void;
  /** Called once per item that failed, in source order. */
  onFailure?(failure: ItemFailure): void;
  /** Called when a cache file fails its checks (altered, corrupted, unreadable); it is recomputed, never used. */
  onCacheRejected?(path: string, reason: string): void;
}

export interface ComputeFeaturesOptions {
  readonly preprocess: Preprocess;
  readonly batchSize: number;
  /** Default: encoder.features. */
  readonly kind?: FeatureKind;
  readonly progress?: FeatureProgress;
  readonly onError?: OnError;
  /** Concurrent decodes (default 4). */
  readonly concurrency?: number;
  /** false: neither read nor write the cache. Default true. */
  readonly cache?: boolean;
}

export interface ComputedFeatures {
  readonly set: FeatureFile;
  readonly failures: readonly ItemFailure[];
  /** true when the result came from the cache. */
  readonly cached: boolean;
  /** The cache file holding this result (written or read), or null with cache: false. */
  readonly cachePath: string | null;
}

export function featureCacheKey(provenance: FeatureProvenance): string {
  const { encoderId, weightsSha256, kind, preprocess, sourceFingerprint } = provenance;
  return createHash('sha256')
    .update(JSON.stringify({ v: FEATURE_FILE_VERSION, encoderId, weightsSha256, kind, preprocess, sourceFingerprint }))
    .digest('hex');
}

export function featureCachePath(provenance: FeatureProvenance): string {
  return join(advoodCacheDir('features'), `${featureCacheKey(provenance)}.arrow`);
}

/** A cache file, or null (reported) when it fails its content digest or does not hold what its key promises. */
function readCachedFeatures(path: string, provenance: FeatureProvenance, source: ImageSource, progress: FeatureProgress | undefined): FeatureFile | null {
  let file: FeatureFile;
  try {
    file = readFeatureFile(path);
  } catch (error) {
    progress?.onCacheRejected?.(path, errorMessage(error));
    return null;
  }
  if (featureCacheKey(file.provenance) !== featureCacheKey(provenance)) {
    progress?.onCacheRejected?.(path, 'holds features of another encoder, source or preprocessing than its name says');
    return null;
  }
  const other = source.expectedSha256 ? file.ids.findIndex((id, i) => source.expectedSha256!(id) !== file.sourceSha256[i]) : -1;
  if (other >= 0) {
    progress?.onCacheRejected?.(path, `row ${JSON.stringify(file.ids[other])} was decoded from bytes with sha256 ${file.sourceSha256[other]!.slice(0, 12)}…, not the bytes of this source`);
    return null;
  }
  return file;
}

function failuresFromFile(source: ImageSource, file: FeatureFile): ItemFailure[] {
  const byId = new Map(source.items.map((item) => [item.id, item]));
  return file.failures.map((f) => ({ item: byId.get(f.id) ?? { id: f.id, label: null, origin: f.origin }, reason: f.reason }));
}

export async function computeFeatures(encoder: Encoder, source: ImageSource, options: ComputeFeaturesOptions): Promise<ComputedFeatures> {
  const kind = options.kind ?? encoder.features;
  if (!encoder.featureKinds.includes(kind)) {
    throw new UserError(`target ${encoder.id} has no '${kind}' features (it has: ${encoder.featureKinds.join(', ')})`);
  }
  if (options.preprocess.size !== encoder.inputSize) {
    throw new UserError(`preprocess size ${options.preprocess.size} ≠ encoder ${encoder.id} input size ${encoder.inputSize}`);
  }
  const provenance: FeatureProvenance = {
    encoderId: encoder.id,
    weightsSha256: encoder.weightsSha256,
    kind,
    preprocess: {
      mode: options.preprocess.mode,
      size: options.preprocess.size,
      // Only where it differs from the crop: the cache keys of CLIP targets stay as they were.
      ...(options.preprocess.resize !== undefined && options.preprocess.resize !== options.preprocess.size && { resize: options.preprocess.resize }),
      background: [...options.preprocess.background] as [number, number, number],
    },
    sourceName: source.name,
    sourceFingerprint: source.fingerprint,
  };
  const useCache = options.cache ?? true;
  const cachePath = useCache ? featureCachePath(provenance) : null;
  const onError = options.onError ?? 'skip';
  const total = source.items.length;

  const cached = cachePath && existsSync(cachePath) ? readCachedFeatures(cachePath, provenance, source, options.progress) : null;
  if (cachePath && cached) {
    const set = cached;
    const failures = failuresFromFile(source, set);
    for (const failure of failures) options.progress?.onFailure?.(failure);
    if (onError === 'fail' && failures.length > 0) throw new ItemError(failures[0].item.origin, failures[0].reason);
    options.progress?.onBatch?.(total, total);
    return { set, failures, cached: true, cachePath };
  }

  const { set, failures } = await encodeSource(encoder, source, kind, provenance, { ...options, onError });
  if (cachePath) writeFeatureFile(cachePath, set);
  return { set, failures, cached: false, cachePath };
}

/**
 * Features of the items at `rows` of the source (sorted, distinct), encoded now and never cached: a run that
 * reads a few drawn ID images does not pay for the whole source, and a file of some rows never stands in the
 * cache for the source. `failures` name the rows' items that could not be used.
 */
export async function computeFeaturesOfRows(
  encoder: Encoder,
  source: ImageSource,
  rows: readonly number[],
  options: Omit<ComputeFeaturesOptions, 'cache'>,
): Promise<ComputedFeatures> {
  const items = rows.map((row) => {
    const item = source.items[row];
    if (item === undefined) throw new Error(`${source.name}: row ${row} is outside the source's ${source.items.length} items`);
    return item;
  });
  const subset: ImageSource = {
    name: source.name,
    classNames: source.classNames,
    fingerprint: createHash('sha256').update(`${source.fingerprint}\u0000rows ${rows.join(',')}`).digest('hex'),
    items,
    load: (item, preprocess) => source.load(item, preprocess),
    ...(source.expectedSha256 && { expectedSha256: (id: string) => source.expectedSha256!(id) }),
  };
  return computeFeatures(encoder, subset, { ...options, cache: false });
}

/**
 * A source's bytes must be the ones it says it has (a verified release's rows): else the run stops, before any
 * feature of them is used or cached.
 */
function refuseOtherBytes(source: ImageSource, batch: ImageBatch): void {
  batch.items.forEach((item, i) => {
    const expected = source.expectedSha256?.(item.id);
    if (expected !== undefined && batch.sourceSha256[i] !== expected) {
      throw new UserError(`${item.origin}: changed since it was verified (decoded from bytes with sha256 ${batch.sourceSha256[i]!.slice(0, 12)}…, verified ${expected.slice(0, 12)}…); not caching or using its features`);
    }
  });
}

/** One batch's features, [count · dim] float32, with the tensor disposed. */
async function encodeBatch(encoder: Encoder, batch: ImageBatch, kind: FeatureKind): Promise<{ values: Float32Array; dim: number }> {
  const count = batch.items.length;
  const features = tf.tidy(() => encoder.encodeImage(tf.tensor4d(batch.pixels, [count, batch.size, batch.size, 3]), kind));
  try {
    if (features.shape[0] !== count) throw new Error(`encoder ${encoder.id} returned ${features.shape[0]} rows for ${count} images`);
    return { values: (await features.data()) as Float32Array, dim: features.shape[1] };
  } finally {
    features.dispose();
  }
}

/** Encodes every item of the source, batch by batch; bad items (and non-finite features) are failures, recorded. */
async function encodeSource(
  encoder: Encoder,
  source: ImageSource,
  kind: FeatureKind,
  provenance: FeatureProvenance,
  options: ComputeFeaturesOptions & { onError: OnError },
): Promise<{ set: FeatureFile; failures: ItemFailure[] }> {
  const { onError, progress } = options;
  const rows = { ids: [] as string[], labels: [] as number[], sourcePaths: [] as string[], sourceSha256: [] as string[], chunks: [] as Float32Array[] };
  const failures: ItemFailure[] = [];
  const fail = (failure: ItemFailure) => {
    failures.push(failure);
    progress?.onFailure?.(failure);
  };
  let dim = -1;
  let done = 0;
  for await (const batch of iterateBatches(source, { preprocess: options.preprocess, batchSize: options.batchSize, concurrency: options.concurrency, onError })) {
    batch.failures.forEach(fail);
    refuseOtherBytes(source, batch);
    if (batch.items.length > 0) {
      const encoded = await encodeBatch(encoder, batch, kind);
      dim = encoded.dim;
      batch.items.forEach((item, i) => {
        const row = encoded.values.subarray(i * dim, (i + 1) * dim);
        // Non-finite features would poison every detector fitted or scored on them: the item fails instead.
        if (!row.every(Number.isFinite)) {
          const failure = { item, reason: 'the encoder gave non-finite features (NaN or ±Inf) for this image' };
          if (onError === 'fail') throw new ItemError(item.origin, failure.reason);
          fail(failure);
          return;
        }
        rows.chunks.push(row);
        rows.ids.push(item.id);
        rows.labels.push(item.label ?? -1);
        rows.sourcePaths.push(item.origin);
        rows.sourceSha256.push(batch.sourceSha256[i]);
      });
    }
    done += batch.items.length + batch.failures.length;
    progress?.onBatch?.(done, source.items.length);
  }
  if (dim < 0) dim = encoder.embedDim;
  const vectors = new Float32Array(rows.ids.length * dim);
  rows.chunks.reduce((offset, chunk) => (vectors.set(chunk, offset), offset + chunk.length), 0);
  const set: FeatureFile = {
    ids: rows.ids,
    labels: Int32Array.from(rows.labels),
    classNames: source.classNames,
    dim,
    vectors,
    sourcePaths: rows.sourcePaths,
    sourceSha256: rows.sourceSha256,
    provenance,
    failures: failures.map(({ item, reason }) => ({ id: item.id, origin: item.origin, reason })),
  };
  return { set, failures };
}
