/**
 * Every row of a release as text that holds each column's exact bytes: binary columns (PNG images) and float
 * vectors as base64 of their bytes, numbers by their float64 bits, so two releases' rows compare byte for byte
 * whatever the file layout (a merged release cuts its data files at part boundaries).
 */
import { openRelease } from '../../src/release/read/release-reader.js';

function exact(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('base64')}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`;
  if (typeof value === 'number') return `f64:${Buffer.from(new Float64Array([value]).buffer).toString('hex')}`;
  if (Array.isArray(value)) return value.map(exact);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exact(v)]));
  return value;
}

export async function releaseRowBytes(dir: string): Promise<string[]> {
  const rows: string[] = [];
  for await (const row of (await openRelease(dir)).rows()) rows.push(JSON.stringify(exact(row)));
  return rows;
}
