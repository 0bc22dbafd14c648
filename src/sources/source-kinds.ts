/**
 * The one registry of data-source kinds. Every command that takes images (generate --id/--ood, evaluate,
 * features, experiment configs, the demo) opens its sources through it (src/sources/open-source.ts), and the
 * CLI help and the README's source table are made from it (src/sources/source-help.ts).
 *
 * A bare local path is opened by what it holds: the kinds' sniffers are tried in SOURCE_KINDS order (a release
 * before the save_to_disk folder it also is, a folder of Parquet files before a folder of images).
 */
import { existsSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UserError } from '../core/errors.js';
import { isDirectory } from '../core/path-kind.js';
import { openFileList } from './readers/file-list-source.js';
import { isHfArrowDir, openHfArrowDataset } from './readers/hf-arrow-source.js';
import { openIdxWithClasses } from './readers/idx-classes.js';
import { idxPairForImagesFile, idxPairForPrefix, idxPrefixesInDir, isIdxImagesFile } from './readers/idx-source.js';
import { openImageFolder } from './readers/image-folder-source.js';
import type { ImageSource } from '../data/image-source.js';
import { isParquetDir, isParquetFile, openParquetDataset } from './readers/parquet-source.js';
import { formatHubDatasetUri } from '../hub/hub-dataset-uri.js';
import { resolveHubDataset } from '../hub/hub-dataset.js';
import { MANIFEST_FILE } from '../release/release-manifest.js';
import { openReleaseImageSource } from '../release/read/release-image-source.js';
import type { OpenedSource, SourceKind } from './source-kind.js';

const FILE_LIST_EXTENSIONS = ['.txt', '.tsv', '.lst'];

export function isReleaseDir(path: string): boolean {
  return existsSync(join(path, MANIFEST_FILE)) && existsSync(join(path, 'state.json'));
}

/**
 * The release a folder is, or holds as its one release subfolder: a release published to the Hub keeps its
 * manifest out of the repo root (at the root, `load_dataset` would pick the JSON reader over the Parquet files),
 * so a downloaded snapshot holds the sealed release beside `data/`. null when there is none, or several.
 */
export function releaseDirIn(path: string): string | null {
  if (!isDirectory(path)) return null;
  if (isReleaseDir(path)) return path;
  let children: string[];
  try {
    children = readdirSync(path).filter((name) => !name.startsWith('.')).map((name) => join(path, name));
  } catch {
    return null;
  }
  const releases = children.filter((child) => isDirectory(child) && isReleaseDir(child));
  return releases.length === 1 ? releases[0] : null;
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

/** In the order bare paths are tried (the URI kind first: it has no sniffer). */
export const SOURCE_KINDS: readonly SourceKind[] = [
  {
    name: 'hub',
    prefix: 'hf://',
    syntax: 'datasets/OWNER/NAME[@REV][/SUBDIR]',
    description:
      'a dataset on the Hugging Face Hub ($HF_ENDPOINT, $HF_TOKEN): the revision pinned to its commit, the files downloaded into the Hugging Face cache (hash-checked) and reused offline; then opened by content (an advood release as a release, else save_to_disk or Parquet)',
    async resolve(location, options) {
      const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
      const resolved = await resolveHubDataset(`hf://${location}`, { log, onProgress: options.onDownload });
      const pinned = formatHubDatasetUri({ ...resolved, revision: resolved.commit }).slice('hf://'.length);
      return { path: resolved.localDir, trustedLinksInto: resolved.blobsDir, pinned };
    },
  },
  {
    name: 'release',
    prefix: 'release:',
    syntax: 'DIR',
    description:
      'an advood release (manifest.json + state.json), or a folder holding one as its only release subfolder (a Hub snapshot); evaluate scores its adversarial and clean images, other commands read its adversarial images',
    sniff: (path) => releaseDirIn(path) !== null,
    async open(location, options) {
      const dir = releaseDirIn(location);
      if (dir === null) throw new UserError(`${location}: not an advood release, nor a folder holding one (no ${MANIFEST_FILE} beside state.json)`);
      const verify = { linksInto: options.trustedLinksInto };
      return { type: 'release', dir, openColumn: (column, name) => openReleaseImageSource(dir, column, name, verify) };
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
    description:
      "a .parquet file, or a folder of them in the Hub layout (data/<split>-NNNNN-of-NNNNN.parquet, <split>/…, the README.md `configs` data_files, or the Hub's converted refs/convert/parquet branch: default/<split>/NNNN.parquet)",
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
