/**
 * Hugging Face datasets on disk, written in TypeScript so the tests that read them need no Python: a
 * `save_to_disk` Dataset folder (Arrow IPC stream shards, state.json, dataset_info.json), a DatasetDict, and
 * Parquet files with the `huggingface` schema metadata. Column types follow datasets' Features.arrow_schema
 * (src/release/hf-features.ts); any other column is given as an explicit Arrow type.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DataType, Field, RecordBatch, RecordBatchStreamWriter, Schema, Struct, type Vector, makeBuilder, makeData, tableToIPC, Table as ArrowTable } from 'apache-arrow';
import { Table, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/node';
import { hfFeatureToArrowType, type HfFeature } from '../../src/release/hf-features.js';

/** A column: its feature (written into the metadata; null for a column without one) and Arrow type. */
export interface FixtureColumn {
  readonly name: string;
  readonly feature: HfFeature | Record<string, unknown> | null;
  readonly type?: DataType;
  readonly values: readonly unknown[];
}

export const imageColumn = (name: string, pngs: readonly (Uint8Array | null)[]): FixtureColumn => ({
  name,
  feature: { _type: 'Image' },
  values: pngs.map((bytes) => (bytes === null ? null : { bytes, path: null })),
});

export const classLabelColumn = (name: string, names: readonly string[], labels: readonly number[]): FixtureColumn => ({
  name,
  feature: { names: [...names], _type: 'ClassLabel' },
  values: labels.map((label) => BigInt(label)),
});

function featuresOf(columns: readonly FixtureColumn[]): Record<string, unknown> {
  return Object.fromEntries(columns.filter((c) => c.feature !== null).map((c) => [c.name, c.feature]));
}

function schemaOf(columns: readonly FixtureColumn[], withMetadata: boolean): Schema {
  const fields = columns.map((c) => new Field(c.name, c.type ?? hfFeatureToArrowType(c.feature as HfFeature), true));
  const metadata = withMetadata ? new Map([['huggingface', JSON.stringify({ info: { features: featuresOf(columns) } })]]) : new Map<string, string>();
  return new Schema(fields, metadata);
}

function batchesOf(columns: readonly FixtureColumn[], schema: Schema, batchRows: number): RecordBatch[] {
  const rows = columns[0].values.length;
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const children = columns.map((column, c) => {
      const builder = makeBuilder({ type: schema.fields[c].type as DataType, nullValues: [null, undefined] });
      for (let row = start; row < end; row++) builder.append(column.values[row] as never);
      return (builder.finish().toVector() as Vector).data[0];
    });
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: end - start, nullCount: 0, children })));
  }
  return batches;
}

/** A save_to_disk Dataset folder: `shards` stream files of record batches of `batchRows` rows. */
export function writeSaveToDisk(dir: string, columns: readonly FixtureColumn[], options: { batchRows?: number; shards?: number; split?: string | null } = {}): void {
  mkdirSync(dir, { recursive: true });
  const schema = schemaOf(columns, true);
  const batches = batchesOf(columns, schema, options.batchRows ?? 4);
  const shards = options.shards ?? 1;
  const names: string[] = [];
  for (let s = 0; s < shards; s++) {
    const name = `data-${String(s).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.arrow`;
    const mine = batches.filter((_, b) => Math.floor((b * shards) / batches.length) === s);
    writeFileSync(join(dir, name), RecordBatchStreamWriter.writeAll(mine).toUint8Array(true));
    names.push(name);
  }
  const state = { _data_files: names.map((filename) => ({ filename })), _fingerprint: 'fixture', _format_columns: null, _format_kwargs: {}, _format_type: null, _output_all_columns: false, _split: options.split ?? null };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  writeFileSync(join(dir, 'dataset_info.json'), JSON.stringify({ citation: '', description: '', features: featuresOf(columns), homepage: '', license: '' }, null, 2));
}

export function writeDatasetDict(dir: string, splits: Record<string, readonly FixtureColumn[]>, options: { batchRows?: number } = {}): void {
  mkdirSync(dir, { recursive: true });
  for (const [split, columns] of Object.entries(splits)) writeSaveToDisk(join(dir, split), columns, { ...options, split });
  writeFileSync(join(dir, 'dataset_dict.json'), JSON.stringify({ splits: Object.keys(splits) }));
}

/** One Parquet file, row groups of `rowGroupRows`; `metadata: false` leaves out the `huggingface` key. */
export function writeParquetFile(path: string, columns: readonly FixtureColumn[], options: { rowGroupRows?: number; metadata?: boolean } = {}): void {
  const schema = schemaOf(columns, options.metadata ?? true);
  const ipc = tableToIPC(new ArrowTable(schema, batchesOf(columns, schema, columns[0].values.length)), 'stream');
  let properties = new WriterPropertiesBuilder().setMaxRowGroupSize(options.rowGroupRows ?? 4);
  if (options.metadata ?? true) properties = properties.setKeyValueMetadata(new Map([['huggingface', schema.metadata.get('huggingface')!]]));
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, writeParquet(Table.fromIPCStream(ipc), properties.build()));
}
