import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { load } from 'nsfwjs';
import { type BackendReport, initBackend } from '../../src/runtime/backend.js';
import { UserError } from '../../src/core/errors.js';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import type { Encoder } from '../../src/models/encoder.js';
import { mobileNetV2Plan } from '../../src/models/mobilenet/architecture.js';
import { cachePaths, loadMobileNetV2Weights } from '../../src/models/mobilenet/weight-cache.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { initTestBackend } from '../helpers/test-backend.js';

// A private cache, so the test neither depends on nor disturbs the user's.
const cacheRoot = mkdtempSync(join(tmpdir(), 'advood-mobilenet-test-'));
process.env.ADVOOD_CACHE = cacheRoot;
let backend: BackendReport;
let encoder224: Encoder;

function pixels(seed: number, batch: number, size: number): tf.Tensor4D {
  const random = new SeededRandom(seed);
  return tf.tensor4d(Float32Array.from({ length: batch * size * size * 3 }, () => random.next()), [batch, size, size, 3]);
}

test.before(async () => {
  backend = await initTestBackend();
  encoder224 = await createEncoder('mobilenet-v2', { backend, inputSize: 224 });
});

test.after.always(() => {
  encoder224?.dispose();
  rmSync(cacheRoot, { recursive: true, force: true });
});

test.serial('features at 224 equal the nsfwjs layers model flatten_1 output', async (t) => {
  // Never disposed: nsfwjs 4.4.0's dispose() throws after infer() with an endpoint (the endpoint model shares layers).
  const net = await load('MobileNetV2');
  for (const seed of [1, 2]) {
    const x = pixels(seed, 1, 224);
    // nsfwjs's own path: 0..255 pixels, its /255 scaling, its model, the flatten_1 endpoint.
    const bytes = tf.tidy(() => tf.mul(x, 255).squeeze([0]) as tf.Tensor3D);
    const expected = net.infer(bytes, 'flatten_1') as tf.Tensor2D;
    const actual = encoder224.encodeImage(x);
    t.deepEqual(actual.shape, [1, 1280]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0]);
    const scale = tf.tidy(() => tf.max(expected).dataSync()[0]);
    t.true(scale > 0.1, 'features should not be trivially small');
    t.true(diff <= 1e-4, `max abs diff ${diff}`);
    tf.dispose([x, bytes, expected, actual]);
  }
});

test.serial('encoder metadata: id carries the size, identity normalisation, sha256 of the packed weights', (t) => {
  t.is(encoder224.id, 'mobilenet-v2@224');
  t.is(encoder224.inputSize, 224);
  t.is(encoder224.embedDim, 1280);
  t.deepEqual(encoder224.featureKinds, ['pre-projection']);
  t.deepEqual([encoder224.mean, encoder224.std], [[0, 0, 0], [1, 1, 1]]);
  const bin = readFileSync(cachePaths(join(cacheRoot, 'weights', 'mobilenet-v2')).data);
  t.is(encoder224.weightsSha256, createHash('sha256').update(bin).digest('hex'));
});

test.serial('no tensor leak across encodeImage and its input gradient', (t) => {
  const x = pixels(3, 2, 224);
  const before = tf.memory().numTensors;
  encoder224.encodeImage(x).dispose();
  const gradient = tf.grad((input: tf.Tensor) => tf.sum(encoder224.encodeImage(input as tf.Tensor4D)))(x);
  gradient.dispose();
  t.is(tf.memory().numTensors, before);
  x.dispose();
});

test.serial('a 96 px encoder gives 1280-d features and a finite, non-zero input gradient', async (t) => {
  const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: 96 });
  const x = pixels(4, 2, 96);
  const before = tf.memory().numTensors;
  const features = encoder.encodeImage(x);
  t.deepEqual(features.shape, [2, 1280]);
  const gradient = tf.grad((input: tf.Tensor) => tf.sum(encoder.encodeImage(input as tf.Tensor4D)))(x);
  t.deepEqual(gradient.shape, [2, 96, 96, 3]);
  const values = gradient.dataSync();
  t.true(values.every(Number.isFinite));
  t.true(values.some((v) => v !== 0));
  t.true(features.dataSync().every(Number.isFinite));
  tf.dispose([features, gradient]);
  t.is(tf.memory().numTensors, before);
  t.is(encoder.id, 'mobilenet-v2@96');
  t.throws(() => encoder.encodeImage(pixels(5, 1, 128)), { message: /expects \[B,96,96,3\]/ });
  x.dispose();
  encoder.dispose();
});

test.serial('a corrupt weight cache is detected and rebuilt from nsfwjs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-mobilenet-cache-'));
  try {
    const plan = mobileNetV2Plan();
    const first = await loadMobileNetV2Weights(plan, { cacheDir: dir });
    t.is(first.from, 'nsfwjs');
    const second = await loadMobileNetV2Weights(plan, { cacheDir: dir });
    t.is(second.from, 'cache');
    t.is(second.packed.sha256, first.packed.sha256);
    t.is(second.packed.sha256, encoder224.weightsSha256);

    const { data } = cachePaths(dir);
    const bytes = readFileSync(data);
    bytes[1000] ^= 0xff;
    writeFileSync(data, bytes);
    const messages: string[] = [];
    const third = await loadMobileNetV2Weights(plan, { cacheDir: dir, log: (m) => messages.push(m) });
    t.is(third.from, 'nsfwjs');
    t.regex(messages.join('\n'), /sha256 .* does not match/);
    t.is(third.packed.sha256, first.packed.sha256);
    t.is((await loadMobileNetV2Weights(plan, { cacheDir: dir })).from, 'cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('bad target configs are user errors naming the file and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-mobilenet-config-'));
  try {
    const tooSmall = join(dir, 'tiny.json');
    writeFileSync(tooSmall, JSON.stringify({ family: 'mobilenet-v2', inputSize: 16 }));
    const error = t.throws(() => resolveTarget(tooSmall), { instanceOf: UserError });
    t.regex(error!.message, /tiny\.json: field 'inputSize' must be an integer from 32/);
    const projected = join(dir, 'projected.json');
    writeFileSync(projected, JSON.stringify({ family: 'mobilenet-v2', inputSize: 128, features: 'projected' }));
    t.throws(() => resolveTarget(projected), { instanceOf: UserError, message: /projected\.json: field 'features'.*only 'pre-projection'/ });
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ family: 'mobilenet-v2', inputsize: 96 }));
    t.throws(() => resolveTarget(typo), { instanceOf: UserError, message: /typo\.json: 'inputsize' is not a known field \(known: .*inputSize/ });
    const clipTypo = join(dir, 'clip-typo.json');
    writeFileSync(clipTypo, JSON.stringify({ family: 'clip', featurs: 'projected', checkpointDir: dir }));
    t.throws(() => resolveTarget(clipTypo), { instanceOf: UserError, message: /clip-typo\.json: 'featurs' is not a known field/ });
    await t.throwsAsync(createEncoder('mobilenet-v2', { backend, inputSize: 100.5 }), { instanceOf: UserError, message: /inputSize/ });
    t.is(resolveTarget('mobilenet-v2').config.inputSize, 128);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
