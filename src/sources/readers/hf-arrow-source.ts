/**
 * A dataset written by `datasets` `save_to_disk` as an image source: a Dataset folder (state.json,
 * dataset_info.json, data-XXXXX-of-NNNNN.arrow as Arrow IPC *streams*) or a DatasetDict folder
 * (dataset_dict.json `{"splits": [...]}` and one Dataset folder per split; datasets/dataset_dict.py).
 *
 * Streams are read forward only: opening reads each file once, one record batch at a time, keeping only the
 * label cells; loading reads batches again through a per-file cursor that only moves forward (asking for an
 * earlier batch reopens the file), so items asked for in source order read each file once more.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { type AsyncRecordBatchStreamReader, type RecordBatch, RecordBatchReader, type Schema } from 'apache-arrow';
import { UserError, errorMessage } from '../../core/errors.js';
import { parseGuardedJson } from '../../core/json-guard.js';
import type { DecodeOptions } from '../../data/decode-image.js';
import { type DatasetChoice, type DatasetColumns, chooseDatasetColumns, featuresFromSchemaMetadata } from './hf-dataset-columns.js';
import { type DatasetFile, assembleDatasetSource, chooseSplit } from './hf-dataset-source.js';
import type { ImageSource } from '../../data/image-source.js';
import { type ImageCell, imageCells } from './row-block-source.js';

const DATASET_DICT_FILE = 'dataset_dict.json';
const STATE_FILE = 'state.json';
const DATASET_INFO_FILE = 'dataset_info.json';

/** A save_to_disk folder: a DatasetDict, or a Dataset (state.json beside dataset_info.json). */
export function isHfArrowDir(dir: string): boolean {
  return existsSync(join(dir, DATASET_DICT_FILE)) || (existsSync(join(dir, STATE_FILE)) && existsSync(join(dir, DATASET_INFO_FILE)));
}

function readJsonObject(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: cannot be read as JSON (${errorMessage(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UserError(`${path}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** A name taken from the dataset's own JSON must be a plain name inside `dir`: a crafted file cannot point elsewhere. */
function childPath(dir: string, name: unknown, where: string): string {
  const root = resolve(dir);
  const path = typeof name === 'string' && name !== '' ? resolve(root, name) : '';
  if (!path.startsWith(root + sep) || path.slice(root.length + 1).includes(sep)) {
    throw new UserError(`${where}: ${JSON.stringify(name)} is not a plain name inside ${dir}; refusing to follow it`);
  }
  return path;
}

export async function openHfArrowDataset(dir: string, choice: DatasetChoice = {}, decode: DecodeOptions = {}): Promise<ImageSource> {
  if (existsSync(join(dir, DATASET_DICT_FILE))) {
    const dictPath = join(dir, DATASET_DICT_FILE);
    const splits = readJsonObject(dictPath).splits;
    if (!Array.isArray(splits) || splits.length === 0 || !splits.every((s) => typeof s === 'string')) {
      throw new UserError(`${dictPath}: "splits" is not a list of split names`);
    }
    const split = chooseSplit(splits as string[], choice, dir);
    return openDataset(childPath(dir, split, `${dictPath} splits`), split, basename(resolve(dir)), choice, decode);
  }
  return openDataset(dir, null, basename(resolve(dir)), choice, decode);
}

async function openDataset(dir: string, dictSplit: string | null, datasetName: string, choice: DatasetChoice, decode: DecodeOptions): Promise<ImageSource> {
  const statePath = join(dir, STATE_FILE);
  const state = readJsonObject(statePath);
  const recordedSplit = typeof state._split === 'string' ? state._split : null;
  const split = dictSplit ?? recordedSplit ?? 'train';
  if (dictSplit === null && choice.split !== undefined && choice.split !== split) {
    throw new UserError(`${dir}: a single Dataset of split '${split}', not a DatasetDict; no split '${choice.split}' (--split)`);
  }
  if (!Array.isArray(state._data_files) || state._data_files.length === 0) throw new UserError(`${statePath}: "_data_files" is not a list of files`);
  const paths = state._data_files.map((entry: unknown, i) => childPath(dir, (entry as { filename?: unknown } | null)?.filename, `${statePath} _data_files[${i}]`));
  paths.forEach((path, i) => {
    if (!existsSync(path)) throw new UserError(`${statePath}: _data_files[${i}] lists ${basename(path)}, which is not in ${dir}`);
  });
  const info = existsSync(join(dir, DATASET_INFO_FILE)) ? readJsonObject(join(dir, DATASET_INFO_FILE)) : {};
  const infoFeatures = typeof info.features === 'object' && info.features !== null ? (info.features as Record<string, Record<string, unknown>>) : null;

  let columns: DatasetColumns | null = null;
  const files: DatasetFile[] = [];
  for (const path of paths) {
    const blockLabels: unknown[][] = [];
    const reader = await openStream(path);
    try {
      for await (const batch of reader) {
        columns ??= chooseDatasetColumns(batch.schema, infoFeatures ?? featuresFromSchemaMetadata(batch.schema.metadata, path), choice, dir);
        checkColumns(batch.schema, columns, path);
        const labels = columns.label === null ? null : batch.getChild(columns.label);
        blockLabels.push(Array.from({ length: batch.numRows }, (_, row) => (labels ? labels.get(row) : null)));
      }
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`${path}: cannot be read as an Arrow IPC stream (${errorMessage(error)})`);
    }
    files.push({ path, blockLabels });
  }
  if (columns === null) throw new UserError(`${dir}: its Arrow files hold no rows`);
  const chosen = columns;
  const cursors = paths.map((path) => new ForwardBatchCursor(path));
  return assembleDatasetSource({
    kind: 'hf-arrow',
    name: dictSplit === null ? datasetName : `${datasetName}-${split}`,
    location: dir,
    split,
    columns: chosen,
    files,
    readImageBlock: (file, block) => cursors[file].imageCells(block, chosen.image),
    decode,
  });
}

/** Every shard must have the columns chosen from the first. */
function checkColumns(schema: Schema, columns: DatasetColumns, path: string): void {
  for (const name of [columns.image, columns.label]) {
    if (name !== null && !schema.fields.some((field) => field.name === name)) throw new UserError(`${path}: has no column '${name}' (the first shard has)`);
  }
}

async function openStream(path: string): Promise<AsyncRecordBatchStreamReader> {
  try {
    const reader = await RecordBatchReader.from(createReadStream(path, { highWaterMark: 1 << 20 }));
    return reader as AsyncRecordBatchStreamReader;
  } catch (error) {
    throw new UserError(`${path}: cannot be read as an Arrow IPC stream (${errorMessage(error)})`);
  }
}

/** Record batches of one stream file by index, moving forward; moves are serialised (loads run concurrently). */
class ForwardBatchCursor {
  private iterator: AsyncIterator<RecordBatch> | null = null;
  private position = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  imageCells(block: number, column: string): Promise<(ImageCell | null)[]> {
    const next = this.queue.then(() => this.batch(block)).then((batch) => imageCells(batch.getChild(column)));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async batch(index: number): Promise<RecordBatch> {
    if (this.iterator === null || index < this.position) {
      await this.iterator?.return?.();
      this.iterator = (await openStream(this.path))[Symbol.asyncIterator]();
      this.position = 0;
    }
    for (;;) {
      const step = await this.iterator.next();
      if (step.done) throw new UserError(`${this.path}: record batch ${index} is gone (the file changed since it was opened)`);
      if (this.position++ === index) return step.value;
    }
  }
}
