/**
 * Fixed-size list columns (the `feature` vectors, HF `Sequence(length=N)`) become variable lists before Parquet:
 * parquet-wasm 0.8 (arrow-rs) writes a null fixed-size list that pyarrow 25 cannot read back ("Expected all
 * lists to be of size=4 but index 2 had size=0", measured on an export of a release with null features), so
 * `datasets.load_dataset` failed on the whole file. A nullable list column reads everywhere, and the
 * `huggingface` metadata still declares the fixed length, which datasets casts the column to.
 */
import { DataType, Field, List, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC, type Data } from 'apache-arrow';

function asList(data: Data, listSize: number, itemField: Field): Data {
  const offsets = Int32Array.from({ length: data.length + 1 }, (_, k) => (data.offset + k) * listSize);
  return makeData({ type: new List(itemField), length: data.length, nullCount: data.nullCount, nullBitmap: data.nullBitmap, valueOffsets: offsets, child: data.children[0]! });
}

/** The IPC stream with every top-level fixed-size list column rewritten as a list; unchanged when it has none. */
export function fixedSizeListsAsLists(ipcStream: Uint8Array): Uint8Array {
  const table = tableFromIPC(ipcStream);
  const fixed = table.schema.fields.map((f) => DataType.isFixedSizeList(f.type));
  if (!fixed.some(Boolean)) return ipcStream;
  const fields = table.schema.fields.map((f, i) => (fixed[i] ? new Field(f.name, new List(f.type.children[0]!), f.nullable, f.metadata) : f));
  const schema = new Schema(fields, table.schema.metadata);
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.map((child, i) => (fixed[i] ? asList(child, table.schema.fields[i]!.type.listSize as number, table.schema.fields[i]!.type.children[0]!) : child));
    return new RecordBatch(schema, makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }));
  });
  return tableToIPC(new Table(schema, batches), 'stream');
}
