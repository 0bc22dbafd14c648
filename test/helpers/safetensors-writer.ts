/**
 * Writes safetensors files for tests and fixture scripts (the reader under test lives in src/models).
 */
import { closeSync, openSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';

export type WritableDtype = 'F32' | 'F16' | 'BF16';

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  dtype?: WritableDtype;
}

const BYTES: Record<WritableDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** float32 → IEEE binary16 bits, round to nearest (enough for test values; no NaN payloads). */
export function floatToHalfBits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const m = (mantissa | 0x800000) >> (1 - exponent);
    return sign | ((m + 0x1000) >> 13);
  }
  return sign | ((exponent << 10) + ((mantissa + 0x1000) >> 13));
}

function encodeData(t: TensorToWrite): Uint8Array {
  const dtype = t.dtype ?? 'F32';
  if (dtype === 'F32') return new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  const out = new Uint16Array(t.data.length);
  const u32 = new Uint32Array(Float32Array.from(t.data).buffer);
  for (let i = 0; i < t.data.length; i++) out[i] = dtype === 'BF16' ? u32[i] >>> 16 : floatToHalfBits(t.data[i]);
  return new Uint8Array(out.buffer);
}

export function safetensorsHeader(entries: Array<{ name: string; shape: number[]; dtype?: WritableDtype }>, metadata?: Record<string, string>) {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of entries) {
    const dtype = e.dtype ?? 'F32';
    const bytes = e.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[e.name] = { dtype, shape: e.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad so the data section starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(jsonBytes.length));
  return { headerBytes: Buffer.concat([prefix, jsonBytes]), dataBytes: offset };
}

export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Buffer {
  const { headerBytes } = safetensorsHeader(tensors, metadata);
  return Buffer.concat([headerBytes, ...tensors.map(encodeData)]);
}

export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

/**
 * Writes only the header and extends the file to its full size as a sparse hole: a checkpoint whose
 * names and shapes are real but whose data section costs no disk and must never be read.
 */
export function writeSafetensorsHeaderOnly(path: string, entries: Array<{ name: string; shape: number[]; dtype?: WritableDtype }>): number {
  const { headerBytes, dataBytes } = safetensorsHeader(entries);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, headerBytes);
    ftruncateSync(fd, headerBytes.length + dataBytes);
  } finally {
    closeSync(fd);
  }
  return headerBytes.length + dataBytes;
}
