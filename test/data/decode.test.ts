import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import test from 'ava';
import sharp from 'sharp';
import { ItemError } from '../../src/core/errors.js';
import { decodeImage, decodeRawPixels, encodePng } from '../../src/data/decode-image.js';
import { loadImageFile } from '../../src/data/image-file.js';
import type { Preprocess } from '../../src/data/image-source.js';
import { clipGeometry, preprocessFor, preprocessKey, roundHalfEven } from '../../src/data/preprocess.js';

const WHITE = [255, 255, 255] as const;
const clip = (size: number, background: readonly [number, number, number] = WHITE): Preprocess => ({ mode: 'clip', size, background });
const exact = (size: number): Preprocess => ({ mode: 'exact', size, background: WHITE });
const dir = mkdtempSync(join(tmpdir(), 'advood-decode-'));

/** H×W RGB bytes where every pixel is distinct: R = 16·row + col, G = 100 + row, B = 200 − col. */
function gradient(height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) out.set([16 * r + c, 100 + r, 200 - c], (r * width + c) * 3);
  }
  return out;
}

function rawPng(bytes: Uint8Array, height: number, width: number, channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  return sharp(Buffer.from(bytes), { raw: { height, width, channels } }).png().toBuffer();
}

/** The pixels of rows [top, top+h) × cols [left, left+w) of an H×W RGB byte image, as floats /255. */
function cropOf(bytes: Uint8Array, width: number, top: number, left: number, h: number, w: number): number[] {
  const out: number[] = [];
  for (let r = top; r < top + h; r++) for (let c = left; c < left + w; c++) for (let k = 0; k < 3; k++) out.push(bytes[(r * width + c) * 3 + k] / 255);
  return out;
}

function assertClose(t: import('ava').ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  t.is(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  t.true(worst <= tol, `max abs diff ${worst} > ${tol}`);
}

test('roundHalfEven matches Python 3 round()', (t) => {
  t.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 37].map(roundHalfEven), [0, 2, 2, 4, 2, 3, 37]);
});

test('clipGeometry follows torchvision Resize(int) + CenterCrop', (t) => {
  // 480×640 → short side 224, long int(224·640/480) = int(298.67) = 298; left = round(37) = 37.
  t.deepEqual(clipGeometry(480, 640, 224), { resizedHeight: 224, resizedWidth: 298, top: 0, left: 37 });
  t.deepEqual(clipGeometry(640, 480, 224), { resizedHeight: 298, resizedWidth: 224, top: 37, left: 0 });
  // chelsea.png 300×451: int(224·451/300) = int(336.75) = 336, left = round(56) = 56.
  t.deepEqual(clipGeometry(300, 451, 224), { resizedHeight: 224, resizedWidth: 336, top: 0, left: 56 });
  // Half-way crops round to even: (9−4)/2 = 2.5 → 2, (7−4)/2 = 1.5 → 2.
  t.is(clipGeometry(4, 9, 4).left, 2);
  t.is(clipGeometry(4, 7, 4).left, 2);
  // Upsampling Fashion-MNIST: 28×28 → 128×128, no crop.
  t.deepEqual(clipGeometry(28, 28, 128), { resizedHeight: 128, resizedWidth: 128, top: 0, left: 0 });
});

test('preprocessFor and preprocessKey', (t) => {
  const p = preprocessFor({ inputSize: 96 });
  t.deepEqual(p, { mode: 'clip', size: 96, background: [255, 255, 255] });
  t.is(preprocessKey(p), 'clip-96-bg255,255,255');
  t.is(preprocessFor({ inputSize: 96 }, { mode: 'exact' }).mode, 'exact');
});

test('clip crop of a 4×8 gradient keeps columns 2..5 exactly', async (t) => {
  const bytes = gradient(4, 8);
  const out = await decodeImage(await rawPng(bytes, 4, 8), 'g.png', clip(4));
  t.is(out.height, 4);
  t.is(out.width, 4);
  t.deepEqual(Array.from(out.pixels), cropOf(bytes, 8, 0, 2, 4, 4).map(Math.fround));
});

test('clip crop of an 8×4 (portrait) gradient keeps rows 2..5', async (t) => {
  const bytes = gradient(8, 4);
  const out = await decodeImage(await rawPng(bytes, 8, 4), 'g.png', clip(4));
  t.deepEqual(Array.from(out.pixels), cropOf(bytes, 4, 2, 0, 4, 4).map(Math.fround));
});

test('clip crop offsets round half to even on real pixels (4×9 → cols 2..5, 4×7 → cols 2..5)', async (t) => {
  for (const width of [9, 7]) {
    const bytes = gradient(4, width);
    const out = await decodeImage(await rawPng(bytes, 4, width), 'g.png', clip(4));
    t.deepEqual(Array.from(out.pixels), cropOf(bytes, width, 0, 2, 4, 4).map(Math.fround), `width ${width}`);
  }
});

test('clip resize: short side to size (bicubic), then the centre crop of the resized image', async (t) => {
  // 6×9 → resized 4×6 (int(4·9/6) = 6), crop left round(1) = 1.
  const bytes = gradient(6, 9);
  const png = await rawPng(bytes, 6, 9);
  const out = await decodeImage(png, 'g.png', clip(4));
  const resized = await sharp(png).resize(6, 4, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
  t.deepEqual(Array.from(out.pixels), cropOf(resized, 6, 0, 1, 4, 4).map(Math.fround));
  // A flat image stays flat through the resize (the cubic weights sum to one).
  const flat = await sharp({ create: { width: 50, height: 30, channels: 3, background: { r: 40, g: 120, b: 200 } } }).png().toBuffer();
  const flatOut = await decodeImage(flat, 'flat.png', clip(16));
  assertClose(t, flatOut.pixels, Array.from({ length: 16 * 16 * 3 }, (_, i) => [40, 120, 200][i % 3] / 255), 1 / 255);
});

test('exact mode passes size×size images through and rejects other sizes', async (t) => {
  const bytes = gradient(5, 5);
  const out = await decodeImage(await rawPng(bytes, 5, 5), 'e.png', exact(5));
  t.deepEqual(Array.from(out.pixels), cropOf(bytes, 5, 0, 0, 5, 5).map(Math.fround));
  const error = await t.throwsAsync(decodeImage(await rawPng(gradient(4, 8), 4, 8), 'wide.png', exact(4)), { instanceOf: ItemError });
  t.regex(error!.message, /^wide\.png: image is 8×4, but exact preprocessing needs 4×4/);
});

test('grey PNG becomes R = G = B', async (t) => {
  const grey = Uint8Array.from({ length: 16 }, (_, i) => i * 15);
  const png = await sharp(Buffer.from(grey), { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  t.is((await sharp(png).metadata()).channels, 1);
  const out = await decodeImage(png, 'grey.png', exact(4));
  t.deepEqual(Array.from(out.pixels), Array.from(grey).flatMap((v) => [v, v, v].map((x) => Math.fround(x / 255))));
});

test('alpha is composited onto the stated background', async (t) => {
  // Four pixels: transparent red, opaque green, half-transparent blue, transparent black.
  const rgba = Uint8Array.from([255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 128, 0, 0, 0, 0]);
  const png = await rawPng(rgba, 2, 2, 4);
  const out = await decodeImage(png, 'alpha.png', { mode: 'exact', size: 2, background: [10, 20, 30] });
  const px = Array.from(out.pixels, (v) => Math.round(v * 255));
  t.deepEqual(px.slice(0, 3), [10, 20, 30]);
  t.deepEqual(px.slice(3, 6), [0, 255, 0]);
  // 128/255 blue over (10,20,30): 10·127/255 ≈ 5, 20·127/255 ≈ 10, 128 + 30·127/255 ≈ 143.
  assertClose(t, px.slice(6, 9), [5, 10, 143], 1);
  t.deepEqual(px.slice(9, 12), [10, 20, 30]);
  // Grey + alpha: a transparent grey pixel and an opaque one.
  const greyAlpha = await sharp(Buffer.from([90, 90, 90, 0, 200, 200, 200, 255]), { raw: { width: 2, height: 1, channels: 4 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  t.is((await sharp(greyAlpha).metadata()).channels, 2);
  const gOut = await decodeImage(greyAlpha, 'ga.png', clip(1, [0, 0, 0]));
  t.is(gOut.pixels.length, 3);
  // The 2×1 image centre-crops to its left pixel (round(0.5) = 0): transparent grey on black.
  t.deepEqual(Array.from(gOut.pixels), [0, 0, 0]);
});

test('CMYK JPEG becomes sRGB close to the original colour', async (t) => {
  const rgb = new Uint8Array(8 * 8 * 3).map((_, i) => [90, 140, 180][i % 3]);
  const jpeg = await sharp(Buffer.from(rgb), { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
  const meta = await sharp(jpeg).metadata();
  t.is(meta.space, 'cmyk');
  t.is(meta.channels, 4);
  const out = await decodeImage(jpeg, 'cmyk.jpg', exact(8));
  t.is(out.pixels.length, 8 * 8 * 3);
  // The sRGB → CMYK → sRGB round trip through libvips' CMYK profile is not exact; within 8 levels here.
  assertClose(t, Array.from(out.pixels.subarray(0, 3), (v) => v * 255), [90, 140, 180], 8);
});

test('16-bit PNG becomes 8-bit', async (t) => {
  // A Uint16Array raw input is read as 16-bit by sharp; 0x8080 → 128, 0x4040 → 64, 0x1234 → 0x12 = 18.
  const values = Uint16Array.from([0xffff, 0x8080, 0x4040, 0x1234, 0x0000, 0xfedc]);
  const png = await sharp(values, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  t.is((await sharp(png).metadata()).depth, 'ushort');
  const px = await decodeImage(png, '16bit.png', clip(1));
  // 2×1 → centre crop keeps the left pixel (round(0.5) = 0).
  t.deepEqual(Array.from(px.pixels, (v) => Math.round(v * 255)), [255, 128, 64]);
  const right = await sharp(png).extract({ left: 1, top: 0, width: 1, height: 1 }).png().toBuffer();
  t.deepEqual(Array.from((await decodeImage(right, 'r.png', exact(1))).pixels, (v) => Math.round(v * 255)), [18, 0, 254]);
});

test('GIF decodes its first frame only', async (t) => {
  // Two 4×4 frames: red, then blue.
  const frames = new Uint8Array(4 * 8 * 3).map((_, i) => (i < 48 ? [255, 0, 0] : [0, 0, 255])[i % 3]);
  const gif = await sharp(Buffer.from(frames), { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } as never }).gif().toBuffer();
  t.is((await sharp(gif).metadata()).pages, 2);
  const out = await decodeImage(gif, 'anim.gif', exact(4));
  assertClose(t, Array.from(out.pixels, (v) => v * 255), Array.from({ length: 48 }, (_, i) => [255, 0, 0][i % 3]), 2);
});

test('WebP (lossless) and TIFF decode exactly', async (t) => {
  const bytes = gradient(6, 6);
  const input = () => sharp(Buffer.from(bytes), { raw: { width: 6, height: 6, channels: 3 } });
  const expected = cropOf(bytes, 6, 0, 0, 6, 6).map(Math.fround);
  for (const [name, encoded] of [
    ['x.webp', await input().webp({ lossless: true }).toBuffer()],
    ['x.tiff', await input().tiff({ compression: 'deflate' }).toBuffer()],
  ] as const) {
    const out = await decodeImage(encoded, name, exact(6));
    t.deepEqual(Array.from(out.pixels), expected, name);
  }
});

test('decodeRawPixels upsamples a grey 28×28 row like a grey PNG would', async (t) => {
  const grey = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256);
  const fromRaw = await decodeRawPixels(grey, { height: 28, width: 28, channels: 1 }, 'x.idx#0', clip(64));
  const png = await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  const fromPng = await decodeImage(png, 'x.png', clip(64));
  t.deepEqual(fromRaw.pixels, fromPng.pixels);
  t.is(fromRaw.sourceSha256.length, 64);
});

test('sourceSha256 is the sha256 of the file bytes', async (t) => {
  const png = await rawPng(gradient(4, 4), 4, 4);
  const { createHash } = await import('node:crypto');
  t.is((await decodeImage(png, 'a.png', exact(4))).sourceSha256, createHash('sha256').update(png).digest('hex'));
});

/** A PNG that is only a header claiming width×height (plus an empty IDAT and IEND): 65 bytes. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(0))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('bad inputs give an ItemError naming the file', async (t) => {
  const noisy = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 2654435761) >>> 24);
  const good = await rawPng(noisy, 64, 64);
  const files: Record<string, Buffer | null> = {
    'missing.png': null,
    'empty.png': Buffer.alloc(0),
    'truncated.png': good.subarray(0, Math.floor(good.length / 2)),
    'notes.png': Buffer.from('these are not pixels\n'),
    'bomb.png': pngHeaderOnly(30000, 30000),
    'vector.svg.png': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'),
  };
  const expected: Record<string, RegExp> = {
    'missing.png': /file not found/,
    'empty.png': /empty file \(0 bytes\)/,
    'truncated.png': /cannot decode image/,
    'notes.png': /not a readable image/,
    'bomb.png': /30000×30000 = 900000000 pixels, over the limit of 67108864/,
    'vector.svg.png': /unsupported image format 'svg'/,
  };
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(dir, name);
    if (bytes) writeFileSync(path, bytes);
    const error = await t.throwsAsync(loadImageFile(path, clip(8)), { instanceOf: ItemError }, name);
    t.is(error!.item, path, name);
    t.true(error!.message.startsWith(`${path}: `), error!.message);
    t.regex(error!.message, expected[name], name);
  }
  t.is(pngHeaderOnly(30000, 30000).length, 65);
  // A directory is not an image either.
  await t.throwsAsync(loadImageFile(dir, clip(8)), { instanceOf: ItemError, message: /is a directory/ });
  // The good file decodes, and a lower limit rejects it from the header.
  t.is((await loadImageFile(writeAndReturn(join(dir, 'good.png'), good), clip(8))).pixels.length, 8 * 8 * 3);
  await t.throwsAsync(decodeImage(good, 'good.png', clip(8), { maxPixels: 64 * 63 }), { instanceOf: ItemError, message: /64×64 = 4096 pixels, over the limit of 4032/ });
});

function writeAndReturn(path: string, bytes: Buffer): string {
  writeFileSync(path, bytes);
  return path;
}

test('encodePng is lossless, deterministic, and rounds floats to the nearest level', async (t) => {
  const bytes = gradient(5, 7);
  const a = await encodePng(bytes, 5, 7);
  const b = await encodePng(Uint8Array.from(bytes), 5, 7);
  t.deepEqual(a, b);
  const decoded = await sharp(a).raw().toBuffer({ resolveWithObject: true });
  t.is(decoded.info.channels, 3);
  t.deepEqual(new Uint8Array(decoded.data), bytes);
  // Floats: k/255 ± 0.4/255 rounds back to k; out-of-range values clamp.
  const floats = Float32Array.from(bytes, (v, i) => (v + (i % 2 ? 0.4 : -0.4)) / 255);
  floats[0] = -0.2;
  floats[1] = 1.7;
  const fromFloats = await sharp(await encodePng(floats, 5, 7)).raw().toBuffer();
  const expected = Uint8Array.from(bytes);
  expected[0] = 0;
  expected[1] = 255;
  t.deepEqual(new Uint8Array(fromFloats), expected);
  // Grey when the length is h·w.
  const grey = await encodePng(Uint8Array.from([0, 50, 100, 250]), 2, 2);
  const greyMeta = await sharp(grey).metadata();
  t.is(greyMeta.channels, 1);
  t.deepEqual(new Uint8Array(await sharp(grey).extractChannel(0).raw().toBuffer()), Uint8Array.from([0, 50, 100, 250]));
  await t.throwsAsync(encodePng(new Uint8Array(10), 2, 2), { instanceOf: RangeError });
});
