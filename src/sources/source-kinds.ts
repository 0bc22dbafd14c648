/**
 * The one registry of data-source kinds. Every command that takes images (generate --id/--ood, evaluate,
 * features, experiment configs, the demo) opens its sources here, and the CLI help and the README's source
 * table are made from SOURCE_KINDS.
 *
 * A spec is `KIND:LOCATION` with a kind's explicit prefix, or a bare local path opened by what it holds: the
 * kinds' sniffers are tried in SOURCE_KINDS order (a release before the save_to_disk folder it also is, a
 * folder of Parquet files before a folder of images). A kind matched by a URI scheme (`resolve`) turns its spec
 * into a local path, which is then opened by content like a bare path.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { DecodeOptions } from '../data/decode-image.js';
import { openFileList } from '../data/file-list-source.js';
import type { DatasetChoice } from '../data/hf-dataset-columns.js';
import { isHfArrowDir, openHfArrowDataset } from '../data/hf-arrow-source.js';
import { openIdxWithClasses } from '../data/idx-classes.js';
import { idxPairForImagesFile, idxPairForPrefix, idxPrefixesInDir, isIdxImagesFile } from '../data/idx-source.js';
import { openImageFolder } from '../data/image-folder-source.js';
import type { ImageSource } from '../data/image-source.js';
import { isParquetDir, isParquetFile, openParquetDataset } from '../data/parquet-source.js';
import { MANIFEST_FILE } from '../release/release-manifest.js';
import { type ReleaseImageColumn, type ReleaseImageSource, openReleaseImageSource } from '../release/release-image-source.js';
import { mergeChoice, splitSpecChoice } from './source-spec.js';

export interface SourceOptions extends DatasetChoice, DecodeOptions {}

/** An opened source: images, or an advood release (its adversarial and clean columns are two image sets). */
export type OpenedSource =
  | { readonly type: 'images'; readonly images: ImageSource }
  | { readonly type: 'release'; readonly dir: string; openColumn(column: ReleaseImageColumn, name: string): Promise<ReleaseImageSource> };

export interface SourceKind {
  readonly name: string;
  /** The explicit prefix: `folder:`, or a URI scheme such as `hf://`. */
  readonly prefix: string;
  /** What follows the prefix, for the help and README. */
  readonly syntax: string;
  readonly description: string;
  /** For bare local paths: whether `path` holds this kind. */
  sniff?(path: string): boolean;
  /** Opens a local location (the spec without the prefix). */
  open?(location: string, options: SourceOptions): Promise<OpenedSource>;
  /** Opens a bare path that `sniff` matched, where that differs from `open` (default: `open`). */
  openFound?(path: string, options: SourceOptions): Promise<OpenedSource>;
  /** URI kinds: the local path (a directory or file) that `location` stands for, opened by content afterwards. */
  resolve?(location: string, options: SourceOptions): Promise<string>;
}

const FILE_LIST_EXTENSIONS = ['.txt', '.tsv', '.lst'];

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function isReleaseDir(path: string): boolean {
  return existsSync(join(path, MANIFEST_FILE)) && existsSync(join(path, 'state.json'));
}

const images = async (opening: Promise<ImageSource>): Promise<OpenedSource> => ({ type: 'images', images: await opening });

/** A bare IDX path: a folder of one set, `DIR/PREFIX`, or an images file (its labels found by name). */
function openIdxLocation(location: string): Promise<ImageSource> {
  if (isDirectory(location)) {
    const prefixes = idxPrefixesInDir(location);
    if (prefixes.length !== 1) {
      throw new UserError(
        prefixes.length === 0
          ? `${location}: holds no IDX set (PREFIX-images-idx3-ubyte[.gz])`
          : `${location}: holds several IDX sets (${prefixes.join(', ')}); name one, e.g. ${join(location, prefixes[0])}`,
      );
    }
    return openIdxWithClasses(idxPairForPrefix(join(location, prefixes[0]))!, null);
  }
  if (existsSync(location)) return openIdxWithClasses(idxPairForImagesFile(location), null);
  const pair = idxPairForPrefix(location);
  if (!pair) throw new UserError(`${location}: neither an IDX images file, nor a folder or PREFIX of IDX sets`);
  return openIdxWithClasses(pair, null);
}

/** `idx:IMAGES[,LABELS[,CLASSES]]` names the files; without LABELS the images are unlabelled. */
function openIdxSpec(rest: string): Promise<ImageSource> {
  const [imagesFile, labels, classes] = rest.split(',');
  if (!imagesFile) throw new UserError(`idx:${rest}: expected idx:IMAGES[,LABELS[,CLASSES]]`);
  for (const path of [imagesFile, labels, classes]) {
    if (path && !existsSync(path)) throw new UserError(`${path}: no such file (in data spec 'idx:${rest}')`);
  }
  return openIdxWithClasses({ images: imagesFile, labels: labels || null }, classes || null);
}

/** In the order bare paths are tried. */
export const SOURCE_KINDS: readonly SourceKind[] = [
  {
    name: 'release',
    prefix: 'release:',
    syntax: 'DIR',
    description: 'an advood release (manifest.json + state.json); evaluate scores its adversarial and clean images, other commands read its adversarial images',
    sniff: isReleaseDir,
    async open(dir) {
      if (!isReleaseDir(dir)) throw new UserError(`${dir}: not an advood release (no ${MANIFEST_FILE} beside state.json)`);
      return { type: 'release', dir, openColumn: (column, name) => openReleaseImageSource(dir, column, name) };
    },
  },
  {
    name: 'hf-arrow',
    prefix: 'hf-arrow:',
    syntax: 'DIR',
    description: 'a Hugging Face `save_to_disk` folder: a Dataset (state.json, dataset_info.json, data-*.arrow) or a DatasetDict (dataset_dict.json, one folder per split)',
    sniff: (path) => isDirectory(path) && isHfArrowDir(path),
    open: (dir, options) => images(openHfArrowDataset(dir, options, options)),
  },
  {
    name: 'parquet',
    prefix: 'parquet:',
    syntax: 'FILE|DIR',
    description: 'a .parquet file, or a folder of them in the Hub layout (data/<split>-NNNNN-of-NNNNN.parquet, or the README.md `configs` data_files)',
    sniff: (path) => (isDirectory(path) ? isParquetDir(path) : isParquetFile(path)),
    open: (location, options) => images(openParquetDataset(location, options, options)),
  },
  {
    name: 'idx',
    prefix: 'idx:',
    syntax: 'IMAGES[,LABELS[,CLASSES]]',
    description: 'IDX files (MNIST, Fashion-MNIST), raw or gzipped; bare: a folder holding one PREFIX-images-idx3-ubyte[.gz] set, DIR/PREFIX, or the images file',
    sniff: (path) => (isDirectory(path) ? idxPrefixesInDir(path).length > 0 : existsSync(path) ? isIdxImagesFile(path) : idxPairForPrefix(path) !== null),
    open: (rest) => images(openIdxSpec(rest)),
    openFound: (path) => images(openIdxLocation(path)),
  },
  {
    name: 'list',
    prefix: 'list:',
    syntax: 'FILE',
    description: `a file list (${FILE_LIST_EXTENSIONS.join(', ')}): one \`path\` or \`path<TAB>label\` per line, relative to the list`,
    sniff: (path) => !isDirectory(path) && FILE_LIST_EXTENSIONS.includes(extname(path).toLowerCase()),
    open: (file, options) => images(openFileList(file, options)),
  },
  {
    name: 'folder',
    prefix: 'folder:',
    syntax: 'DIR',
    description: 'an ImageFolder: one subfolder per class (optional classes.txt), or a flat folder of unlabelled images',
    sniff: isDirectory,
    open: (dir, options) => images(openImageFolder(dir, options)),
  },
];

function kindOfPrefix(spec: string, kinds: readonly SourceKind[] = SOURCE_KINDS): SourceKind | undefined {
  return kinds.find((kind) => spec.startsWith(kind.prefix));
}

/** One line for flag descriptions. */
export function sourceSpecHelp(): string {
  const kinds = SOURCE_KINDS.map((kind) => `${kind.prefix}${kind.syntax}`).join(', ');
  return `a path (opened by content) or ${kinds}; dataset options as SPEC?split=S&image-column=C&label-column=L`;
}

/** Words of `text` in lines of at most `width` characters, each after `indent`. */
function wrapWords(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, indent + line];
}

/**
 * The kinds with their descriptions, for the epilog of every command that reads images. Wrapped here at word
 * boundaries: yargs breaks an epilog line wherever it hits the terminal width (src/cli/main.ts wraps at ≤ 110).
 */
export function sourceKindsHelp(): string {
  const intro = 'Data sources: a bare path is tried against each kind in this order; SPEC?split=S&image-column=C&label-column=L chooses within a dataset.';
  const kinds = SOURCE_KINDS.flatMap((kind) => [`  ${kind.prefix}${kind.syntax}`, ...wrapWords(kind.description, 96, '      ')]);
  return [...wrapWords(intro, 100, ''), ...kinds].join('\n');
}

/** The README's table of source kinds. */
export function sourceKindsMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = SOURCE_KINDS.map((kind) => `| \`${kind.name}\` | \`${cell(kind.prefix + kind.syntax)}\` | ${cell(kind.description)} |`);
  return ['| kind | explicit spec | what it reads |', '| --- | --- | --- |', ...rows].join('\n');
}

async function openLocal(path: string, options: SourceOptions): Promise<OpenedSource> {
  // URI kinds resolve to local paths, which only the local kinds open.
  const kind = SOURCE_KINDS.find((candidate) => candidate.open && candidate.sniff?.(path));
  if (kind) return (kind.openFound ?? kind.open)!(path, options);
  const expected = `expected ${sourceSpecHelp()}`;
  if (existsSync(path)) throw new UserError(`${path}: a file of no source kind (not Parquet, IDX images or a file list); ${expected}`);
  throw new UserError(`unknown data spec '${path}': no such file or directory; ${expected}`);
}

/**
 * Opens any source spec. `defaults` are the command's --split/--image-column/--label-column; the spec's own
 * `?split=…` query wins over them.
 */
export function openSource(text: string, defaults: SourceOptions = {}): Promise<OpenedSource> {
  return openSourceAmong(SOURCE_KINDS, text, defaults);
}

/** openSource over a given list of kinds (SOURCE_KINDS plus a URI kind, in the tests). */
export async function openSourceAmong(kinds: readonly SourceKind[], text: string, defaults: SourceOptions = {}): Promise<OpenedSource> {
  const { spec, choice } = splitSpecChoice(text);
  const options: SourceOptions = { ...defaults, ...mergeChoice(choice, defaults) };
  const kind = kindOfPrefix(spec, kinds);
  if (kind) {
    const location = spec.slice(kind.prefix.length);
    if (location === '') throw new UserError(`${text}: nothing after '${kind.prefix}'; expected ${kind.prefix}${kind.syntax}`);
    if (kind.resolve) return openLocal(await kind.resolve(location, options), options);
    return kind.open!(location, options);
  }
  const unknown = /^([a-z][a-z0-9+.-]*):./.exec(spec);
  if (unknown && !existsSync(spec)) throw new UserError(`unknown data spec '${text}': unknown kind '${unknown[1]}:'; expected ${sourceSpecHelp()}`);
  return openLocal(spec, options);
}

/** Opens a spec as images: a release gives its adversarial images. */
export async function openImageSource(text: string, defaults: SourceOptions = {}): Promise<ImageSource> {
  const opened = await openSource(text, defaults);
  return opened.type === 'images' ? opened.images : opened.openColumn('image', basename(resolve(opened.dir)));
}

/** A short name for a spec (reports, the default of `name=`): the last component of its location. */
export function sourceDisplayName(text: string): string {
  const { spec } = splitSpecChoice(text);
  const kind = kindOfPrefix(spec);
  return basename(resolve((kind ? spec.slice(kind.prefix.length) : spec).split(',')[0]));
}
