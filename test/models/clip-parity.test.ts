import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackendReport } from '../../src/runtime/backend.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import { ClipTokenizer } from '../../src/models/clip/clip-tokenizer.js';
import { promptEnsembleEmbeddings, PROMPT_TEMPLATES } from '../../src/models/prompt-ensemble.js';
import { TINY_MERGES, seededPixels, writeTinyClip } from '../helpers/tiny-clip.js';
import { GOLDEN_PATH } from '../reference/make-clip-golden.js';
import { initTestBackend } from '../helpers/test-backend.js';

interface GoldenCase {
  layout: 'hf' | 'open_clip';
  activation: 'quick_gelu' | 'gelu';
  sha256: string;
  pre: number[][];
  projected: number[][];
  text: number[][];
}
const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as {
  pixelSeed: number;
  images: number;
  prompts: string[];
  tokens: number[][];
  cases: GoldenCase[];
};

let backend: BackendReport;
const work = mkdtempSync(join(tmpdir(), 'advood-clip-'));
test.before(async () => {
  backend = await initTestBackend();
});
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function compare(t: import('ava').ExecutionContext, actual: Float32Array | number[], expected: number[], label: string): void {
  let dot = 0, na = 0, nb = 0, maxDiff = 0;
  for (let i = 0; i < expected.length; i++) {
    dot += actual[i] * expected[i];
    na += actual[i] ** 2;
    nb += expected[i] ** 2;
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
  }
  const cos = dot / Math.sqrt(na * nb);
  t.true(cos >= 0.99999, `${label}: cos ${cos}`);
  t.true(maxDiff <= 1e-4, `${label}: max abs diff ${maxDiff}`);
}

test('tokenizer output matches the tokens the golden was made from', (t) => {
  const tokens = new ClipTokenizer(TINY_MERGES).tokenize(golden.prompts).map((r) => [...r]);
  t.deepEqual(tokens, golden.tokens);
});

for (const c of golden.cases) {
  test(`${c.layout} layout (${c.activation}): image and text embeddings equal the torch float64 reference`, async (t) => {
    const dir = join(work, `${c.layout}-${c.activation}`);
    // The golden belongs to these exact bytes: regenerate the checkpoint from its seed and check.
    t.is(writeTinyClip(dir, c.layout, c.activation), c.sha256);
    const before = tf.memory().numTensors;
    const encoder = await createEncoder(dir, { backend });
    t.is(encoder.inputSize, 32);
    t.is(encoder.embedDim, 64);
    t.is(encoder.weightsSha256, c.sha256);
    const pixels = tf.tensor4d(seededPixels(golden.pixelSeed, golden.images, 32), [golden.images, 32, 32, 3]);
    const pre = encoder.encodeImage(pixels);
    const projected = encoder.encodeImage(pixels, 'projected');
    const text = encoder.encodeText!(golden.prompts);
    t.deepEqual(pre.shape, [2, 64]);
    t.deepEqual(projected.shape, [2, 32]);
    t.deepEqual(text.shape, [3, 32]);
    compare(t, pre.dataSync() as Float32Array, c.pre.flat(), 'pre-projection');
    compare(t, projected.dataSync() as Float32Array, c.projected.flat(), 'projected');
    compare(t, text.dataSync() as Float32Array, c.text.flat(), 'text');
    tf.dispose([pixels, pre, projected, text]);
    encoder.dispose();
    t.is(tf.memory().numTensors, before, 'no tensor leak across load, encode, dispose');
  });
}

test('input gradient matches central finite differences along random directions', async (t) => {
  const dir = join(work, 'fd');
  writeTinyClip(dir, 'open_clip', 'gelu');
  const encoder = await createEncoder(dir, { backend, features: 'projected' });
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.tensor4d(seededPixels(11, 1, 32), [1, 32, 32, 3]);
    const w = tf.randomNormal([1, 32], 0, 1, 'float32', 3);
    const loss = (p: tf.Tensor) => tf.sum(tf.mul(encoder.encodeImage(p as tf.Tensor4D), w));
    const grad = tf.grad(loss)(x);
    t.true(tf.max(tf.abs(grad)).dataSync()[0] > 0);
    for (let k = 0; k < 3; k++) {
      // Unit-norm direction: a small enough step for the curvature, large enough for float32 round-off.
      const raw = tf.randomNormal(x.shape, 0, 1, 'float32', 100 + k);
      const v = tf.div(raw, tf.norm(raw));
      const eps = 0.1; // per-pixel steps of ~0.1/55: round-off, not curvature, limits the accuracy
      const fd = (loss(tf.add(x, tf.mul(v, eps))).dataSync()[0] - loss(tf.sub(x, tf.mul(v, eps))).dataSync()[0]) / (2 * eps);
      const analytic = tf.sum(tf.mul(grad, v)).dataSync()[0];
      t.true(Math.abs(fd - analytic) <= 2e-3 * Math.max(0.1, Math.abs(analytic)), `direction ${k}: fd ${fd} vs grad ${analytic}`);
    }
  });
  t.is(tf.memory().numTensors, before);
  encoder.dispose();
});

test('prompt ensemble: unit-norm mean of unit-norm template embeddings', async (t) => {
  const dir = join(work, 'ens');
  writeTinyClip(dir, 'hf', 'quick_gelu');
  const encoder = await createEncoder(dir, { backend });
  encoder.encodeText!(['warm-up loads the text tower']).dispose();
  const before = tf.memory().numTensors;
  const classes = ['cat', 'dog'];
  const ensemble = promptEnsembleEmbeddings(encoder, classes);
  t.deepEqual(ensemble.shape, [2, 32]);
  // Recompute by hand from encodeText.
  const rows = ensemble.arraySync();
  classes.forEach((c, i) => {
    const e = encoder.encodeText!(PROMPT_TEMPLATES.map((tpl) => tpl.replace('{c}', c)));
    const data = e.arraySync();
    e.dispose();
    const mean = new Array(32).fill(0);
    for (const r of data) {
      const n = Math.hypot(...r);
      r.forEach((v, j) => (mean[j] += v / n / data.length));
    }
    const n = Math.hypot(...mean);
    compare(t, rows[i], mean.map((v) => v / n), `class ${c}`);
  });
  ensemble.dispose();
  t.is(tf.memory().numTensors, before);
  encoder.dispose();
});
