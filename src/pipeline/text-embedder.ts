/**
 * A target's text tower behind the detectors' TextEmbedder (src/detectors/detector.ts): prompts in batches, with
 * progress, cached on disk per target and prompt list. NegLabel embeds its whole lexicon (139,277 WordNet prompts,
 * datasets/lexicon/) at every fit; the cache makes that a one-time cost per target.
 *
 * Cache file advoodCacheDir('text-embeddings')/<key>.f32, key = sha256 of (format, encoder id, weights sha256,
 * prompts): an 8-byte header (rows, dim as little-endian uint32), rows·dim float32 LE, then the sha256 of those
 * bytes, so that a truncated or altered file is recomputed instead of read.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advoodCacheDir } from '../core/cache-dir.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { errorMessage } from '../core/errors.js';
import { isFsError } from '../core/fs-error.js';
import { writeFileSafely } from '../core/safe-write.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { TextEmbedder } from '../detectors/detector.js';
import type { Encoder } from '../models/encoder.js';

const CACHE_FORMAT = 1;
const HEADER_BYTES = 8;
const DIGEST_BYTES = 32;
/** Prompts per text-tower call: the tower's activations grow linearly in it (77 tokens × width per prompt). */
export const TEXT_BATCH = 256;

export interface TextEmbedderOptions {
  /** Default advoodCacheDir('text-embeddings'). */
  cacheDir?: string;
  batchSize?: number;
  /** After each batch of a list that was not cached. */
  onBatch?: (done: number, total: number) => void;
  /** A cache file that could not be used (it is then recomputed and rewritten). */
  onCacheRejected?: (file: string, reason: string) => void;
}

/** The target's TextEmbedder, or undefined when it has no text tower. */
export function cachedTextEmbedder(encoder: Encoder, options: TextEmbedderOptions = {}): TextEmbedder | undefined {
  const encodeText = encoder.encodeText?.bind(encoder);
  if (!encodeText) return undefined;
  const batchSize = options.batchSize ?? TEXT_BATCH;
  return {
    id: `${encoder.id} (weights ${encoder.weightsSha256.slice(0, 12)})`,
    async embed(prompts: readonly string[]): Promise<FeatureSet> {
      const key = sha256Hex(canonicalJson({ format: CACHE_FORMAT, encoder: encoder.id, weights: encoder.weightsSha256, prompts }));
      const dir = options.cacheDir ?? advoodCacheDir('text-embeddings');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${key}.f32`);
      const cached = readCache(file, prompts.length, options.onCacheRejected);
      if (cached) return featureSetOf(prompts, cached.dim, cached.vectors);
      // Batches of similar length: the text tower runs only up to a batch's longest prompt
      // (src/models/clip/text-tower.ts), and characters are a fair proxy for tokens.
      const order = Array.from(prompts.keys()).sort((a, b) => prompts[a]!.length - prompts[b]!.length || a - b);
      let dim = 0;
      let vectors = new Float32Array(0);
      for (let start = 0; start < prompts.length; start += batchSize) {
        const rows = order.slice(start, start + batchSize);
        const embeddings = encodeText(rows.map((r) => prompts[r]!));
        try {
          if (start === 0) {
            dim = embeddings.shape[1];
            vectors = new Float32Array(prompts.length * dim);
          }
          const values = embeddings.dataSync() as Float32Array;
          rows.forEach((r, i) => vectors.set(values.subarray(i * dim, (i + 1) * dim), r * dim));
        } finally {
          embeddings.dispose();
        }
        options.onBatch?.(start + rows.length, prompts.length);
        // Yield between batches so that progress output and signals are handled during a long list.
        await new Promise((resolve) => setImmediate(resolve));
      }
      writeCache(file, prompts.length, dim, vectors);
      return featureSetOf(prompts, dim, vectors);
    },
  };
}

function featureSetOf(prompts: readonly string[], dim: number, vectors: Float32Array): FeatureSet {
  return { ids: [...prompts], labels: new Int32Array(prompts.length).fill(-1), classNames: [], dim, vectors };
}

function writeCache(file: string, rows: number, dim: number, vectors: Float32Array): void {
  const body = Buffer.alloc(HEADER_BYTES + vectors.byteLength);
  body.writeUInt32LE(rows, 0);
  body.writeUInt32LE(dim, 4);
  // Float32Array is host-endian; the file is little-endian on every host.
  for (let i = 0; i < vectors.length; i++) body.writeFloatLE(vectors[i]!, HEADER_BYTES + 4 * i);
  const digest = Buffer.from(sha256Hex(body), 'hex');
  writeFileSafely(file, Buffer.concat([body, digest]));
}

function readCache(file: string, rows: number, onRejected?: (file: string, reason: string) => void): { dim: number; vectors: Float32Array } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if (isFsError(error) && error.code === 'ENOENT') return null;
    onRejected?.(file, errorMessage(error));
    return null;
  }
  const reject = (reason: string) => {
    onRejected?.(file, reason);
    return null;
  };
  if (bytes.length < HEADER_BYTES + DIGEST_BYTES) return reject(`${bytes.length} bytes is shorter than its header`);
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  if (sha256Hex(body) !== bytes.subarray(body.length).toString('hex')) return reject('its checksum does not match its contents');
  const fileRows = body.readUInt32LE(0);
  const dim = body.readUInt32LE(4);
  if (fileRows !== rows) return reject(`it holds ${fileRows} rows for ${rows} prompts`);
  if (body.length !== HEADER_BYTES + 4 * rows * dim) return reject(`its size does not match ${rows} × ${dim}`);
  const vectors = new Float32Array(rows * dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = body.readFloatLE(HEADER_BYTES + 4 * i);
  return { dim, vectors };
}
