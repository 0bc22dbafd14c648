/**
 * The hand-written gradients the CLIP towers use (grouped matmul, attention, layer norm, activations) against
 * tfjs's own autodiff of the plain composed ops, on small random inputs.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { mlpActivation } from '../../src/runtime/fast-activation.js';
import { multiHeadAttention } from '../../src/runtime/fast-attention.js';
import { layerNorm } from '../../src/runtime/fast-layer-norm.js';
import { groupedMatMul, groupedMatMulMethods } from '../../src/runtime/grouped-matmul.js';
import { initTestBackend } from '../helpers/test-backend.js';

test.before(async () => {
  await initTestBackend();
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('groupedMatMul: both methods equal one matMul per group', (t) => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const a = tf.randomNormal([5, 7, 6], 0, 1, 'float32', 1) as tf.Tensor3D; // [M, K, G]
    const b = tf.randomNormal([7, 6, 4], 0, 1, 'float32', 2) as tf.Tensor3D; // [K, G, N]
    const aRows = a.arraySync();
    const bRows = b.arraySync();
    // out[m][g][n] by the definition, in plain loops.
    const expected = tf.tensor3d(
      Array.from({ length: 5 }, (_, m) =>
        Array.from({ length: 6 }, (_, g) => Array.from({ length: 4 }, (_, n) => aRows[m]!.reduce((sum, row, k) => sum + row[g]! * bRows[k]![g]![n]!, 0))),
      ),
    );
    if (tf.getBackend() === 'wasm') t.deepEqual(groupedMatMulMethods(), ['depthwise-conv', 'batched-matmul'], 'wasm runs both; its default is the fast one');
    for (const method of groupedMatMulMethods()) {
      const out = groupedMatMul(a, b, method);
      t.deepEqual(out.shape, [5, 6, 4]);
      t.true(maxAbsDiff(out, expected) < 1e-4, method);
    }
    t.throws(() => groupedMatMul(a, tf.zeros([6, 6, 4]) as tf.Tensor3D), { message: /K and G must agree/ });
    if (tf.getBackend().startsWith('tensorflow')) t.throws(() => groupedMatMul(a, b, 'depthwise-conv'), { message: /the tensorflow\S* backend cannot run the depthwise-conv method/ });
  });
  t.is(tf.memory().numTensors, before);
});

/** softmax(q·kᵀ + mask)·v per head, batch-first, with tfjs's own ops and gradients. */
function plainAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, mask: tf.Tensor2D | null): tf.Tensor {
  const [tq, b, w] = q.shape as [number, number, number];
  const tk = k.shape[0]!;
  const d = w / heads;
  const split = (x: tf.Tensor, tokens: number) => tf.transpose(tf.reshape(x, [tokens, b, heads, d]), [1, 2, 0, 3]); // [B,H,T,d]
  let scores = tf.matMul(split(q, tq), split(k, tk), false, true);
  if (mask) scores = tf.add(scores, mask);
  const out = tf.matMul(tf.softmax(scores), split(v, tk)); // [B,H,Tq,d]
  return tf.reshape(tf.transpose(out, [2, 0, 1, 3]), [tq, b, w]);
}

for (const { label, tq, masked } of [
  { label: 'all tokens', tq: 5, masked: false },
  { label: 'causal mask', tq: 5, masked: true },
  { label: 'first query only', tq: 1, masked: false },
]) {
  test(`multiHeadAttention (${label}): value and dq, dk, dv equal autodiff of the plain form`, (t) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const [tk, b, heads, w] = [5, 2, 3, 12];
      const q = tf.randomNormal([tq, b, w], 0, 1, 'float32', 3);
      const k = tf.randomNormal([tk, b, w], 0, 1, 'float32', 4);
      const v = tf.randomNormal([tk, b, w], 0, 1, 'float32', 5);
      const up = tf.randomNormal([tq, b, w], 0, 1, 'float32', 6);
      const causal = tf.tensor2d(Array.from({ length: tq * tk }, (_, i) => (i % tk > Math.floor(i / tk) ? -Infinity : 0)), [tq, tk]);
      const mask = masked ? causal : null;
      t.true(maxAbsDiff(multiHeadAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, heads, mask), plainAttention(q, k, v, heads, mask)) < 1e-5);
      const loss = (f: typeof plainAttention) => (a: tf.Tensor, bb: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, bb, c, heads, mask), up));
      const fast = tf.grads(loss((a, bb, c, h, m) => multiHeadAttention(a as tf.Tensor3D, bb as tf.Tensor3D, c as tf.Tensor3D, h, m)))([q, k, v]);
      const plain = tf.grads(loss(plainAttention))([q, k, v]);
      ['dq', 'dk', 'dv'].forEach((name, i) => t.true(maxAbsDiff(fast[i]!, plain[i]!) < 1e-4, name));
    });
    t.is(tf.memory().numTensors, before);
  });
}

test('multiHeadAttention rejects mismatched shapes', (t) => {
  tf.tidy(() => {
    const q = tf.zeros([2, 1, 6]) as tf.Tensor3D;
    t.throws(() => multiHeadAttention(q, tf.zeros([2, 1, 4]) as tf.Tensor3D, tf.zeros([2, 1, 4]) as tf.Tensor3D, 2, null), { message: /do not agree/ });
    t.throws(() => multiHeadAttention(q, q, q, 4, null), { message: /not divisible/ });
  });
});

test('layerNorm: value and input gradient equal autodiff of the composed form', (t) => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.add(tf.mul(tf.randomNormal([3, 4, 16], 0, 1, 'float32', 7), 3), 1);
    const gamma = tf.randomNormal([16], 1, 0.2, 'float32', 8) as tf.Tensor1D;
    const beta = tf.randomNormal([16], 0, 0.2, 'float32', 9) as tf.Tensor1D;
    const up = tf.randomNormal([3, 4, 16], 0, 1, 'float32', 10);
    const plain = (v: tf.Tensor) => {
      const centred = tf.sub(v, tf.mean(v, -1, true));
      return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-5))), gamma), beta);
    };
    t.true(maxAbsDiff(layerNorm(x, gamma, beta, 1e-5), plain(x)) < 1e-5);
    const fast = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layerNorm(v, gamma, beta, 1e-5), up)))(x);
    const reference = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(plain(v), up)))(x);
    t.true(maxAbsDiff(fast, reference) < 1e-4);
  });
  t.is(tf.memory().numTensors, before);
});

for (const kind of ['quick_gelu', 'gelu', 'silu'] as const) {
  test(`mlpActivation ${kind}: value and input gradient equal autodiff of the composed form`, (t) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.mul(tf.randomNormal([4, 33], 0, 1, 'float32', 11), 3);
      const up = tf.randomNormal([4, 33], 0, 1, 'float32', 12);
      const plain = (v: tf.Tensor) =>
        kind === 'quick_gelu'
          ? tf.mul(v, tf.sigmoid(tf.mul(v, 1.702)))
          : kind === 'silu'
            ? tf.mul(v, tf.sigmoid(v))
            : tf.mul(tf.mul(v, 0.5), tf.add(tf.erf(tf.mul(v, Math.SQRT1_2)), 1));
      t.true(maxAbsDiff(mlpActivation(x, kind), plain(x)) < 1e-5);
      const fast = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(mlpActivation(v, kind), up)))(x);
      const reference = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(plain(v), up)))(x);
      t.true(maxAbsDiff(fast, reference) < 1e-4);
    });
    t.is(tf.memory().numTensors, before);
  });
}
