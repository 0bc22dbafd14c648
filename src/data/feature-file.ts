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
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  AsyncByteQueue,
  Field,
  FixedSizeList,
  Float32,
  Int64,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { writeAll, writeFileSafelyBy } from '../core/safe-write.js';
import type { FeatureKind } from '../models/encoder.js';
import { UserError, errorMessage } from '../core/errors.js';
import type { FeatureSet } from './feature-set.js';
import type { Preprocess } from './image-source.js';

export const FEATURE_FILE_VERSION = 1;
const METADATA_KEY = 'advood';
/** Rows per record batch: bounded batches keep readers streaming-friendly. */
const ROWS_PER_BATCH = 1024;
/**
 * Bytes read from disk at a time. A features file is read and written through buffers of this size, so the
 * process holds its vectors once (1.28 M × 1664 float32 is 8.5 GB) and not the file's bytes beside them.
 */
const IO_CHUNK_BYTES = 16 * 1024 * 1024;
/** The IPC file format's leading magic "ARROW1" padded to 8 bytes; after it come the stream-format messages. */
const FILE_MAGIC_BYTES = 8;
/** Items of a column serialised for the content digest at a time. */
const JSON_SLICE_ITEMS = 16384;
/** Bytes of the vectors given to sha256 at a time. */
const HASH_SLICE_BYTES = 1 << 30;
/** Footer length (int32) and the trailing magic "ARROW1". */
const FILE_TAIL_BYTES = 10;
/** The stream format's end-of-stream marker: continuation 0xFFFFFFFF and a zero length. */
const END_OF_STREAM_BYTES = 8;

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
  // The bytes of JSON.stringify({ ids, labels, sourcePaths, sourceSha256, classNames, provenance, failures, dim }),
  // hashed piece by piece: as one string, 1.28 M rows of ids, paths and digests approach V8's string limit (2²⁹ − 24).
  hash.update('{"ids":');
  updateJsonArray(hash, file.ids);
  hash.update(',"labels":');
  updateJsonArray(hash, Array.from(file.labels));
  hash.update(',"sourcePaths":');
  updateJsonArray(hash, file.sourcePaths);
  hash.update(',"sourceSha256":');
  updateJsonArray(hash, file.sourceSha256);
  hash.update(`,"classNames":${JSON.stringify(file.classNames)},"provenance":${JSON.stringify(file.provenance)},"failures":${JSON.stringify(file.failures)},"dim":${JSON.stringify(file.dim)}}`);
  // In slices: one Uint8Array view of an ImageNet-size bank (8.5 GB) exceeds V8's typed-array length limit (2³² − 1
  // on Node 20: "Invalid typed array length: 8527447552"). The digest of the concatenated updates is the same.
  const { buffer, byteOffset, byteLength } = file.vectors;
  for (let offset = 0; offset < byteLength; offset += HASH_SLICE_BYTES) {
    hash.update(new Uint8Array(buffer, byteOffset + offset, Math.min(HASH_SLICE_BYTES, byteLength - offset)));
  }
  return hash.digest('hex');
}

/** Hashes JSON.stringify(values) in slices of JSON_SLICE_ITEMS items (the same bytes). */
function updateJsonArray(hash: Hash, values: readonly unknown[]): void {
  hash.update('[');
  for (let start = 0; start < values.length; start += JSON_SLICE_ITEMS) {
    const slice = JSON.stringify(values.slice(start, start + JSON_SLICE_ITEMS));
    hash.update(start === 0 ? slice.slice(1, -1) : `,${slice.slice(1, -1)}`);
  }
  hash.update(']');
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
      child: makeData({ type: new Float32(), length: length * dim, data: file.vectors.subarray(start * dim, end * dim) }),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** The writer's byte sink, written straight to a file descriptor as the writer produces each message. */
class FileDescriptorSink extends AsyncByteQueue {
  constructor(private readonly fd: number) {
    super();
  }

  override write(value: Uint8Array): void {
    writeAll(this.fd, value);
  }
}

/**
 * Writes atomically (temp file + rename), so a killed run never leaves a half file behind for the cache; each
 * record batch goes to disk as it is framed, so writing holds no second copy of the vectors.
 */
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
  writeFileSafelyBy(path, (fd) => {
    const writer = new RecordBatchFileWriter();
    writer.reset(new FileDescriptorSink(fd), schema);
    for (let start = 0; start < n; start += ROWS_PER_BATCH) writer.write(recordBatch(schema, file, start, Math.min(n, start + ROWS_PER_BATCH)));
    writer.finish();
  });
}

/**
 * The file's record batches as an IPC stream the sync stream reader takes, read IO_CHUNK_BYTES at a time. The
 * file format is magic, stream-format messages ending in an end-of-stream marker, footer, footer length, magic
 * (Arrow columnar format, "IPC File Format"); apache-arrow's file writer leaves the schema message out of the
 * stream part (the footer holds it), so the schema is read from the footer and framed as the stream's first message.
 */
function* recordBatchStream(fd: number, size: number): Generator<Uint8Array> {
  const footerLength = readAt(fd, size - FILE_TAIL_BYTES, 4).readInt32LE(0);
  const streamEnd = size - FILE_TAIL_BYTES - footerLength;
  if (footerLength <= 0 || streamEnd < FILE_MAGIC_BYTES) throw new Error(`footer length ${footerLength} does not fit a file of ${size} bytes`);
  // A small valid file (magic + footer) lets apache-arrow decode the footer's schema without the batches.
  const footerOnly = Buffer.concat([readAt(fd, 0, FILE_MAGIC_BYTES), readAt(fd, streamEnd, size - streamEnd)]);
  const schemaReader = RecordBatchReader.from(footerOnly);
  schemaReader.open();
  const framing = new RecordBatchStreamWriter();
  framing.reset(undefined, schemaReader.schema);
  framing.finish();
  const schemaAndEnd = framing.toUint8Array(true);
  yield schemaAndEnd.subarray(0, schemaAndEnd.length - END_OF_STREAM_BYTES);
  for (let position = FILE_MAGIC_BYTES; position < streamEnd; ) {
    const chunk = readAt(fd, position, Math.min(IO_CHUNK_BYTES, streamEnd - position));
    if (chunk.length === 0) return;
    position += chunk.length;
    yield chunk;
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const read = readSync(fd, out, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return out.subarray(0, filled);
}

function hasMagic(fd: number, size: number): boolean {
  return size >= FILE_MAGIC_BYTES + FILE_TAIL_BYTES && readAt(fd, 0, 6).toString('latin1') === 'ARROW1' && readAt(fd, size - 6, 6).toString('latin1') === 'ARROW1';
}

/** Columns of the features file, gathered record batch by record batch (the vectors straight into one array). */
interface Gathered {
  metadata: string | undefined;
  dim: number;
  ids: string[];
  labels: number[];
  sourcePaths: string[];
  sourceSha256: string[];
  vectors: Float32Array;
  rows: number;
}

function gatherColumns(fd: number, path: string): Gathered {
  const size = fstatSync(fd).size;
  if (!hasMagic(fd, size)) throw new Error('no Arrow file magic at its start and end');
  const reader = RecordBatchReader.from(recordBatchStream(fd, size));
  reader.open();
  const schema = reader.schema;
  const featureField = schema.fields.find((f) => f.name === 'feature');
  if (!featureField || !(featureField.type instanceof FixedSizeList)) {
    throw new UserError(`${path}: column 'feature' is not a fixed_size_list<float>`);
  }
  for (const name of ['id', 'label', 'source_path', 'source_sha256']) {
    if (!schema.fields.some((f) => f.name === name)) throw new UserError(`${path}: not an advood features file (no column '${name}')`);
  }
  const dim = (featureField.type as FixedSizeList).listSize;
  // Every row takes at least dim float32 values of the file, so this bounds the rows; the pages past the last row
  // are never written, so they are never resident.
  const capacity = Math.floor(size / (4 * Math.max(dim, 1)));
  const vectors = new Float32Array(capacity * dim);
  const out: Gathered = { metadata: schema.metadata.get(METADATA_KEY), dim, ids: [], labels: [], sourcePaths: [], sourceSha256: [], vectors, rows: 0 };
  const strings = (batch: RecordBatch, name: string, into: string[]) => {
    for (const v of batch.getChild(name)!) into.push(String(v ?? ''));
  };
  for (const batch of reader) {
    strings(batch, 'id', out.ids);
    strings(batch, 'source_path', out.sourcePaths);
    strings(batch, 'source_sha256', out.sourceSha256);
    for (const v of batch.getChild('label')!) out.labels.push(v === null ? -1 : Number(v));
    let row = out.rows;
    for (const data of batch.getChild('feature')!.data) {
      const child = data.children[0]!;
      const first = child.offset + data.offset * dim;
      if ((row + data.length) * dim > vectors.length) throw new Error(`more feature rows than the file's size allows`);
      vectors.set((child.values as Float32Array).subarray(first, first + data.length * dim), row * dim);
      row += data.length;
    }
    out.rows += batch.numRows;
  }
  out.vectors = vectors.subarray(0, out.rows * dim);
  return out;
}

export function readFeatureFile(path: string): FeatureFile {
  let gathered: Gathered;
  try {
    const fd = openSync(path, 'r');
    try {
      gathered = gatherColumns(fd, path);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path}: not a readable Arrow features file (${errorMessage(error)})`);
  }
  const raw = gathered.metadata;
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
  const { dim, vectors } = gathered;
  const labels = Int32Array.from(gathered.labels);
  const file: FeatureFile = {
    ids: gathered.ids,
    labels,
    classNames: metadata.classNames,
    dim,
    vectors,
    sourcePaths: gathered.sourcePaths,
    sourceSha256: gathered.sourceSha256,
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
