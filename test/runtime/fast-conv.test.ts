import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { type ConvActivation, type ConvPadding, fastConv2d, fastDepthwiseConv2d, foldBatchNorm } from '../../src/runtime/fast-conv.js';
import { initTestBackend } from '../helpers/test-backend.js';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function randoms(seed: number, count: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

interface Case {
  kind: 'conv2d' | 'depthwise';
  input: [number, number, number, number];
  kernel: [number, number, number, number];
  stride: number | [number, number];
  padding: ConvPadding;
  activation: ConvActivation;
}

const CASES: Case[] = [
  { kind: 'conv2d', input: [2, 7, 6, 5], kernel: [1, 1, 5, 4], stride: 1, padding: 'same', activation: 'relu6' },
  { kind: 'conv2d', input: [2, 7, 6, 5], kernel: [1, 1, 5, 4], stride: 1, padding: 'same', activation: 'linear' },
  { kind: 'conv2d', input: [1, 8, 8, 3], kernel: [3, 3, 3, 4], stride: 1, padding: 'same', activation: 'relu6' },
  { kind: 'conv2d', input: [1, 9, 8, 3], kernel: [3, 3, 3, 4], stride: 2, padding: 'same', activation: 'relu6' },
  { kind: 'conv2d', input: [2, 8, 9, 3], kernel: [3, 3, 3, 4], stride: 2, padding: 'valid', activation: 'linear' },
  // MobileNetV2's first conv: ZeroPadding2D [[0,1],[0,1]] then a 'valid' 3×3 stride 2.
  { kind: 'conv2d', input: [2, 8, 8, 3], kernel: [3, 3, 3, 6], stride: 2, padding: [[0, 1], [0, 1]], activation: 'relu6' },
  { kind: 'conv2d', input: [1, 9, 7, 2], kernel: [2, 3, 2, 3], stride: [2, 1], padding: [[1, 0], [2, 1]], activation: 'linear' },
  { kind: 'conv2d', input: [1, 10, 10, 2], kernel: [5, 5, 2, 3], stride: 3, padding: 'same', activation: 'relu6' },
  { kind: 'depthwise', input: [2, 7, 6, 5], kernel: [3, 3, 5, 1], stride: 1, padding: 'same', activation: 'relu6' },
  { kind: 'depthwise', input: [1, 8, 8, 4], kernel: [3, 3, 4, 1], stride: 1, padding: 'valid', activation: 'linear' },
  { kind: 'depthwise', input: [2, 8, 8, 4], kernel: [3, 3, 4, 1], stride: 2, padding: [[0, 1], [0, 1]], activation: 'relu6' },
  { kind: 'depthwise', input: [1, 9, 8, 4], kernel: [3, 3, 4, 1], stride: 2, padding: 'same', activation: 'linear' },
  { kind: 'depthwise', input: [1, 9, 9, 3], kernel: [3, 3, 3, 1], stride: 2, padding: 'valid', activation: 'relu6' },
  { kind: 'depthwise', input: [1, 11, 10, 3], kernel: [5, 5, 3, 1], stride: 2, padding: 'same', activation: 'relu6' },
];

function describe(c: Case): string {
  return `${c.kind} k${c.kernel[0]}x${c.kernel[1]} s${c.stride} ${JSON.stringify(c.padding)} ${c.activation} in [${c.input}]`;
}

/** The layer written with plain tf ops, the way tfjs-layers would compute it. */
function plainLayer(c: Case, x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const padded = typeof c.padding === 'string' ? x : tf.pad(x, [[0, 0], [...c.padding[0]], [...c.padding[1]], [0, 0]]);
  const pad = typeof c.padding === 'string' ? c.padding : 'valid';
  const conv = c.kind === 'conv2d' ? tf.conv2d(padded, kernel, c.stride, pad) : tf.depthwiseConv2d(padded, kernel, c.stride, pad);
  const z = tf.add(conv, bias) as tf.Tensor4D;
  return c.activation === 'relu6' ? tf.relu6(z) : z;
}

interface Data { x: Float32Array; kernel: Float32Array; bias: Float32Array; weightOfY: Float32Array; outShape: number[] }

function caseData(c: Case, seed: number): Data {
  const outChannels = c.kind === 'conv2d' ? c.kernel[3] : c.kernel[2];
  const ref = tf.tidy(() => plainLayer(c, tf.zeros(c.input), tf.zeros(c.kernel), tf.zeros([outChannels])));
  const outShape = ref.shape;
  ref.dispose();
  return {
    x: randoms(seed, c.input.reduce((a, b) => a * b), 4),
    kernel: randoms(seed + 1, c.kernel.reduce((a, b) => a * b), 1.5),
    bias: randoms(seed + 2, outChannels, 1),
    weightOfY: randoms(seed + 3, outShape.reduce((a, b) => a * b)),
    outShape,
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Forward and dx of loss = Σ y·r, for the plain layer (cpu reference) or the fast one. */
function run(c: Case, d: Data, fast: boolean): { y: Float32Array; dx: Float32Array } {
  const outChannels = c.kind === 'conv2d' ? c.kernel[3] : c.kernel[2];
  const kernel = tf.tensor4d(d.kernel, c.kernel);
  const bias = tf.tensor1d(d.bias);
  const x = tf.tensor4d(d.x, c.input);
  const r = tf.tensor(d.weightOfY, d.outShape);
  let forward: (x: tf.Tensor4D) => tf.Tensor4D;
  let release = () => {};
  if (fast) {
    const spec = { kernel: kernel.clone(), bias: bias.clone(), stride: c.stride, padding: c.padding, activation: c.activation };
    const layer = c.kind === 'conv2d' ? fastConv2d(spec) : fastDepthwiseConv2d(spec);
    forward = (input) => layer.apply(input);
    release = () => layer.dispose();
    const [h, w] = layer.outputSize(c.input[1], c.input[2]);
    if (h !== d.outShape[1] || w !== d.outShape[2] || layer.outChannels !== outChannels) throw new Error('outputSize disagrees with tfjs');
  } else {
    forward = (input) => plainLayer(c, input, kernel, bias);
  }
  const y = tf.tidy(() => forward(x));
  const dx = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(tf.mul(forward(input as tf.Tensor4D), r)))(x));
  const out = { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  tf.dispose([kernel, bias, x, r, y, dx]);
  release();
  return out;
}

/** tfjs's name for the suite's backend ('wasm', or 'tensorflow' for both node variants). */
let suiteBackend = '';

test.before(async () => {
  suiteBackend = (await initTestBackend()).tfBackend;
});

CASES.forEach((c, index) => {
  test.serial(`dx of ${describe(c)} equals tf.grad of plain ops`, async (t) => {
    await tf.setBackend('cpu');
    const data = caseData(c, 1000 + 10 * index);
    const reference = run(c, data, false);
    if (c.activation === 'relu6') {
      // The case must exercise both ends of ReLU6, or the mask is untested.
      t.true(reference.y.some((v) => v === 0) && reference.y.some((v) => v === 6) && reference.y.some((v) => v > 0 && v < 6), 'test data should hit both clamps and the linear range');
    }
    for (const backend of ['cpu', suiteBackend]) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const fast = run(c, data, true);
      t.is(tf.memory().numTensors, before, `${backend}: tensors leaked`);
      t.true(maxAbsDiff(fast.y, reference.y) < 1e-4, `${backend}: forward differs by ${maxAbsDiff(fast.y, reference.y)}`);
      t.true(maxAbsDiff(fast.dx, reference.dx) < 1e-4, `${backend}: dx differs by ${maxAbsDiff(fast.dx, reference.dx)}`);
    }
  });
});

test.serial('foldBatchNorm equals conv followed by batch normalisation', async (t) => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const x = tf.tensor4d(randoms(5, 2 * 5 * 5 * 3), [2, 5, 5, 3]);
    for (const kind of ['conv2d', 'depthwise'] as const) {
      const kernel = tf.tensor4d(randoms(6, 3 * 3 * 3 * (kind === 'conv2d' ? 4 : 1)), [3, 3, 3, kind === 'conv2d' ? 4 : 1]);
      const channels = kind === 'conv2d' ? 4 : 3;
      const bn = {
        gamma: tf.tensor1d(randoms(7, channels)),
        beta: tf.tensor1d(randoms(8, channels)),
        movingMean: tf.tensor1d(randoms(9, channels)),
        movingVariance: tf.tensor1d(randoms(10, channels).map((v) => v * v + 0.1)),
        epsilon: 1e-3,
      };
      const conv = kind === 'conv2d' ? tf.conv2d(x, kernel, 1, 'same') : tf.depthwiseConv2d(x, kernel, 1, 'same');
      const expected = tf.batchNorm(conv, bn.movingMean, bn.movingVariance, bn.beta, bn.gamma, bn.epsilon);
      const folded = foldBatchNorm(kind, kernel, bn);
      const convFolded = kind === 'conv2d' ? tf.conv2d(x, folded.kernel, 1, 'same') : tf.depthwiseConv2d(x, folded.kernel, 1, 'same');
      const actual = tf.add(convFolded, folded.bias);
      t.true(maxAbsDiff(actual.dataSync() as Float32Array, expected.dataSync() as Float32Array) < 1e-5, kind);
    }
  });
});
