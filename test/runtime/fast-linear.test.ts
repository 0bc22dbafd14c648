import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../src/runtime/fast-linear.js';
import { initTestBackend } from '../helpers/test-backend.js';

test.before(async () => {
  await initTestBackend();
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('FastLinear: forward and dx equal tf.grad of plain matMul + bias (3-D input)', (t) => {
  const before = tf.memory().numTensors;
  const w = tf.randomNormal([6, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([5], 0, 1, 'float32', 2) as tf.Tensor1D;
  const x = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 3);
  const upstream = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 4);
  for (const inputGradient of [true, false]) {
    const layer = new FastLinear(w.clone(), b.clone(), { inputGradient });
    const plain = (v: tf.Tensor) => tf.add(tf.reshape(tf.matMul(tf.reshape(v, [-1, 6]), w), [2, 3, 5]), b);
    tf.tidy(() => {
      t.true(maxAbsDiff(layer.forward(x), plain(x)) < 1e-5);
      const dxFast = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layer.forward(v), upstream)))(x);
      const dxPlain = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(plain(v), upstream)))(x);
      t.deepEqual(dxFast.shape, x.shape);
      t.true(maxAbsDiff(dxFast, dxPlain) < 1e-5, `inputGradient=${inputGradient}`);
    });
    layer.dispose();
  }
  tf.dispose([w, b, x, upstream]);
  t.is(tf.memory().numTensors, before);
});

test('FastLinear rejects an input of the wrong width', (t) => {
  const layer = new FastLinear(tf.zeros([4, 2]) as tf.Tensor2D, null, { inputGradient: true });
  const x = tf.zeros([1, 3]);
  t.throws(() => layer.forward(x), { message: /3 features, layer expects 4/ });
  x.dispose();
  layer.dispose();
});
