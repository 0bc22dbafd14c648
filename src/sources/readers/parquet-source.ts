/**
 * Parquet datasets as an image source: one `.parquet` file, or a folder of them laid out as on the Hugging Face
 * Hub. A folder's split files come from its README.md `configs` block (`data_files: - split: X, path: GLOB`),
 * else from the file names the Hub recognises (`data/train-00000-of-00002.parquet`, `test.parquet`,
 * `train/….parquet`); files that name no split are `train`, as `datasets` does.
 *
 * Files are opened as Blobs (fs.openAsBlob) so parquet-wasm reads the footer and then one row group's image
 * column at a time; listing reads only the label column. parquet-wasm runs on a worker thread
 * (./parquet-decoder.ts), so a file that makes it trap is one line naming the file.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { type Schema, tableFromIPC } from 'apache-arrow';
import { UserError, errorMessage } from '../../core/errors.js';
import type { DecodeOptions } from '../../data/decode-image.js';
import { type DatasetChoice, type DatasetColumns, chooseDatasetColumns, featuresFromSchemaMetadata } from './hf-dataset-columns.js';
import { type DatasetFile, assembleDatasetSource, chooseSplit } from './hf-dataset-source.js';
import { ParquetDecoder } from './parquet-decoder.js';
import type { ImageSource } from '../../data/image-source.js';
import { imageCells } from './row-block-source.js';

const PARQUET_EXTENSION = '.parquet';
const README_FILE = 'README.md';
/** Split names the Hub's data-file patterns know (huggingface_hub/datasets data_files.py, KEYWORDS_IN_*). */
const KNOWN_SPLITS = ['train', 'training', 'test', 'testing', 'eval', 'evaluation', 'validation', 'valid', 'val', 'dev'];
const CANONICAL_SPLIT: Readonly<Record<string, string>> = { training: 'train', testing: 'test', evaluation: 'eval', valid: 'validation', val: 'validation', dev: 'validation' };

export function isParquetFile(path: string): boolean {
  return path.toLowerCase().endsWith(PARQUET_EXTENSION);
}

function listParquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).filter((n) => !n.startsWith('.')).sort()) {
    const path = join(dir, name);
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      continue;
    }
    if (isDirectory) out.push(...listParquetFiles(path));
    else if (isParquetFile(name)) out.push(path);
  }
  return out;
}

/**
 * The folder the Hub's Parquet conversion writes (refs/convert/parquet: `default/<split>/0000.parquet`, one folder
 * per config); a snapshot of that branch is read through its default config (pick another with its folder in
 * the URI: `hf://datasets/OWNER/NAME@refs/convert/parquet/CONFIG`).
 */
const CONVERTED_CONFIG = 'default';

function holdsParquet(dir: string): boolean {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true && listParquetFiles(dir).length > 0;
}

/**
 * A folder laid out as a Parquet dataset: Parquet files at its top, under `data/`, under a folder named after a
 * split (`train/…`, a converted config's own folder) or the Hub's converted `default/`, or a README.md whose
 * `configs` name data files. Only these places are looked at, so telling a 50k-image ImageFolder from a dataset
 * does not walk the whole tree.
 */
export function isParquetDir(dir: string): boolean {
  try {
    if (readdirSync(dir).some(isParquetFile)) return true;
    if (['data', CONVERTED_CONFIG, ...KNOWN_SPLITS].some((folder) => holdsParquet(join(dir, folder)))) return true;
    return readmeDataFiles(readFileSync(join(dir, README_FILE), 'utf8')) !== null;
  } catch {
    return false;
  }
}

/** The split a Parquet file belongs to, by the Hub's naming: `<split>-NNNNN-of-NNNNN`, `<split>.parquet`, `<split>/…`. */
export function splitOfFileName(relativePath: string): string {
  const parts = relativePath.split(/[\\/]/);
  const stem = parts[parts.length - 1].replace(/\.parquet$/i, '');
  const sharded = /^(.+?)-\d+-of-\d+$/.exec(stem);
  const candidates = [sharded?.[1], stem, /^([a-z]+)[-_.]/i.exec(stem)?.[1], ...parts.slice(0, -1).reverse()];
  for (const candidate of candidates) {
    const lower = candidate?.toLowerCase();
    if (lower && KNOWN_SPLITS.includes(lower)) return CANONICAL_SPLIT[lower] ?? lower;
  }
  return sharded?.[1] ?? 'train';
}

/** `data_files` of the README's first config: split → glob patterns; null when there is no such block. */
export function readmeDataFiles(readme: string): Map<string, string[]> | null {
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readme)?.[1];
  const configs = front ? /^configs:\s*\n((?:[ \t-].*\n?)*)/m.exec(front)?.[1] : undefined;
  if (!configs) return null;
  // The first config only: stop at the second `- config_name:`.
  const first = configs.split(/\n(?=- config_name:)/)[0];
  const splits = new Map<string, string[]>();
  const entry = /-[ \t]*split:[ \t]*["']?([^"'\n]+?)["']?[ \t]*\n[ \t]*path:[ \t]*(?:["']?([^"'\n]+?)["']?[ \t]*(?:\n|$)|\n((?:[ \t]*-[ \t]*.+\n?)+))/g;
  for (const match of first.matchAll(entry)) {
    const patterns = match[2] !== undefined ? [match[2]] : match[3].split('\n').map((line) => line.replace(/^\s*-\s*["']?|["']?\s*$/g, '')).filter(Boolean);
    splits.set(match[1], [...(splits.get(match[1]) ?? []), ...patterns]);
  }
  return splits.size > 0 ? splits : null;
}

/** fnmatch-style glob → RegExp over '/'-separated relative paths (`**` crosses folders, `*` does not). */
function globRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** Split name → its Parquet files, sorted. */
function splitFiles(location: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  const add = (split: string, path: string) => byName.set(split, [...(byName.get(split) ?? []), path]);
  if (!statSync(location).isDirectory()) {
    add(splitOfFileName(basename(location)), location);
    return byName;
  }
  const topLevel = readdirSync(location).some(isParquetFile) || holdsParquet(join(location, 'data'));
  // A converted branch holds one folder per config; mixing their splits would mix datasets.
  const files = !topLevel && holdsParquet(join(location, CONVERTED_CONFIG)) ? listParquetFiles(join(location, CONVERTED_CONFIG)) : listParquetFiles(location);
  const relativeOf = (path: string) => relative(location, path).split(sep).join('/');
  let readme: string | null = null;
  try {
    readme = readFileSync(join(location, README_FILE), 'utf8');
  } catch {
    // No card: file names decide.
  }
  const declared = readme === null ? null : readmeDataFiles(readme);
  if (declared) {
    for (const [split, globs] of declared) {
      const regexps = globs.map(globRegExp);
      for (const path of files) if (regexps.some((re) => re.test(relativeOf(path)))) add(split, path);
      if (!byName.has(split)) throw new UserError(`${join(location, README_FILE)}: split '${split}' names ${globs.join(', ')}, which match no Parquet file`);
    }
  } else {
    for (const path of files) add(splitOfFileName(relativeOf(path)), path);
  }
  if (byName.size === 0) throw new UserError(`${location}: no Parquet files`);
  return byName;
}

async function readFooter(decoder: ParquetDecoder, path: string): Promise<{ schema: Schema; rowGroupRows: number[] }> {
  let footer;
  try {
    footer = await decoder.footer(path);
  } catch (error) {
    throw new UserError(`${path}: cannot be read as Parquet (${errorMessage(error)})`);
  }
  let schema: Schema;
  try {
    schema = tableFromIPC(footer.schemaIpc).schema;
  } catch (error) {
    throw new UserError(`${path}: not a readable Parquet file (its schema: ${errorMessage(error)})`);
  }
  return { schema, rowGroupRows: checkedRowGroups(footer.rowGroupRows, path) };
}

/**
 * The rows of each row group, as the footer claims them, bounded by the bytes present before anything is sized by
 * them: every row of an image dataset holds at least one byte of its image (bytes or path) in the file, so a
 * footer claiming more rows than the file has bytes is crafted or damaged (a 7 KB file claiming 3·10⁹ rows would
 * otherwise size arrays of 3·10⁹ labels).
 */
function checkedRowGroups(sizes: readonly number[], path: string): number[] {
  const bytes = statSync(path).size;
  const total = sizes.reduce((sum, rows) => sum + rows, 0);
  if (sizes.some((rows) => !Number.isSafeInteger(rows) || rows < 0) || total > bytes) {
    throw new UserError(`${path}: its footer claims ${total} rows in ${bytes} bytes; not a readable Parquet file (crafted or damaged)`);
  }
  return [...sizes];
}

export async function openParquetDataset(location: string, choice: DatasetChoice = {}, decode: DecodeOptions = {}): Promise<ImageSource> {
  const bySplit = splitFiles(location);
  const split = chooseSplit([...bySplit.keys()].sort(), choice, location);
  const paths = bySplit.get(split)!;
  const decoder = new ParquetDecoder();
  let columns: DatasetColumns | null = null;
  const files: DatasetFile[] = [];
  for (const path of paths) {
    const { schema, rowGroupRows: groupRows } = await readFooter(decoder, path);
    columns ??= chooseDatasetColumns(schema, featuresFromSchemaMetadata(schema.metadata, path), choice, path);
    for (const name of [columns.image, columns.label]) {
      if (name !== null && schema.fields.every((field) => field.name !== name)) throw new UserError(`${path}: has no column '${name}' (${paths[0]} has)`);
    }
    const labels = columns.label === null ? null : await readColumn(decoder, path, columns.label);
    let start = 0;
    const blockLabels = groupRows.map((rows) => {
      const cells = Array.from({ length: rows }, (_, row) => (labels ? labels.get(start + row) : null));
      start += rows;
      return cells;
    });
    files.push({ path, blockLabels });
  }
  const chosen = columns!;
  const base = basename(location).replace(/\.parquet$/i, '');
  return assembleDatasetSource({
    kind: 'parquet',
    name: bySplit.size > 1 ? `${base}-${split}` : base,
    location,
    split,
    columns: chosen,
    files,
    readImageBlock: async (file, group) => imageCells(await readColumn(decoder, paths[file], chosen.image, group)),
    decode,
  });
}

/** One column of a file (or of one row group) as an apache-arrow vector. */
async function readColumn(decoder: ParquetDecoder, path: string, column: string, rowGroup?: number) {
  try {
    return tableFromIPC(await decoder.columns(path, [column], rowGroup)).getChild(column);
  } catch (error) {
    throw new UserError(`${path}${rowGroup === undefined ? '' : ` row group ${rowGroup}`}: cannot read column '${column}' (${errorMessage(error)})`);
  }
}
