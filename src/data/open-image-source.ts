/**
 * openImageSource(spec): the single entry point from a `--data` value to an ImageSource.
 *
 * Spec syntax (DATA_SPEC_HELP is the user-facing version):
 * - `folder:DIR`                      ImageFolder (class subfolders, or a flat folder of unlabelled images)
 * - `list:FILE`                       file list (`<path>` or `<path>\t<label>` per line)
 * - `idx:IMAGES[,LABELS[,CLASSES]]`   IDX images (+ labels, + class-name file), raw or gzipped
 * - without a prefix, by what is on disk:
 *   - a directory holding one IDX set (`X-images-idx3-ubyte[.gz]` + labels) → that set;
 *   - any other directory → ImageFolder;
 *   - `DIR/PREFIX` where `DIR/PREFIX-images-idx3-ubyte[.gz]` exists → that IDX set
 *     (e.g. `/usr/share/datasets/fashion-mnist/t10k`);
 *   - a `*-images-idx3-ubyte[.gz]` file → IDX, with its labels file by name;
 *   - a `.txt`, `.tsv` or `.lst` file → file list.
 *
 * IDX class names come from the spec's CLASSES file, else `classes.txt` beside the images, else the
 * bundled `datasets/<folder name>-classes.txt` (so Debian's `.../fashion-mnist/` gets Fashion-MNIST's names),
 * else '0', '1', ….
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UserError, errorMessage } from '../core/errors.js';
import { packagePath } from '../core/repo-paths.js';
import type { DecodeOptions } from './decode-image.js';
import { openFileList } from './file-list-source.js';
import { openImageFolder } from './image-folder-source.js';
import type { ImageSource } from './image-source.js';
import { idxPairForImagesFile, idxPairForPrefix, idxPrefixesInDir, isIdxImagesFile, openIdx, type IdxPair } from './idx-source.js';

export const DATASETS_DIR = packagePath('datasets');

export const DATA_SPEC_HELP =
  'DIR (ImageFolder: class subfolders, or a flat folder), FILE.txt (file list: path[<TAB>label] per line), ' +
  'DIR/PREFIX or DIR holding PREFIX-images-idx3-ubyte[.gz] (IDX, e.g. Fashion-MNIST), ' +
  'or explicitly folder:DIR, list:FILE, idx:IMAGES[,LABELS[,CLASSES]]';

const FILE_LIST_EXTENSIONS = ['.txt', '.tsv', '.lst'];

/** The one registry of explicit source kinds: `<prefix>:<rest>`. */
const EXPLICIT_KINDS: Readonly<Record<string, (rest: string, options: DecodeOptions) => Promise<ImageSource>>> = {
  folder: (dir, options) => openImageFolder(dir, options),
  list: (file, options) => openFileList(file, options),
  idx: (rest) => {
    const [images, labels, classes] = rest.split(',');
    if (!images) throw new UserError(`idx:${rest}: expected idx:IMAGES[,LABELS[,CLASSES]]`);
    for (const path of [images, labels, classes]) {
      if (path && !existsSync(path)) throw new UserError(`${path}: no such file (in data spec 'idx:${rest}')`);
    }
    return openIdxWithClasses({ images, labels: labels || null }, classes || null);
  },
};

/** One class name per line (blank lines skipped). */
export function readClassNames(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`${path}: cannot read class names (${errorMessage(error)})`);
  }
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length === 0) throw new UserError(`${path}: no class names`);
  return names;
}

function openIdxWithClasses(pair: IdxPair, classesFile: string | null): Promise<ImageSource> {
  const candidates = classesFile
    ? [classesFile]
    : [join(dirname(pair.images), 'classes.txt'), join(DATASETS_DIR, `${basename(dirname(resolve(pair.images)))}-classes.txt`)];
  const found = candidates.find((path) => existsSync(path));
  return openIdx(pair, found && pair.labels ? { classNames: readClassNames(found) } : {});
}

export async function openImageSource(spec: string, options: DecodeOptions = {}): Promise<ImageSource> {
  const explicit = /^([a-z][a-z0-9+.-]*):(.+)$/.exec(spec);
  if (explicit && explicit[1] in EXPLICIT_KINDS) return EXPLICIT_KINDS[explicit[1]](explicit[2], options);

  if (existsSync(spec)) {
    const info = statSync(spec);
    if (info.isDirectory()) {
      const prefixes = idxPrefixesInDir(spec);
      if (prefixes.length === 1) return openIdxWithClasses(idxPairForPrefix(join(spec, prefixes[0]))!, null);
      if (prefixes.length > 1) {
        throw new UserError(
          `${spec}: holds several IDX sets (${prefixes.join(', ')}); name one, e.g. ${join(spec, prefixes[0])}`,
        );
      }
      return openImageFolder(spec, options);
    }
    if (isIdxImagesFile(spec)) return openIdxWithClasses(idxPairForImagesFile(spec), null);
    if (FILE_LIST_EXTENSIONS.includes(extname(spec).toLowerCase())) return openFileList(spec, options);
    throw new UserError(`${spec}: a file, but neither a file list (${FILE_LIST_EXTENSIONS.join(', ')}) nor IDX images; expected ${DATA_SPEC_HELP}`);
  }
  const idxPair = idxPairForPrefix(spec);
  if (idxPair) return openIdxWithClasses(idxPair, null);
  if (explicit) throw new UserError(`unknown data spec '${spec}': unknown kind '${explicit[1]}:'; expected ${DATA_SPEC_HELP}`);
  throw new UserError(`unknown data spec '${spec}': no such file or directory; expected ${DATA_SPEC_HELP}`);
}
