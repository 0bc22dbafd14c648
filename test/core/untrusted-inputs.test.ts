/**
 * Inputs advood reads from disk or flags, crafted or damaged: each is refused or skipped with a line naming
 * the file, the key, the tensor or the flag, never silently reinterpreted.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { resolveAttackPreset } from '../../attacks/attack-params.js';
import { joinDashValues } from '../../src/cli/main.js';
import { keyProblem, parseGuardedJson } from '../../src/core/json-guard.js';
import { computeFeatures } from '../../src/data/features.js';
import { openFileList } from '../../src/sources/readers/file-list-source.js';
import { openImageFolder } from '../../src/sources/readers/image-folder-source.js';
import type { EmbeddingKind, Encoder, FeatureKind } from '../../src/models/encoder.js';
import { openSafetensors } from '../../src/models/safetensors.js';
import { readManifest } from '../../src/release/release-manifest.js';
import { ItemError, UserError } from '../../src/core/errors.js';
import { writeSafetensors } from '../helpers/safetensors-writer.js';

const root = mkdtempSync(join(tmpdir(), 'advood-untrusted-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
test.before(async () => {
  await tf.setBackend('cpu');
});

test('a safetensors header naming a tensor twice is refused (JSON.parse would keep the last)', (t) => {
  const path = join(root, 'dup.safetensors');
  // The same name twice, at different bytes: which tensor is 'w' depends on the reader.
  const header = Buffer.from('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([prefix, header, Buffer.from(Float32Array.from([1, 2]).buffer)]));
  t.throws(() => openSafetensors(path), { instanceOf: UserError, message: `${path}: header names tensor "w" twice; refusing an ambiguous checkpoint` });
});

test('NaN or Inf weights are refused at load, naming the tensor', (t) => {
  const path = join(root, 'nan.safetensors');
  writeSafetensors(path, [
    { name: 'fine', shape: [2], data: Float32Array.from([1, 2]) },
    { name: 'visual.proj', shape: [3], data: Float32Array.from([0.5, Number.NaN, Infinity]) },
  ]);
  const file = openSafetensors(path);
  try {
    t.deepEqual(Array.from(file.readFloat32('fine')), [1, 2]);
    t.throws(() => file.readFloat32('visual.proj'), {
      instanceOf: UserError,
      message: `${path}: tensor 'visual.proj' holds 2 non-finite value(s) (first: NaN at flat index 1); refusing corrupt weights`,
    });
  } finally {
    file.close();
  }
});

/** Features are the mean colour, except that an image whose red channel is full gives NaN (a broken encoder). */
class NanOnRedEncoder implements Encoder {
  readonly id = 'nan-on-red@8';
  readonly inputSize = 8;
  readonly embedDim = 3;
  readonly mean = [0, 0, 0] as const;
  readonly std = [1, 1, 1] as const;
  readonly features: EmbeddingKind = 'pre-projection';
  readonly featureKinds: readonly FeatureKind[] = ['pre-projection'];
  readonly weightsSha256 = 'nan-on-red';
  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const mean = pixels.mean([1, 2]) as tf.Tensor2D;
      const red = mean.slice([0, 0], [-1, 1]).greater(0.99);
      return tf.where(red.tile([1, 3]), tf.fill(mean.shape, Number.NaN), mean) as tf.Tensor2D;
    });
  }
  dispose(): void {}
}

test('non-finite features are an item error: the image is skipped and named, or stops the run with --on-error fail', async (t) => {
  const dir = join(root, 'nan-features');
  mkdirSync(dir);
  for (const [name, r] of [['a.png', 10], ['b-red.png', 255], ['c.png', 40]] as const) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r, g: 20, b: 30 } } }).png().toFile(join(dir, name));
  }
  const encoder = new NanOnRedEncoder();
  const preprocess = { mode: 'clip' as const, size: 8, background: [255, 255, 255] as [number, number, number] };
  const result = await computeFeatures(encoder, await openImageFolder(dir), { preprocess, batchSize: 3, cache: false });
  t.deepEqual(result.set.ids, ['a.png', 'c.png']);
  t.true(result.set.vectors.every(Number.isFinite));
  t.deepEqual(result.failures.map((f) => [f.item.id, f.reason]), [['b-red.png', 'the encoder gave non-finite features (NaN or ±Inf) for this image']]);
  await t.throwsAsync(computeFeatures(encoder, await openImageFolder(dir), { preprocess, batchSize: 3, cache: false, onError: 'fail' }), {
    instanceOf: ItemError,
    message: /b-red\.png: the encoder gave non-finite features/,
  });
});

test('file-list paths are taken verbatim except the line ending: leading and trailing spaces are part of the name', async (t) => {
  const dir = join(root, 'spaces');
  mkdirSync(dir);
  writeFileSync(join(dir, 'list.txt'), ' a.png\r\nb.png \nc.png\tlabel\n');
  const source = await openFileList(join(dir, 'list.txt'));
  t.deepEqual(source.items.map((item) => item.origin), [join(dir, ' a.png'), join(dir, 'b.png '), join(dir, 'c.png')]);
});

test('__proto__, constructor and prototype keys are refused in an attack preset, a manifest and --set, naming the key', (t) => {
  const preset = join(root, 'preset.json');
  writeFileSync(preset, JSON.stringify({ attack: 'feature-collision' }).replace('{', '{"__proto__": {"steps": 1}, '));
  t.throws(() => resolveAttackPreset(preset), { instanceOf: UserError, message: /preset\.json: not a readable JSON attack preset \(key "__proto__" at the top level is not allowed/ });
  t.throws(() => resolveAttackPreset('paper-smooth', { 'constraints.__proto__.k': 3 }), { instanceOf: UserError, message: /'__proto__' is not a field name/ });

  const release = join(root, 'manifest-proto');
  mkdirSync(release);
  writeFileSync(join(release, 'manifest.json'), '{"format": "advood-release/1", "config": {"constructor": {"prototype": 1}}}');
  t.throws(() => readManifest(release), { instanceOf: UserError, message: /manifest\.json: key "constructor" in \$\.config is not allowed/ });
  t.is(keyProblem('{"a": "__proto__", "b": ["constructor"]}'), null, 'as values they are plain strings');
  t.throws(() => parseGuardedJson('{"a": 1, "a": 2}'), { message: 'key "a" appears twice at the top level; the file is ambiguous' });
});

test('--lr NaN is reported as NaN, not as null', (t) => {
  t.throws(() => resolveAttackPreset('paper-smooth', { lr: Number.NaN }), { instanceOf: UserError, message: /'lr' must be a finite number, got NaN/ });
});

test('a flag value that starts with a dash and a digit reaches its option (--shard -1/2)', (t) => {
  t.deepEqual(joinDashValues(['generate', '--shard', '-1/2', '--lambda', '-5', '--out', 'x']), ['generate', '--shard=-1/2', '--lambda', '-5', '--out', 'x']);
});
