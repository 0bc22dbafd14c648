/**
 * Image files on disk: reading one into model pixels, and the listing fingerprint shared by the
 * file-backed sources (ImageFolder, file list).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ItemError, errorMessage } from '../core/errors.js';
import { fsErrorReason, isFsError } from '../core/fs-error.js';
import { decodeImage, type DecodeOptions } from './decode-image.js';
import type { DecodedImage, ImageItem, ImageSource, Preprocess } from './image-source.js';

/** Extensions treated as images when listing directories (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff'] as const;

export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** What a non-regular file is, for the skip reason. */
function fileKind(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Reads and decodes one image file; every failure is an ItemError naming `path`. The file is opened without
 * blocking and checked to be a regular file before a byte is read: a FIFO would hang the read, and a symlink
 * to /dev/zero would fill memory.
 */
export async function loadImageFile(path: string, preprocess: Preprocess, options: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw new ItemError(path, 'is a directory, not an image file');
      if (!info.isFile()) throw new ItemError(path, `${fileKind(info)}, not an image file; skipped without reading it`);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ItemError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ItemError(path, 'file not found');
    if (code === 'EISDIR') throw new ItemError(path, 'is a directory, not an image file');
    throw new ItemError(path, `cannot read file (${isFsError(error) ? fsErrorReason(error) : errorMessage(error)})`);
  }
  return decodeImage(bytes, path, preprocess, options);
}

/**
 * sha256 over (kind, class names, and per item: id, absolute path, label, size, mtime). The path is in it because
 * cached feature files record it (source_path). Size + mtime rather than content
 * hashes keeps opening a large folder cheap; a changed file changes its mtime. Missing files enter as size -1,
 * so they count too.
 */
export async function fileListingFingerprint(
  kind: string,
  classNames: readonly string[],
  items: readonly ImageItem[],
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ kind, classNames }));
  for (const item of items) {
    let size = -1;
    let mtimeMs = -1;
    try {
      const info = await stat(item.origin);
      size = info.size;
      mtimeMs = Math.round(info.mtimeMs);
    } catch {
      // Missing: recorded as -1; load() reports it.
    }
    hash.update(`\n${item.id}\t${resolve(item.origin)}\t${item.label ?? ''}\t${size}\t${mtimeMs}`);
  }
  return hash.digest('hex');
}

/** An ImageSource over files named by `items[].origin`; shared by ImageFolder and the file list. */
export async function makeFileSource(
  name: string,
  kind: string,
  classNames: readonly string[],
  items: readonly ImageItem[],
  options: DecodeOptions,
): Promise<ImageSource> {
  const fingerprint = await fileListingFingerprint(kind, classNames, items);
  return {
    name,
    classNames,
    fingerprint,
    items,
    load: (item, preprocess) => loadImageFile(item.origin, preprocess, options),
  };
}
