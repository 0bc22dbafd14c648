/**
 * A safetensors reader that trusts nothing in the file.
 *
 * Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data section; offsets
 * are relative to the data section. We parse the header with positional reads, check every entry against
 * the file size before allocating anything, and read each tensor on demand, so a 10 GB checkpoint costs only
 * the tensors a tower asks for. Sharded checkpoints (`*.safetensors.index.json`) are read through the same
 * interface.
 */
import { JsonKeyError, parseGuardedJson } from '../core/json-guard.js';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError, errorMessage } from '../core/errors.js';

/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes per element of every dtype the format defines; only the float ones can be converted. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};
const CONVERTIBLE = new Set(['F32', 'F16', 'BF16']);

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range of the tensor in `file`. */
  begin: number;
  end: number;
  file: string;
}

/** Named tensors from one file or several shards. */
export interface TensorSource {
  /** The file or index the user pointed at, for messages. */
  readonly origin: string;
  readonly files: readonly string[];
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** Reads one tensor and converts it to float32. Only its own bytes are read. */
  readFloat32(name: string): Float32Array;
  close(): void;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    // readSync reads at most 2 GiB per call; loop until the range is complete.
    const n = readSync(fd, target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (n === 0) throw new UserError(`${file}: unexpected end of file at byte ${position + done} (truncated?)`);
    done += n;
  }
}

/** f16 → f32 by bit manipulation (IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function convertToFloat32(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Float32Array(count);
  if (dtype === 'BF16') {
    // bf16 is the top half of an f32: shift it back into place.
    const asU32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) asU32[i] = u16[i] << 16;
    return out;
  }
  if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(u16[i]);
    return out;
  }
  throw new Error(`cannot convert dtype ${dtype}`);
}

/** One .safetensors file, header parsed and validated, descriptor held open for positional reads. */
export class SafetensorsFile implements TensorSource {
  readonly origin: string;
  readonly files: readonly string[];
  readonly metadata: Record<string, string>;
  private readonly entries = new Map<string, TensorInfo>();
  private fd: number | null;

  constructor(readonly path: string) {
    this.origin = path;
    this.files = [path];
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new UserError(`${path}: cannot open checkpoint (${errorMessage(error)})`);
    }
    this.fd = fd;
    try {
      this.metadata = this.parseHeader(fd);
    } catch (error) {
      closeSync(fd);
      this.fd = null;
      throw error;
    }
  }

  private parseHeader(fd: number): Record<string, string> {
    const path = this.path;
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) throw new UserError(`${path}: not a safetensors file (${fileSize} bytes, shorter than the 8-byte header length)`);
    const lengthBytes = new Uint8Array(8);
    readFully(fd, lengthBytes, 0, path);
    const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    if (headerLength > MAX_HEADER_BYTES) {
      throw new UserError(`${path}: header claims ${headerLength} bytes, above the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`);
    }
    if (8 + headerLength > fileSize) {
      throw new UserError(`${path}: header claims ${headerLength} bytes but the file has only ${fileSize} (truncated or not safetensors)`);
    }
    const headerBytes = new Uint8Array(headerLength);
    readFully(fd, headerBytes, 8, path);
    let header: unknown;
    try {
      header = parseGuardedJson(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (error) {
      // A key twice in the header is a tensor named twice: JSON.parse would keep the last one silently.
      if (error instanceof JsonKeyError && error.repeated && error.at === '$') {
        throw new UserError(`${path}: header names tensor ${JSON.stringify(error.key)} twice; refusing an ambiguous checkpoint`);
      }
      if (error instanceof JsonKeyError) throw new UserError(`${path}: header ${error.message}`);
      throw new UserError(`${path}: header is not valid UTF-8 JSON (${errorMessage(error)})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new UserError(`${path}: header must be a JSON object`);
    }
    const dataStart = 8 + headerLength;
    const dataSize = fileSize - dataStart;
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      this.entries.set(name, this.checkEntry(name, raw, dataStart, dataSize));
    }
    // Tensors may not share bytes: a lying header could otherwise alias one blob under many names.
    const sorted = [...this.entries.values()].sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].begin < sorted[i - 1].end) {
        throw new UserError(`${path}: tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap in the data section`);
      }
    }
    return metadata;
  }

  private checkEntry(name: string, raw: unknown, dataStart: number, dataSize: number): TensorInfo {
    const where = `${this.path}: tensor '${name}'`;
    if (typeof raw !== 'object' || raw === null) throw new UserError(`${where}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new UserError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new UserError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new UserError(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    const count = numel(shape as number[]);
    const expected = count * DTYPE_BYTES[dtype];
    if (!Number.isSafeInteger(expected)) throw new UserError(`${where}: shape ${JSON.stringify(shape)} is absurdly large`);
    if (end < begin) throw new UserError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end - begin !== expected) {
      throw new UserError(`${where}: ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    if (end > dataSize) {
      throw new UserError(`${where}: data_offsets end at ${end}, past the ${dataSize}-byte data section (truncated file or lying header)`);
    }
    return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end, file: this.path };
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const entry = this.entries.get(name);
    if (!entry) throw new UserError(`${this.path}: no tensor '${name}'`);
    return entry;
  }

  readFloat32(name: string): Float32Array {
    const entry = this.info(name);
    if (!CONVERTIBLE.has(entry.dtype)) {
      throw new UserError(`${this.path}: tensor '${name}' has dtype ${entry.dtype}; only F32, F16 and BF16 weights are supported`);
    }
    if (this.fd === null) throw new Error(`${this.path}: read after close`);
    // Sized by the validated header, so bounded by the file size.
    const bytes = new Uint8Array(entry.end - entry.begin);
    readFully(this.fd, bytes, entry.begin, `${this.path} (tensor '${name}')`);
    const values = convertToFloat32(entry.dtype, bytes, numel(entry.shape));
    // A NaN or ±Inf weight turns every feature it touches non-finite, silently: refuse it here, by name.
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const count = values.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
      throw new UserError(`${this.path}: tensor '${name}' holds ${count} non-finite value(s) (first: ${values[bad]} at flat index ${bad}); refusing corrupt weights`);
    }
    return values;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A checkpoint split over shards, described by `*.safetensors.index.json` (HF transformers' layout). */
export class ShardedSafetensors implements TensorSource {
  readonly files: readonly string[];
  private readonly shards = new Map<string, SafetensorsFile>();
  private readonly owner = new Map<string, SafetensorsFile>();

  constructor(readonly origin: string) {
    let index: unknown;
    try {
      index = parseGuardedJson(readFileSync(origin, 'utf8'));
    } catch (error) {
      throw new UserError(`${origin}: not a readable safetensors index (${errorMessage(error)})`);
    }
    const weightMap = (index as { weight_map?: unknown })?.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new UserError(`${origin}: missing object 'weight_map'`);
    const dir = dirname(origin);
    try {
      for (const [name, shardName] of Object.entries(weightMap as Record<string, unknown>)) {
        // Shard names are plain file names next to the index; anything else could point outside the checkpoint.
        if (typeof shardName !== 'string' || shardName !== basename(shardName) || shardName.startsWith('.')) {
          throw new UserError(`${origin}: tensor '${name}' maps to an invalid shard name ${JSON.stringify(shardName)}`);
        }
        let shard = this.shards.get(shardName);
        if (!shard) {
          const shardPath = join(dir, shardName);
          if (!existsSync(shardPath)) throw new UserError(`${origin}: shard ${shardName} (for tensor '${name}') is missing`);
          shard = new SafetensorsFile(shardPath);
          this.shards.set(shardName, shard);
        }
        if (!shard.has(name)) throw new UserError(`${origin}: tensor '${name}' is listed in ${shardName} but that shard does not contain it`);
        this.owner.set(name, shard);
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.files = [...this.shards.values()].map((s) => s.path);
  }

  names(): string[] {
    return [...this.owner.keys()];
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    const shard = this.owner.get(name);
    if (!shard) throw new UserError(`${this.origin}: no tensor '${name}'`);
    return shard.info(name);
  }

  readFloat32(name: string): Float32Array {
    const shard = this.owner.get(name);
    if (!shard) throw new UserError(`${this.origin}: no tensor '${name}'`);
    return shard.readFloat32(name);
  }

  close(): void {
    for (const shard of this.shards.values()) shard.close();
  }
}

/** Opens a `.safetensors` file or a `.safetensors.index.json` shard index. */
export function openSafetensors(path: string): TensorSource {
  return path.endsWith('.index.json') ? new ShardedSafetensors(path) : new SafetensorsFile(path);
}
