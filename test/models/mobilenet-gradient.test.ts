import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEncoder } from '../../src/models/create-encoder.js';
import {
  featureWeights, GOLDEN_PATH, GOLDEN_SIZE, goldenImage, gradientReadout, PROJECTIONS,
} from '../fixtures/mobilenet-golden-input.js';
import { TEST_BACKEND, initTestBackend } from '../helpers/test-backend.js';
import { cosine } from '../helpers/cosine.js';

const cacheRoot = mkdtempSync(join(tmpdir(), 'advood-mobilenet-grad-'));
process.env.ADVOOD_CACHE = cacheRoot;
test.after.always(() => rmSync(cacheRoot, { recursive: true, force: true }));


test('the input gradient equals the original nsfwjs model gradient computed on cpu (golden)', async (t) => {
  t.true(existsSync(GOLDEN_PATH), 'missing golden: run npx tsx test/fixtures/make-mobilenet-golden.ts');
  const bytes = readFileSync(GOLDEN_PATH);
  const golden = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

  const backend = await initTestBackend();
  t.is(backend.chosen, TEST_BACKEND);
  const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: GOLDEN_SIZE });
  const image = tf.tensor4d(goldenImage(), [1, GOLDEN_SIZE, GOLDEN_SIZE, 3]);
  const weights = tf.tensor1d(featureWeights());
  const gradient = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(encoder.encodeImage(x as tf.Tensor4D), weights)))(image);
  const readout = gradientReadout(gradient.dataSync() as Float32Array);
  tf.dispose([image, weights, gradient]);
  encoder.dispose();

  t.is(readout.length, golden.length);
  const projections = cosine(readout.subarray(0, PROJECTIONS), golden.subarray(0, PROJECTIONS));
  const subsample = cosine(readout.subarray(PROJECTIONS), golden.subarray(PROJECTIONS));
  t.true(projections >= 0.99999, `cosine of the random projections ${projections}`);
  t.true(subsample >= 0.99999, `cosine of the subsampled gradient ${subsample}`);
  t.log(`cos: projections ${projections.toFixed(8)}, subsample ${subsample.toFixed(8)}`);
});
