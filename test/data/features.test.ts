import { mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { DataType, FixedSizeList, Precision, Utf8, tableFromIPC, type Float, type Int } from 'apache-arrow';
import sharp from 'sharp';
import type { EmbeddingKind, Encoder, FeatureKind } from '../../src/models/encoder.js';
import { ItemError, UserError } from '../../src/core/errors.js';
import { readFeatureFile, writeFeatureFile, type FeatureFile } from '../../src/data/feature-file.js';
import { computeFeatures, featureCachePath } from '../../src/data/features.js';
import { openImageFolder } from '../../src/sources/readers/image-folder-source.js';
import type { Preprocess } from '../../src/data/image-source.js';
import { preprocessFor } from '../../src/data/preprocess.js';

const root = mkdtempSync(join(tmpdir(), 'advood-features-'));
process.env.ADVOOD_CACHE = join(root, 'cache');

test.before(async () => {
  await tf.setBackend('cpu');
});

/**
 * A tiny differentiable encoder: 'pre-projection' = per-channel mean and per-channel mean of squares (6-d),
 * 'projected' = that times a fixed 6×4 matrix. Counts its calls so tests can see cache hits.
 */
class FakeEncoder implements Encoder {
  readonly id = 'fake@8';
  readonly inputSize = 8;
  readonly embedDim = 6;
  readonly mean = [0, 0, 0] as const;
  readonly std = [1, 1, 1] as const;
  readonly features: EmbeddingKind = 'pre-projection';
  readonly featureKinds: readonly FeatureKind[] = ['pre-projection', 'projected'];
  calls = 0;
  private readonly projection = tf.tensor2d(Array.from({ length: 24 }, (_, i) => ((i * 7) % 5) - 2), [6, 4]);
  constructor(readonly weightsSha256 = 'fake-weights-v1') {}

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    this.calls++;
    return tf.tidy(() => {
      const pre = tf.concat([pixels.mean([1, 2]), pixels.square().mean([1, 2])], 1) as tf.Tensor2D;
      return kind === 'projected' ? (pre.matMul(this.projection) as tf.Tensor2D) : pre;
    });
  }

  dispose(): void {
    this.projection.dispose();
  }
}

async function solidPng(path: string, rgb: [number, number, number], width = 8, height = 8): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path);
}

/** An ImageFolder with 5 good images in 2 classes and 2 bad ones (empty, not an image). */
async function makeFolder(name: string): Promise<string> {
  const dir = join(root, name);
  await solidPng(join(dir, 'cat', 'a.png'), [255, 0, 0]);
  await solidPng(join(dir, 'cat', 'b.png'), [0, 255, 0], 16, 8);
  writeFileSync(join(dir, 'cat', 'c.png'), '');
  await solidPng(join(dir, 'dog', 'a.png'), [0, 0, 255]);
  writeFileSync(join(dir, 'dog', 'b.png'), 'plain text');
  await solidPng(join(dir, 'dog', 'c.png'), [51, 102, 153]);
  await solidPng(join(dir, 'dog', 'd.png'), [255, 255, 255]);
  return dir;
}

function expectedPre(rgb: [number, number, number]): number[] {
  const v = rgb.map((x) => x / 255);
  return [...v, ...v.map((x) => x * x)];
}

test.serial('computeFeatures: rows in source order, bad items reported by name, values from the encoder, no tensor leak', async (t) => {
  const dir = await makeFolder('run');
  const source = await openImageFolder(dir);
  const encoder = new FakeEncoder();
  const preprocess = preprocessFor(encoder);
  const failuresSeen: string[] = [];
  const progress: number[] = [];
  const before = tf.memory().numTensors;
  const { set, failures, cached } = await computeFeatures(encoder, source, {
    preprocess,
    batchSize: 2,
    progress: { onBatch: (done) => progress.push(done), onFailure: (f) => failuresSeen.push(f.item.origin) },
  });
  t.is(tf.memory().numTensors, before, 'every tensor of the run is disposed');
  t.false(cached);
  t.deepEqual(set.ids, ['cat/a.png', 'cat/b.png', 'dog/a.png', 'dog/c.png', 'dog/d.png']);
  t.deepEqual(Array.from(set.labels), [0, 0, 1, 1, 1]);
  t.deepEqual(set.classNames, ['cat', 'dog']);
  t.is(set.dim, 6);
  const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [51, 102, 153], [255, 255, 255]].flatMap((c) => expectedPre(c as [number, number, number]));
  Array.from(set.vectors).forEach((v, i) => t.true(Math.abs(v - expected[i]) < 1e-6, `value ${i}: ${v} vs ${expected[i]}`));
  t.deepEqual(failuresSeen, [join(dir, 'cat', 'c.png'), join(dir, 'dog', 'b.png')]);
  t.deepEqual(failures.map((f) => f.item.id), ['cat/c.png', 'dog/b.png']);
  t.is(failures[0].reason, 'empty file (0 bytes)');
  t.regex(failures[1].reason, /^not a readable image/);
  t.deepEqual(progress, [2, 4, 6, 7]);
  t.is(set.sourcePaths[0], join(dir, 'cat', 'a.png'));
  t.is(set.sourceSha256.length, 5);
  t.deepEqual(set.provenance, {
    encoderId: 'fake@8',
    weightsSha256: 'fake-weights-v1',
    kind: 'pre-projection',
    preprocess: { mode: 'clip', size: 8, background: [255, 255, 255] },
    sourceName: 'run',
    sourceFingerprint: source.fingerprint,
  });
  encoder.dispose();
});

test.serial('feature cache: a hit skips the encoder; encoder, weights, kind, preprocess or files changing miss', async (t) => {
  const dir = await makeFolder('cache');
  const encoder = new FakeEncoder();
  const preprocess = preprocessFor(encoder);
  const run = async (enc: FakeEncoder, options: { kind?: FeatureKind; preprocess?: Preprocess } = {}) =>
    computeFeatures(enc, await openImageFolder(dir), { preprocess: options.preprocess ?? preprocess, batchSize: 3, kind: options.kind });

  const first = await run(encoder);
  t.false(first.cached);
  const calls = encoder.calls;
  const second = await run(encoder);
  t.true(second.cached);
  t.is(encoder.calls, calls, 'a cache hit does not run the encoder');
  t.is(second.cachePath, first.cachePath);
  t.is(featureCachePath(second.set.provenance), second.cachePath!);
  t.deepEqual(second.set.vectors, first.set.vectors);
  t.deepEqual(second.set.ids, first.set.ids);
  t.deepEqual(second.failures.map((f) => [f.item.origin, f.reason]), first.failures.map((f) => [f.item.origin, f.reason]));
  // Cached failures are mapped back to the source's items (label included).
  t.deepEqual(second.failures[0].item, { id: 'cat/c.png', label: 0, origin: join(dir, 'cat', 'c.png') });

  const projected = await run(encoder, { kind: 'projected' });
  t.false(projected.cached);
  t.is(projected.set.dim, 4);
  t.false((await run(new FakeEncoder('fake-weights-v2'))).cached);
  t.false((await run(encoder, { preprocess: { ...preprocess, background: [0, 0, 0] } })).cached);
  t.true((await run(encoder, { kind: 'projected' })).cached);
  utimesSync(join(dir, 'dog', 'a.png'), new Date(2002, 2, 2), new Date(2002, 2, 2));
  t.false((await run(encoder)).cached);

  // With cached failures, onError 'fail' still fails, naming the first bad file.
  const error = await t.throwsAsync(
    computeFeatures(encoder, await openImageFolder(dir), { preprocess, batchSize: 3, onError: 'fail' }),
    { instanceOf: ItemError },
  );
  t.is(error!.message, `${join(dir, 'cat', 'c.png')}: empty file (0 bytes)`);

  // cache: false neither reads nor writes.
  const files = readdirSync(join(root, 'cache', 'features')).length;
  const uncached = await computeFeatures(encoder, await openImageFolder(dir), { preprocess, batchSize: 3, kind: 'projected', cache: false });
  t.false(uncached.cached);
  t.is(uncached.cachePath, null);
  t.is(readdirSync(join(root, 'cache', 'features')).length, files);
  encoder.dispose();
});

test.serial('computeFeatures rejects a kind the encoder lacks and a preprocess of the wrong size', async (t) => {
  const dir = await makeFolder('reject');
  const encoder = new FakeEncoder();
  const narrow = Object.assign(Object.create(encoder) as FakeEncoder, { featureKinds: ['pre-projection'] });
  const source = await openImageFolder(dir);
  await t.throwsAsync(computeFeatures(narrow, source, { preprocess: preprocessFor(encoder), batchSize: 2, kind: 'projected' }), {
    instanceOf: UserError,
    message: /target fake@8 has no 'projected' features/,
  });
  await t.throwsAsync(computeFeatures(encoder, source, { preprocess: preprocessFor({ inputSize: 16 }), batchSize: 2 }), {
    instanceOf: UserError,
    message: /preprocess size 16 ≠ encoder fake@8 input size 8/,
  });
  encoder.dispose();
});

function sampleFile(rows: number, dim: number): FeatureFile {
  return {
    ids: Array.from({ length: rows }, (_, i) => `img/${i}.png`),
    labels: Int32Array.from({ length: rows }, (_, i) => (i % 4 === 3 ? -1 : i % 3)),
    classNames: ['T-shirt/top', 'Trouser', 'Bag'],
    dim,
    vectors: Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i) * 10),
    sourcePaths: Array.from({ length: rows }, (_, i) => `/data/ünïcode/${i}.png`),
    sourceSha256: Array.from({ length: rows }, (_, i) => i.toString(16).padStart(64, '0')),
    provenance: {
      encoderId: 'fake@8',
      weightsSha256: 'w',
      kind: 'projected',
      preprocess: { mode: 'clip', size: 8, background: [255, 255, 255] },
      sourceName: 's',
      sourceFingerprint: 'f',
    },
    failures: [{ id: 'img/bad.png', origin: '/data/bad.png', reason: 'truncated' }],
  };
}

test('features Arrow file: round trip over several record batches, explicit nullable types', (t) => {
  const file = sampleFile(2500, 5); // 3 record batches of ≤ 1024 rows
  const path = join(root, 'round-trip.arrow');
  writeFeatureFile(path, file);
  const bytes = readFileSync(path);
  t.is(bytes.subarray(0, 6).toString('latin1'), 'ARROW1', 'IPC file format');
  const back = readFeatureFile(path);
  t.deepEqual(back.ids, file.ids);
  t.deepEqual(back.labels, file.labels);
  t.deepEqual(back.vectors, file.vectors);
  t.deepEqual(back.sourcePaths, file.sourcePaths);
  t.deepEqual(back.sourceSha256, file.sourceSha256);
  t.deepEqual(back.classNames, file.classNames);
  t.deepEqual(back.provenance, file.provenance);
  t.deepEqual(back.failures, file.failures);
  t.is(back.dim, 5);

  const table = tableFromIPC(bytes);
  t.is(table.batches.length, 3);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f]));
  t.deepEqual(table.schema.fields.map((f) => f.name), ['id', 'label', 'source_path', 'source_sha256', 'feature']);
  t.true(table.schema.fields.every((f) => f.nullable));
  for (const name of ['id', 'source_path', 'source_sha256']) t.true(types[name].type instanceof Utf8, `${name} is utf8, not a dictionary`);
  const label = types.label.type as Int;
  t.true(DataType.isInt(label) && label.bitWidth === 64 && label.isSigned, 'label is int64');
  const feature = types.feature.type as FixedSizeList;
  t.true(feature instanceof FixedSizeList);
  t.is(feature.listSize, 5);
  const item = feature.children[0].type as Float;
  t.true(DataType.isFloat(item) && item.precision === Precision.SINGLE, 'items are float32');
  // Unknown labels are Arrow nulls, not -1.
  t.is(table.getChild('label')!.get(3), null);
  t.is(table.getChild('label')!.get(2), 2n);
  t.is(table.getChild('label')!.nullCount, 625);
});

test('features Arrow file: empty sets and unreadable files', (t) => {
  const path = join(root, 'empty.arrow');
  writeFeatureFile(path, { ...sampleFile(0, 3), failures: [] });
  const back = readFeatureFile(path);
  t.is(back.ids.length, 0);
  t.is(back.dim, 3);
  writeFileSync(join(root, 'junk.arrow'), 'not arrow');
  t.throws(() => readFeatureFile(join(root, 'junk.arrow')), { instanceOf: UserError, message: /junk\.arrow: not a readable Arrow features file/ });
  t.throws(() => writeFeatureFile(join(root, 'bad.arrow'), { ...sampleFile(3, 2), sourcePaths: ['a'] }), { instanceOf: RangeError });
});

test.serial('feature cache: a corrupted cache file fails its content digest, is reported and recomputed, never used', async (t) => {
  const dir = await makeFolder('cache-corrupt');
  const encoder = new FakeEncoder();
  const preprocess = preprocessFor(encoder);
  const rejected: [string, string][] = [];
  const run = async () =>
    computeFeatures(encoder, await openImageFolder(dir), {
      preprocess,
      batchSize: 3,
      progress: { onCacheRejected: (path, reason) => rejected.push([path, reason]) },
    });
  const first = await run();
  t.false(first.cached);
  // Flip one bit of the first stored feature value: still a well-formed Arrow file, different numbers.
  const bytes = readFileSync(first.cachePath!);
  const firstValue = Buffer.from(first.set.vectors.buffer, first.set.vectors.byteOffset, 4);
  const at = bytes.indexOf(firstValue);
  t.true(at > 0);
  bytes[at + 3]! ^= 0x01;
  writeFileSync(first.cachePath!, bytes);

  const second = await run();
  t.false(second.cached, 'the corrupted file is not used');
  t.deepEqual(second.set.vectors, first.set.vectors, 'the features are recomputed');
  t.is(rejected.length, 1);
  t.is(rejected[0]![0], first.cachePath!);
  t.regex(rejected[0]![1], /content does not match its digest/);
  t.true((await run()).cached, 'the recomputed file is trusted again');
  encoder.dispose();
});
