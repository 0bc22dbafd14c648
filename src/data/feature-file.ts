/**
 * The features Arrow file: one row per image, Arrow IPC *file* format (random access; pyarrow reads it with
 * `pyarrow.ipc.open_file`, `pyarrow.feather.read_table`).
 *
 * Columns (all nullable, types explicit — apache-arrow would otherwise pick Dictionary for strings):
 *   id            utf8
 *   label         int64        null when unlabelled
 *   source_path   utf8         the item's origin (a file path, or `file.idx#row`)
 *   source_sha256 utf8
 *   feature       fixed_size_list<item: float>[D]
 * Schema metadata `advood` holds JSON: format version, class names, provenance (encoder, weights, feature
 * kind, preprocessing, source) and the items that failed, so a cached file still reports them.
 */
import { parseGuardedJson } from '../core/json-guard.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  Field,
  FixedSizeList,
  Float32,
  Int64,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  type Data,
  type Table,
} from 'apache-arrow';
import { writeFileSafely } from '../core/safe-write.js';
import type { FeatureKind } from '../models/encoder.js';
import { UserError, errorMessage } from '../core/errors.js';
import type { FeatureSet } from './feature-set.js';
import type { Preprocess } from './image-source.js';

export const FEATURE_FILE_VERSION = 1;
const METADATA_KEY = 'advood';
/** Rows per record batch: bounded batches keep readers streaming-friendly. */
const ROWS_PER_BATCH = 1024;

export interface FeatureProvenance {
  readonly encoderId: string;
  readonly weightsSha256: string;
  readonly kind: FeatureKind;
  readonly preprocess: Preprocess;
  readonly sourceName: string;
  readonly sourceFingerprint: string;
}

/** An item that produced no feature row. */
export interface FeatureFailure {
  readonly id: string;
  readonly origin: string;
  readonly reason: string;
}

export interface FeatureFile extends FeatureSet {
  /** Row-aligned with ids. */
  readonly sourcePaths: readonly string[];
  readonly sourceSha256: readonly string[];
  readonly provenance: FeatureProvenance;
  readonly failures: readonly FeatureFailure[];
}

interface FileMetadata {
  version: number;
  classNames: string[];
  provenance: FeatureProvenance;
  failures: FeatureFailure[];
  /** featureContentSha256 of the file's rows and metadata, checked on every read. */
  contentSha256?: string;
}

/**
 * sha256 of everything a features file says: ids, labels, paths, source digests, class names, provenance,
 * failures and the vectors' float32 bytes. Computed from the decoded values, so it checks what a reader uses.
 */
export function featureContentSha256(file: FeatureFile): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      ids: file.ids,
      labels: Array.from(file.labels),
      sourcePaths: file.sourcePaths,
      sourceSha256: file.sourceSha256,
      classNames: file.classNames,
      provenance: file.provenance,
      failures: file.failures,
      dim: file.dim,
    }),
  );
  hash.update(new Uint8Array(file.vectors.buffer, file.vectors.byteOffset, file.vectors.byteLength));
  return hash.digest('hex');
}

function featureSchema(dim: number, metadata: FileMetadata): Schema {
  return new Schema(
    [
      new Field('id', new Utf8(), true),
      new Field('label', new Int64(), true),
      new Field('source_path', new Utf8(), true),
      new Field('source_sha256', new Utf8(), true),
      new Field('feature', new FixedSizeList(dim, new Field('item', new Float32(), true)), true),
    ],
    new Map([[METADATA_KEY, JSON.stringify(metadata)]]),
  );
}

function validityBitmap(valid: readonly boolean[]): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((ok, i) => {
    if (ok) bitmap[i >> 3] |= 1 << (i & 7);
  });
  return bitmap;
}

function recordBatch(schema: Schema, file: FeatureFile, start: number, end: number): RecordBatch {
  const length = end - start;
  const { dim } = file;
  const labels = file.labels.subarray(start, end);
  const labelValues = BigInt64Array.from(labels, (label) => BigInt(Math.max(label, 0)));
  const labelValid = Array.from(labels, (label) => label >= 0);
  const strings = (values: readonly string[]) => vectorFromArray(values.slice(start, end), new Utf8()).data[0];
  const featureType = schema.fields[4].type as FixedSizeList<Float32>;
  const children: Data[] = [
    strings(file.ids),
    makeData({
      type: new Int64(),
      length,
      data: labelValues,
      nullBitmap: validityBitmap(labelValid),
      nullCount: labelValid.filter((ok) => !ok).length,
    }),
    strings(file.sourcePaths),
    strings(file.sourceSha256),
    makeData({
      type: featureType,
      length,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: length * dim, data: file.vectors.slice(start * dim, end * dim) }),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** Writes atomically (temp file + rename), so a killed run never leaves a half file behind for the cache. */
export function writeFeatureFile(path: string, file: FeatureFile): void {
  const n = file.ids.length;
  for (const [name, column] of [['sourcePaths', file.sourcePaths], ['sourceSha256', file.sourceSha256]] as const) {
    if (column.length !== n) throw new RangeError(`writeFeatureFile: ${name} has ${column.length} rows, ids ${n}`);
  }
  if (file.labels.length !== n || file.vectors.length !== n * file.dim) {
    throw new RangeError(`writeFeatureFile: labels/vectors do not match ${n} rows of dim ${file.dim}`);
  }
  const schema = featureSchema(file.dim, {
    version: FEATURE_FILE_VERSION,
    classNames: [...file.classNames],
    provenance: file.provenance,
    failures: [...file.failures],
    contentSha256: featureContentSha256(file),
  });
  const writer = new RecordBatchFileWriter();
  writer.reset(undefined, schema);
  for (let start = 0; start < n; start += ROWS_PER_BATCH) writer.write(recordBatch(schema, file, start, Math.min(n, start + ROWS_PER_BATCH)));
  const bytes = writer.finish().toUint8Array(true);
  writeFileSafely(path, bytes);
}

function column(table: Table, name: string, path: string) {
  const vector = table.getChild(name);
  if (!vector) throw new UserError(`${path}: not an advood features file (no column '${name}')`);
  return vector;
}

export function readFeatureFile(path: string): FeatureFile {
  let table: Table;
  try {
    table = tableFromIPC(readFileSync(path));
  } catch (error) {
    throw new UserError(`${path}: not a readable Arrow features file (${errorMessage(error)})`);
  }
  const raw = table.schema.metadata.get(METADATA_KEY);
  if (raw === undefined) throw new UserError(`${path}: not an advood features file (no '${METADATA_KEY}' schema metadata)`);
  let metadata: FileMetadata;
  try {
    metadata = parseGuardedJson(raw) as FileMetadata;
  } catch (error) {
    throw new UserError(`${path}: unreadable '${METADATA_KEY}' schema metadata (${errorMessage(error)})`);
  }
  if (metadata.version !== FEATURE_FILE_VERSION) {
    throw new UserError(`${path}: features file version ${metadata.version}; this advood reads version ${FEATURE_FILE_VERSION}`);
  }
  const featureField = table.schema.fields.find((f) => f.name === 'feature');
  if (!featureField || !(featureField.type instanceof FixedSizeList)) {
    throw new UserError(`${path}: column 'feature' is not a fixed_size_list<float>`);
  }
  const dim = (featureField.type as FixedSizeList).listSize;
  const n = table.numRows;
  const strings = (name: string) => Array.from(column(table, name, path), (v) => String(v ?? ''));
  const labels = Int32Array.from(column(table, 'label', path), (v) => (v === null ? -1 : Number(v)));
  const vectors = new Float32Array(n * dim);
  let row = 0;
  for (const data of column(table, 'feature', path).data) {
    const child = data.children[0];
    const values = child.values as Float32Array;
    const first = (child.offset + data.offset * dim);
    vectors.set(values.subarray(first, first + data.length * dim), row * dim);
    row += data.length;
  }
  const file: FeatureFile = {
    ids: strings('id'),
    labels,
    classNames: metadata.classNames,
    dim,
    vectors,
    sourcePaths: strings('source_path'),
    sourceSha256: strings('source_sha256'),
    provenance: metadata.provenance,
    failures: metadata.failures,
  };
  if (typeof metadata.contentSha256 !== 'string') throw new UserError(`${path}: carries no content digest (written by an older advood, or not by advood)`);
  const actual = featureContentSha256(file);
  if (actual !== metadata.contentSha256) {
    throw new UserError(`${path}: content does not match its digest (${actual.slice(0, 12)}… ≠ recorded ${metadata.contentSha256.slice(0, 12)}…); the file was altered or corrupted`);
  }
  return file;
}
