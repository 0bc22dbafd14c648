/**
 * ReleaseRow[] ⇄ Arrow RecordBatch, column by column as release-columns.ts describes. Types are always
 * explicit: apache-arrow would otherwise infer Dictionary<Utf8> for strings and Float64 for int64.
 */
import { type DataType, type Vector, makeBuilder, makeData, RecordBatch, Struct, type Schema } from 'apache-arrow';
import { UserError } from '../core/errors.js';
import type { ReleaseColumn } from './release-columns.js';
import type { ReleaseRow } from './release-row.js';

export function encodeReleaseBatch(rows: readonly ReleaseRow[], columns: readonly ReleaseColumn[], schema: Schema): RecordBatch {
  const children = columns.map((column, c) => {
    const type = schema.fields[c]!.type as DataType;
    const builder = makeBuilder({ type, nullValues: [null, undefined] });
    for (const row of rows) builder.append(encodeValue(row, column) as never);
    return (builder.finish().toVector() as Vector).data[0]!;
  });
  const data = makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children });
  // The same Schema object for every batch: the stream writer closes itself when the schema changes.
  return new RecordBatch(schema, data);
}

function encodeValue(row: ReleaseRow, column: ReleaseColumn): unknown {
  const value = row[column.key] as unknown;
  const bad = (expected: string) =>
    new UserError(`release row ${JSON.stringify(row.id)}: ${column.key} must be ${expected}, got ${describe(value)}`);
  if (value === null || value === undefined) return null;
  switch (column.codec) {
    case 'string':
      if (typeof value !== 'string') throw bad('a string');
      return value;
    case 'image':
      if (!(value instanceof Uint8Array)) throw bad('PNG bytes (Uint8Array) or null');
      return { bytes: value, path: null };
    case 'int64':
    case 'int32':
      if (!Number.isSafeInteger(value)) throw bad('an integer');
      return column.codec === 'int64' ? BigInt(value as number) : value;
    case 'float64':
      if (typeof value !== 'number') throw bad('a number');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw bad('a boolean');
      return value;
    case 'float32-vector': {
      const length = column.feature._type === 'Sequence' ? column.feature.length : -1;
      if (!(value instanceof Float32Array) || value.length !== length) throw bad(`a Float32Array of length ${length}`);
      return value;
    }
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array || value instanceof Float32Array) return `${value.constructor.name}(${value.length})`;
  return typeof value === 'object' ? String(value) : `${typeof value} ${String(value)}`;
}

/** Rows of one batch; byte and vector values are copies, so rows outlive the batch without pinning it. */
export function decodeReleaseBatch(batch: RecordBatch, columns: readonly ReleaseColumn[]): ReleaseRow[] {
  const vectors = columns.map((column) => {
    const vector = batch.getChild(column.name);
    if (!vector) throw new UserError(`release batch has no column "${column.name}"`);
    return vector;
  });
  const rows: ReleaseRow[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const row: Record<string, unknown> = { cleanImage: null, feature: null };
    columns.forEach((column, c) => {
      row[column.key] = decodeValue(vectors[c]!.get(i), column);
    });
    rows.push(row as unknown as ReleaseRow);
  }
  return rows;
}

function decodeValue(value: unknown, column: ReleaseColumn): unknown {
  if (value === null || value === undefined) return null;
  switch (column.codec) {
    case 'image': {
      const bytes = (value as { bytes: Uint8Array | null }).bytes;
      return bytes === null ? null : new Uint8Array(bytes);
    }
    case 'int64':
      return Number(value as bigint);
    case 'float32-vector':
      return new Float32Array((value as Vector).toArray() as Float32Array);
    default:
      return value;
  }
}
