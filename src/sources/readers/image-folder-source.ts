/**
 * ImageFolder: torchvision's layout. Each subfolder of the root is a class; classes are the sorted folder
 * names and their images are found recursively (sorted). A root without subfolders is an unlabelled folder
 * of images. Files without an image extension (IMAGE_EXTENSIONS) are not listed, as in torchvision.
 *
 * An optional `classes.txt` at the root fixes label order and display names, one class per line:
 * `<folder>` or `<folder>\t<display name>` (Fashion-MNIST's "T-shirt/top" cannot be a folder name).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { UserError, errorMessage } from '../../core/errors.js';
import { describeFsError, isFsError } from '../../core/fs-error.js';
import { isDirectory } from '../../core/path-kind.js';
import type { DecodeOptions } from '../../data/decode-image.js';
import { IMAGE_EXTENSIONS, hasImageExtension, makeFileSource } from '../../data/image-file.js';
import type { ImageItem, ImageSource } from '../../data/image-source.js';

export const CLASS_LIST_FILE = 'classes.txt';

interface ClassFolder {
  folder: string;
  name: string;
}

function visibleEntries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new UserError(isFsError(error) ? `cannot list the image folder ${describeFsError(error)}` : `${dir}: cannot list the image folder (${errorMessage(error)})`);
  }
  return names.filter((name) => !name.startsWith('.')).sort();
}

function listImagesRecursively(dir: string): string[] {
  const out: string[] = [];
  for (const name of visibleEntries(dir)) {
    const path = join(dir, name);
    if (isDirectory(path)) out.push(...listImagesRecursively(path));
    else if (hasImageExtension(name)) out.push(path);
  }
  return out;
}

function readClassList(root: string, folders: readonly string[]): ClassFolder[] {
  const listPath = join(root, CLASS_LIST_FILE);
  if (!existsSync(listPath)) return folders.map((folder) => ({ folder, name: folder }));
  const classes: ClassFolder[] = [];
  readFileSync(listPath, 'utf8')
    .split(/\r?\n/)
    .forEach((line, index) => {
      if (line.trim() === '') return;
      const fields = line.split('\t');
      if (fields.length > 2) throw new UserError(`${listPath}:${index + 1}: expected '<folder>' or '<folder>\\t<name>', got ${fields.length} tab-separated fields`);
      const folder = fields[0].trim();
      const name = (fields[1] ?? folder).trim();
      if (!folders.includes(folder)) throw new UserError(`${listPath}:${index + 1}: class folder '${folder}' does not exist in ${root}`);
      if (classes.some((c) => c.folder === folder)) throw new UserError(`${listPath}:${index + 1}: class folder '${folder}' listed twice`);
      classes.push({ folder, name });
    });
  const unlisted = folders.filter((folder) => !classes.some((c) => c.folder === folder));
  if (unlisted.length > 0) throw new UserError(`${listPath}: does not list the class folder(s) ${unlisted.map((f) => `'${f}'`).join(', ')}`);
  return classes;
}

export async function openImageFolder(root: string, options: DecodeOptions = {}): Promise<ImageSource> {
  if (!existsSync(root)) throw new UserError(`${root}: no such directory`);
  if (!isDirectory(root)) throw new UserError(`${root}: not a directory`);
  const entries = visibleEntries(root);
  const folders = entries.filter((name) => isDirectory(join(root, name)));
  const looseImages = entries.filter((name) => !folders.includes(name) && hasImageExtension(name));
  const items: ImageItem[] = [];
  let classNames: string[] = [];
  const toId = (path: string) => relative(root, path).split(sep).join('/');
  if (folders.length === 0) {
    for (const name of looseImages) items.push({ id: name, label: null, origin: join(root, name) });
  } else {
    if (looseImages.length > 0) {
      throw new UserError(
        `${root}: mixes class folders (${folders.slice(0, 3).join(', ')}…) with loose images (${looseImages[0]}…); ` +
          'move the images into class folders, or point at a folder of images only',
      );
    }
    const classes = readClassList(root, folders);
    classNames = classes.map((c) => c.name);
    classes.forEach(({ folder }, label) => {
      for (const path of listImagesRecursively(join(root, folder))) items.push({ id: toId(path), label, origin: path });
    });
  }
  if (items.length === 0) throw new UserError(`${root}: no image files (${IMAGE_EXTENSIONS.join(' ')}) found`);
  return makeFileSource(basename(root), 'image-folder', classNames, items, options);
}
