/**
 * The decoded, BN-folded MobileNetV2 weights as one float32 binary plus a JSON index, kept under
 * advoodCacheDir('weights', 'mobilenet-v2'). Reading it skips nsfwjs's base64 module import, quantized-weight
 * decoding and layers-model construction. The JSON is written last and carries the binary's sha256, so a torn or
 * corrupted cache is detected and rebuilt from the package.
 */
import { parseGuardedJson } from '../../core/json-guard.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { advoodCacheDir } from '../../core/cache-dir.js';
import { errorMessage } from '../../core/errors.js';
import type { MobileNetV2Plan } from './architecture.js';
import { extractFoldedWeights, loadNsfwjsMobileNetV2, type NamedWeights, nsfwjsSourceLabel } from './nsfwjs-source.js';

const FORMAT = 'advood-packed-weights/1';
const BASENAME = 'mobilenet-v2';

export interface PackedTensorEntry {
  name: string;
  shape: number[];
  /** Offset into `data`, in float32 elements. */
  offset: number;
}

export interface PackedWeights {
  /** What the weights were derived from (nsfwjs version, folding). */
  source: string;
  tensors: PackedTensorEntry[];
  data: Float32Array;
  /** sha256 (hex) of `data`'s bytes: the Encoder's weightsSha256. */
  sha256: string;
}

interface PackedIndex {
  format: string;
  source: string;
  sha256: string;
  bytes: number;
  tensors: PackedTensorEntry[];
}

function sha256Of(data: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

export function packWeights(source: string, weights: readonly NamedWeights[]): PackedWeights {
  const total = weights.reduce((n, w) => n + w.values.length, 0);
  const data = new Float32Array(total);
  const tensors: PackedTensorEntry[] = [];
  let offset = 0;
  for (const w of weights) {
    data.set(w.values, offset);
    tensors.push({ name: w.name, shape: [...w.shape], offset });
    offset += w.values.length;
  }
  return { source, tensors, data, sha256: sha256Of(data) };
}

/** One packed tensor as a tf tensor of its recorded shape; throws when it is missing or the wrong shape. */
export function packedTensor(packed: PackedWeights, name: string, shape: readonly number[]): tf.Tensor {
  const entry = packed.tensors.find((t) => t.name === name);
  if (!entry) throw new Error(`packed weights (${packed.source}) lack '${name}'`);
  if (JSON.stringify(entry.shape) !== JSON.stringify(shape)) throw new Error(`packed weight '${name}' is [${entry.shape}], expected [${shape}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(packed.data.subarray(entry.offset, entry.offset + size), [...shape], 'float32');
}

export function cachePaths(dir: string): { index: string; data: string } {
  return { index: join(dir, `${BASENAME}.json`), data: join(dir, `${BASENAME}.bin`) };
}

/** Reads and verifies the cache; returns null (with the reason) when it is absent, stale or corrupt. */
export function readPackedWeights(dir: string, expectedSource: string): { packed: PackedWeights | null; reason: string } {
  const paths = cachePaths(dir);
  if (!existsSync(paths.index) || !existsSync(paths.data)) return { packed: null, reason: 'no cache yet' };
  try {
    const index = parseGuardedJson(readFileSync(paths.index, 'utf8')) as PackedIndex;
    if (index.format !== FORMAT) return { packed: null, reason: `${paths.index}: format '${index.format}', expected '${FORMAT}'` };
    if (index.source !== expectedSource) return { packed: null, reason: `${paths.index}: built from '${index.source}', now '${expectedSource}'` };
    const bytes = readFileSync(paths.data);
    if (bytes.length !== index.bytes || bytes.length % 4 !== 0) return { packed: null, reason: `${paths.data}: ${bytes.length} bytes, expected ${index.bytes}` };
    // Copy into an aligned buffer: a Buffer from readFileSync may sit at an odd offset of Node's pool.
    const data = new Float32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes);
    const sha256 = sha256Of(data);
    if (sha256 !== index.sha256) return { packed: null, reason: `${paths.data}: sha256 ${sha256.slice(0, 12)}… does not match ${index.sha256.slice(0, 12)}…` };
    return { packed: { source: index.source, tensors: index.tensors, data, sha256 }, reason: '' };
  } catch (error) {
    return { packed: null, reason: `${paths.index}: unreadable (${errorMessage(error)})` };
  }
}

/** Writes data then index, each via a temporary file and rename, so readers never see half a cache. */
export function writePackedWeights(dir: string, packed: PackedWeights): void {
  const paths = cachePaths(dir);
  const index: PackedIndex = { format: FORMAT, source: packed.source, sha256: packed.sha256, bytes: packed.data.byteLength, tensors: packed.tensors };
  const suffix = `.tmp-${process.pid}`;
  writeFileSync(paths.data + suffix, new Uint8Array(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength));
  renameSync(paths.data + suffix, paths.data);
  writeFileSync(paths.index + suffix, JSON.stringify(index));
  renameSync(paths.index + suffix, paths.index);
}

export interface LoadedWeights {
  packed: PackedWeights;
  /** 'cache' or 'nsfwjs' (decoded from the package, then cached). */
  from: 'cache' | 'nsfwjs';
  /** Why the cache was not used, when from = 'nsfwjs'. */
  reason: string;
}

/** Decodes the weights from the nsfwjs package (slow), folds BN and packs them. */
export async function packFromNsfwjs(plan: MobileNetV2Plan): Promise<PackedWeights> {
  const model = await loadNsfwjsMobileNetV2();
  try {
    return packWeights(nsfwjsSourceLabel(), extractFoldedWeights(model, plan));
  } finally {
    model.dispose();
  }
}

/**
 * The folded weights: from the cache when it verifies, else decoded from nsfwjs and written to the cache.
 * A cache directory that cannot be written is not fatal; the weights are still returned.
 */
export async function loadMobileNetV2Weights(
  plan: MobileNetV2Plan,
  options: { cacheDir?: string; log?: (message: string) => void } = {},
): Promise<LoadedWeights> {
  const dir = options.cacheDir ?? advoodCacheDir('weights', 'mobilenet-v2');
  const source = nsfwjsSourceLabel();
  const cached = readPackedWeights(dir, source);
  if (cached.packed) return { packed: cached.packed, from: 'cache', reason: '' };
  if (cached.reason !== 'no cache yet') options.log?.(`rebuilding the MobileNetV2 weight cache: ${cached.reason}`);
  const packed = await packFromNsfwjs(plan);
  try {
    writePackedWeights(dir, packed);
  } catch (error) {
    options.log?.(`could not write the MobileNetV2 weight cache in ${dir}: ${errorMessage(error)}`);
  }
  return { packed, from: 'nsfwjs', reason: cached.reason };
}
