import { existsSync, mkdirSync, mkdtempSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import sharp from 'sharp';
import { ItemError, UserError } from '../../src/core/errors.js';
import { openFileList } from '../../src/sources/readers/file-list-source.js';
import { openIdx } from '../../src/sources/readers/idx-source.js';
import { openImageFolder } from '../../src/sources/readers/image-folder-source.js';
import type { ImageSource, Preprocess } from '../../src/data/image-source.js';
import { openImageSource } from '../../src/sources/open-source.js';

const root = mkdtempSync(join(tmpdir(), 'advood-sources-'));
const pre: Preprocess = { mode: 'clip', size: 8, background: [255, 255, 255] };

function flatPng(path: string, value: number, size = 6): Promise<unknown> {
  mkdirSync(join(path, '..'), { recursive: true });
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: value, g: value, b: value } } }).png().toFile(path);
}

/** IDX bytes: magic (0, 0, 0x08, ndims), big-endian dims, data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

async function loadAll(source: ImageSource) {
  return Promise.all(source.items.map((item) => source.load(item, pre).then((d) => d, (e: unknown) => e)));
}

test('ImageFolder: sorted class folders, recursive sorted files, non-images and dotfiles not listed', async (t) => {
  const dir = join(root, 'folder');
  await flatPng(join(dir, 'zebra', 'b.png'), 10);
  await flatPng(join(dir, 'zebra', 'a.png'), 20);
  await flatPng(join(dir, 'apple', 'deep', 'x.PNG'), 30);
  await flatPng(join(dir, 'apple', 'c.png'), 40);
  writeFileSync(join(dir, 'apple', 'README.md'), 'not an image');
  writeFileSync(join(dir, 'apple', '.hidden.png'), 'x');
  const source = await openImageFolder(dir);
  t.is(source.name, 'folder');
  t.deepEqual(source.classNames, ['apple', 'zebra']);
  t.deepEqual(
    source.items.map((i) => [i.id, i.label]),
    [['apple/c.png', 0], ['apple/deep/x.PNG', 0], ['zebra/a.png', 1], ['zebra/b.png', 1]],
  );
  t.is(source.items[0].origin, join(dir, 'apple', 'c.png'));
  const decoded = await source.load(source.items[2], pre);
  t.is(decoded.pixels.length, 8 * 8 * 3);
  t.is(Math.round(decoded.pixels[0] * 255), 20);
});

test('ImageFolder: classes.txt fixes label order and display names, and is checked', async (t) => {
  const dir = join(root, 'named');
  await flatPng(join(dir, 'tshirt-top', 'a.png'), 1);
  await flatPng(join(dir, 'bag', 'a.png'), 2);
  writeFileSync(join(dir, 'classes.txt'), 'tshirt-top\tT-shirt/top\nbag\n');
  const source = await openImageFolder(dir);
  t.deepEqual(source.classNames, ['T-shirt/top', 'bag']);
  t.deepEqual(source.items.map((i) => [i.id, i.label]), [['tshirt-top/a.png', 0], ['bag/a.png', 1]]);

  writeFileSync(join(dir, 'classes.txt'), 'tshirt-top\n');
  await t.throwsAsync(openImageFolder(dir), { instanceOf: UserError, message: /classes\.txt: does not list the class folder\(s\) 'bag'/ });
  writeFileSync(join(dir, 'classes.txt'), 'tshirt-top\nbag\nshoe\n');
  await t.throwsAsync(openImageFolder(dir), { instanceOf: UserError, message: /classes\.txt:3: class folder 'shoe' does not exist/ });
});

test('ImageFolder: flat folder is unlabelled; mixed or empty folders are user errors', async (t) => {
  const flat = join(root, 'flat');
  await flatPng(join(flat, 'b.png'), 1);
  await flatPng(join(flat, 'a.jpg.png'), 2);
  const source = await openImageFolder(flat);
  t.deepEqual(source.classNames, []);
  t.deepEqual(source.items.map((i) => [i.id, i.label]), [['a.jpg.png', null], ['b.png', null]]);

  const mixed = join(root, 'mixed');
  await flatPng(join(mixed, 'cls', 'a.png'), 1);
  await flatPng(join(mixed, 'loose.png'), 1);
  await t.throwsAsync(openImageFolder(mixed), { instanceOf: UserError, message: /mixes class folders \(cls…\) with loose images \(loose\.png…\)/ });

  const empty = join(root, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'notes.txt'), 'x');
  await t.throwsAsync(openImageFolder(empty), { instanceOf: UserError, message: /no image files/ });
});

test('fingerprint is stable on reopen and changes with content, mtime or listing', async (t) => {
  const dir = join(root, 'fp');
  await flatPng(join(dir, 'c', 'a.png'), 1);
  const first = (await openImageFolder(dir)).fingerprint;
  t.is((await openImageFolder(dir)).fingerprint, first);
  utimesSync(join(dir, 'c', 'a.png'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  const touched = (await openImageFolder(dir)).fingerprint;
  t.not(touched, first);
  await flatPng(join(dir, 'c', 'b.png'), 1);
  const added = (await openImageFolder(dir)).fingerprint;
  t.not(added, touched);
  // Moved elsewhere: cached source paths would be stale, so the fingerprint changes too.
  renameSync(dir, `${dir}-moved`);
  t.not((await openImageFolder(`${dir}-moved`)).fingerprint, added);
});

test('file list: relative paths, labels, comments; bad items fail on load naming the file', async (t) => {
  const dir = join(root, 'list');
  await flatPng(join(dir, 'imgs', 'one.png'), 100);
  await flatPng(join(dir, 'imgs', 'two.png'), 200);
  writeFileSync(join(dir, 'imgs', 'empty.png'), '');
  const absolute = join(root, 'list-absolute', 'a.png');
  await flatPng(absolute, 20);
  writeFileSync(
    join(dir, 'list.txt'),
    ['# a comment', 'imgs/two.png\tdog', '', 'imgs/one.png\tcat', `${absolute}`, 'imgs/missing.png\tcat', 'imgs/empty.png'].join('\n') + '\n',
  );
  const source = await openFileList(join(dir, 'list.txt'));
  t.is(source.name, 'list');
  t.deepEqual(source.classNames, ['cat', 'dog']);
  t.deepEqual(
    source.items.map((i) => [i.id, i.label]),
    [['imgs/two.png', 1], ['imgs/one.png', 0], [absolute, null], ['imgs/missing.png', 0], ['imgs/empty.png', null]],
  );
  const results = await loadAll(source);
  t.is(Math.round((results[0] as { pixels: Float32Array }).pixels[0] * 255), 200);
  t.is(Math.round((results[2] as { pixels: Float32Array }).pixels[0] * 255), 20);
  t.true(results[3] instanceof ItemError);
  t.is((results[3] as ItemError).message, `${join(dir, 'imgs', 'missing.png')}: file not found`);
  t.is((results[4] as ItemError).message, `${join(dir, 'imgs', 'empty.png')}: empty file (0 bytes)`);

  writeFileSync(join(dir, 'bad.txt'), 'imgs/one.png\ta\tb\n');
  await t.throwsAsync(openFileList(join(dir, 'bad.txt')), { instanceOf: UserError, message: /bad\.txt:1: expected '<path>' or '<path>\\t<label>', got 3/ });
  writeFileSync(join(dir, 'dup.txt'), 'imgs/one.png\nimgs/one.png\n');
  await t.throwsAsync(openFileList(join(dir, 'dup.txt')), { instanceOf: UserError, message: /dup\.txt:2: 'imgs\/one\.png' is already listed on line 1/ });
  await t.throwsAsync(openFileList(join(dir, 'nope.txt')), { instanceOf: UserError, message: /nope\.txt: cannot read file list/ });
});

test('IDX: gzipped and raw files, labels, row decoding, and header checks', async (t) => {
  const dir = join(root, 'idx');
  mkdirSync(dir, { recursive: true });
  const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 2, 2], pixels)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([3], Uint8Array.from([2, 0, 1])));
  const source = await openIdx({ images: join(dir, 'train-images-idx3-ubyte.gz'), labels: join(dir, 'train-labels-idx1-ubyte') }, { classNames: ['a', 'b', 'c'] });
  t.is(source.name, 'idx-train');
  t.deepEqual(source.classNames, ['a', 'b', 'c']);
  t.deepEqual(source.items.map((i) => [i.id, i.label, i.origin]), [
    ['train/0', 2, `${join(dir, 'train-images-idx3-ubyte.gz')}#0`],
    ['train/1', 0, `${join(dir, 'train-images-idx3-ubyte.gz')}#1`],
    ['train/2', 1, `${join(dir, 'train-images-idx3-ubyte.gz')}#2`],
  ]);
  const row1 = await source.load(source.items[1], { mode: 'exact', size: 2, background: [0, 0, 0] });
  // Row 1 holds bytes 80, 100, 120, 140 (grey → R = G = B).
  t.deepEqual(Array.from(row1.pixels, (v) => Math.round(v * 255)), [80, 80, 80, 100, 100, 100, 120, 120, 120, 140, 140, 140]);

  const unnamed = await openIdx({ images: join(dir, 'train-images-idx3-ubyte.gz'), labels: join(dir, 'train-labels-idx1-ubyte') });
  t.deepEqual(unnamed.classNames, ['0', '1', '2']);
  await t.throwsAsync(openIdx({ images: join(dir, 'train-images-idx3-ubyte.gz'), labels: join(dir, 'train-labels-idx1-ubyte') }, { classNames: ['a'] }), {
    instanceOf: UserError,
    message: /label 2 has no class name \(1 names given\)/,
  });

  writeFileSync(join(dir, 'short-images-idx3-ubyte'), idx([3, 2, 2], pixels.subarray(0, 10)));
  await t.throwsAsync(openIdx({ images: join(dir, 'short-images-idx3-ubyte'), labels: null }), {
    instanceOf: UserError,
    message: /short-images-idx3-ubyte: IDX header promises 3×2×2 = 12 bytes of data, the file holds 10/,
  });
  writeFileSync(join(dir, 'few-labels-idx1-ubyte'), idx([2], Uint8Array.from([0, 1])));
  await t.throwsAsync(openIdx({ images: join(dir, 'train-images-idx3-ubyte.gz'), labels: join(dir, 'few-labels-idx1-ubyte') }), {
    instanceOf: UserError,
    message: /few-labels-idx1-ubyte: 2 labels for the 3 images/,
  });
  writeFileSync(join(dir, 'junk-images-idx3-ubyte'), 'hello');
  await t.throwsAsync(openIdx({ images: join(dir, 'junk-images-idx3-ubyte'), labels: null }), { instanceOf: UserError, message: /not an IDX file/ });
});

test('openImageSource picks the source by what is on disk', async (t) => {
  const dir = join(root, 'auto');
  const pixels = Uint8Array.from({ length: 2 * 2 * 2 }, (_, i) => i);
  mkdirSync(join(dir, 'pair'), { recursive: true });
  writeFileSync(join(dir, 'pair', 'x-images-idx3-ubyte'), idx([2, 2, 2], pixels));
  writeFileSync(join(dir, 'pair', 'x-labels-idx1-ubyte'), idx([2], Uint8Array.from([1, 0])));
  writeFileSync(join(dir, 'pair', 'classes.txt'), 'left\nright\n');

  const byDir = await openImageSource(join(dir, 'pair'));
  t.is(byDir.items.length, 2);
  t.deepEqual(byDir.classNames, ['left', 'right']);
  t.is((await openImageSource(join(dir, 'pair', 'x'))).fingerprint, byDir.fingerprint);
  t.is((await openImageSource(join(dir, 'pair', 'x-images-idx3-ubyte'))).fingerprint, byDir.fingerprint);
  const explicit = await openImageSource(`idx:${join(dir, 'pair', 'x-images-idx3-ubyte')}`);
  t.deepEqual(explicit.items.map((i) => i.label), [null, null]);

  await flatPng(join(dir, 'images', 'cat', 'a.png'), 1);
  await flatPng(join(dir, 'images', 'dog', 'a.png'), 1);
  writeFileSync(join(dir, 'list.tsv'), 'images/dog/a.png\tdog\n');
  t.deepEqual((await openImageSource(join(dir, 'images'))).classNames, ['cat', 'dog']);
  t.deepEqual((await openImageSource(`folder:${join(dir, 'images')}`)).classNames, ['cat', 'dog']);
  t.deepEqual((await openImageSource(join(dir, 'list.tsv'))).items.map((i) => i.id), ['images/dog/a.png']);
  t.deepEqual((await openImageSource(`list:${join(dir, 'list.tsv')}`)).classNames, ['dog']);

  writeFileSync(join(dir, 'pair', 'y-images-idx3-ubyte'), idx([1, 2, 2], pixels.subarray(0, 4)));
  await t.throwsAsync(openImageSource(join(dir, 'pair')), { instanceOf: UserError, message: /holds several IDX sets \(x, y\); name one/ });
  await t.throwsAsync(openImageSource(join(dir, 'nothing-here')), { instanceOf: UserError, message: /unknown data spec '.*nothing-here': no such file or directory/ });
  await t.throwsAsync(openImageSource('s3:bucket/key'), { instanceOf: UserError, message: /unknown data spec 's3:bucket\/key': unknown kind 's3:'/ });
  writeFileSync(join(dir, 'weights.bin'), 'x');
  await t.throwsAsync(openImageSource(join(dir, 'weights.bin')), { instanceOf: UserError, message: /weights\.bin: a file of no source kind/ });
  await t.throwsAsync(openImageSource(`idx:${join(dir, 'nope-images-idx3-ubyte')}`), { instanceOf: UserError, message: /nope-images-idx3-ubyte: no such file/ });
});

const DEBIAN_FASHION = '/usr/share/datasets/fashion-mnist';

test('Debian Fashion-MNIST test split opens by prefix with the bundled class names', async (t) => {
  if (!existsSync(`${DEBIAN_FASHION}/t10k-images-idx3-ubyte.gz`)) {
    t.log('dataset-fashion-mnist is not installed; nothing to check');
    t.pass();
    return;
  }
  const source = await openImageSource(`${DEBIAN_FASHION}/t10k`);
  t.is(source.items.length, 10000);
  t.is(source.classNames.length, 10);
  t.is(source.classNames[0], 'T-shirt/top');
  t.is(source.classNames[9], 'Ankle boot');
  // The first Fashion-MNIST test image is an ankle boot (label 9).
  t.is(source.items[0].label, 9);
  const first = await source.load(source.items[0], { mode: 'clip', size: 32, background: [255, 255, 255] });
  t.is(first.pixels.length, 32 * 32 * 3);
});
