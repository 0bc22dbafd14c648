/**
 * IDX files (MNIST / Fashion-MNIST): an images file (`…-images-idx3-ubyte`, uint8 [N, rows, cols]) and an
 * optional labels file (`…-labels-idx1-ubyte`, uint8 [N]), each raw or gzipped (detected by content, not
 * name). Format: http://yann.lecun.com/exdb/mnist/ — a 4-byte magic (0, 0, type 0x08 = ubyte, ndims), then
 * ndims big-endian uint32 sizes, then the data.
 *
 * Items are `<prefix>/<row>` (prefix: the file name before `-images`), origin `<images file>#<row>`.
 * sourceSha256 of an item is the sha256 of its raw rows×cols bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError, errorMessage } from '../../core/errors.js';
import { decodeRawPixels } from '../../data/decode-image.js';
import type { ImageItem, ImageSource } from '../../data/image-source.js';

const IDX_UBYTE = 0x08;
const IMAGES_SUFFIX = /-images-idx3-ubyte(\.gz)?$/;

export interface IdxPair {
  readonly images: string;
  /** null: unlabelled. */
  readonly labels: string | null;
}

export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

/** Reads and checks one IDX file of unsigned bytes with `expectedDims` dimensions. */
export function readIdx(path: string, expectedDims: number): { array: IdxArray; fileBytes: Buffer } {
  let fileBytes: Buffer;
  try {
    fileBytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`${path}: cannot read IDX file (${errorMessage(error)})`);
  }
  let bytes: Buffer = fileBytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new UserError(`${path}: corrupt gzip data (${errorMessage(error)})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new UserError(`${path}: not an IDX file (bad magic number)`);
  if (bytes[2] !== IDX_UBYTE) throw new UserError(`${path}: IDX element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const ndims = bytes[3];
  if (ndims !== expectedDims) throw new UserError(`${path}: IDX file has ${ndims} dimensions, expected ${expectedDims}`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new UserError(`${path}: truncated IDX header`);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const expected = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available !== expected) {
    throw new UserError(`${path}: IDX header promises ${dims.join('×')} = ${expected} bytes of data, the file holds ${available}`);
  }
  return { array: { dims, data: bytes.subarray(headerBytes) }, fileBytes };
}

export interface IdxOptions {
  /** Class names by label; default '0', '1', … up to the largest label. */
  readonly classNames?: readonly string[];
}

export async function openIdx(pair: IdxPair, options: IdxOptions = {}): Promise<ImageSource> {
  const images = readIdx(pair.images, 3);
  const [count, rows, cols] = images.array.dims;
  if (rows === 0 || cols === 0) throw new UserError(`${pair.images}: images of size ${rows}×${cols}`);
  // Content, plus the absolute path that item origins (and so cached source_path columns) record.
  const fingerprint = createHash('sha256').update(`idx\n${resolve(pair.images)}\n`).update(images.fileBytes);
  let labels: Uint8Array | null = null;
  if (pair.labels !== null) {
    const read = readIdx(pair.labels, 1);
    if (read.array.dims[0] !== count) {
      throw new UserError(`${pair.labels}: ${read.array.dims[0]} labels for the ${count} images of ${pair.images}`);
    }
    labels = read.array.data;
    fingerprint.update('\nlabels\n').update(read.fileBytes);
  }
  let classNames: readonly string[] = [];
  if (labels !== null) {
    const maxLabel = labels.reduce((a, b) => Math.max(a, b), 0);
    classNames = options.classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
    if (maxLabel >= classNames.length) {
      throw new UserError(`${pair.labels}: label ${maxLabel} has no class name (${classNames.length} names given)`);
    }
  }
  fingerprint.update(`\nclasses\n${JSON.stringify(classNames)}`);
  const prefix = basename(pair.images).replace(IMAGES_SUFFIX, '');
  const items: ImageItem[] = Array.from({ length: count }, (_, row) => ({
    id: `${prefix}/${row}`,
    label: labels === null ? null : labels[row],
    origin: `${pair.images}#${row}`,
  }));
  const pixelsPerImage = rows * cols;
  return {
    name: `${basename(dirname(pair.images))}-${prefix}`,
    classNames,
    fingerprint: fingerprint.digest('hex'),
    items,
    load(item, preprocess) {
      const row = Number(item.id.slice(prefix.length + 1));
      if (!item.id.startsWith(`${prefix}/`) || !Number.isInteger(row) || row < 0 || row >= count) {
        throw new Error(`idx source ${pair.images}: item '${item.id}' is not one of its rows`);
      }
      const data = images.array.data.subarray(row * pixelsPerImage, (row + 1) * pixelsPerImage);
      return decodeRawPixels(data, { height: rows, width: cols, channels: 1 }, item.origin, preprocess);
    },
  };
}

function firstExisting(candidates: readonly string[]): string | null {
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** `<dir>/<prefix>` → its images/labels pair (`<prefix>-images-idx3-ubyte[.gz]` …), or null if none. */
export function idxPairForPrefix(pathPrefix: string): IdxPair | null {
  const images = firstExisting([`${pathPrefix}-images-idx3-ubyte.gz`, `${pathPrefix}-images-idx3-ubyte`]);
  if (images === null) return null;
  return { images, labels: firstExisting([`${pathPrefix}-labels-idx1-ubyte.gz`, `${pathPrefix}-labels-idx1-ubyte`]) };
}

/** The labels file that goes with an images file, by the MNIST naming convention, or null. */
export function idxPairForImagesFile(images: string): IdxPair {
  const prefix = join(dirname(images), basename(images).replace(IMAGES_SUFFIX, ''));
  return { images, labels: idxPairForPrefix(prefix)?.labels ?? null };
}

/** Prefixes of the IDX image sets in a directory, e.g. ['t10k', 'train'] for Fashion-MNIST. */
export function idxPrefixesInDir(dir: string): string[] {
  return [
    ...new Set(
      readdirSync(dir)
        .filter((name) => IMAGES_SUFFIX.test(name))
        .map((name) => name.replace(IMAGES_SUFFIX, '')),
    ),
  ].sort();
}

export function isIdxImagesFile(path: string): boolean {
  return IMAGES_SUFFIX.test(basename(path));
}
