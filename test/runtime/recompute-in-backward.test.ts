/**
 * Recomputing in the backward pass gives the gradient the taped forward gives, leaks no tensor, and keeps the
 * tape's saved tensors to one per wrapped step (tfjs's own peak count, tf.profile).
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { recomputeInBackward } from '../../src/runtime/recompute-in-backward.js';
import { initTestBackend } from '../helpers/test-backend.js';

test.before(async () => {
  await initTestBackend();
});

const block = (w: tf.Tensor2D) => (x: tf.Tensor2D) => tf.tidy(() => tf.add(x, tf.tanh(tf.matMul(tf.relu(tf.matMul(x, w)), w))) as tf.Tensor2D);

function lossThrough(steps: ((x: tf.Tensor2D) => tf.Tensor2D)[]) {
  return (x: tf.Tensor) => {
    let h = x as tf.Tensor2D;
    for (const step of steps) h = step(h);
    return tf.sum(tf.square(h));
  };
}

test('the input gradient equals the taped one, inside valueAndGrad too, and no tensor is left behind', (t) => {
  const w = tf.randomNormal([32, 32], 0, 0.2, 'float32', 3) as tf.Tensor2D;
  const x = tf.randomNormal([8, 32], 0, 1, 'float32', 4);
  const plain = Array.from({ length: 6 }, () => block(w));
  const recomputed = plain.map((f) => recomputeInBackward(f));
  const before = tf.memory().numTensors;
  const expected = tf.grad(lossThrough(plain))(x);
  const { value, grad } = tf.valueAndGrad(lossThrough(recomputed))(x);
  t.deepEqual(Array.from(grad.dataSync()), Array.from(expected.dataSync()), 'bit-identical: the same kernels on the same inputs');
  t.is(value.dataSync()[0], tf.tidy(() => lossThrough(plain)(x)).dataSync()[0]);
  tf.dispose([expected, value, grad]);
  t.is(tf.memory().numTensors, before + 1, 'only the loss scalar tidy returned above, not disposed');
  const withoutGradient = recomputed[0]!(x as tf.Tensor2D);
  t.deepEqual(Array.from(withoutGradient.dataSync()), Array.from(tf.tidy(() => plain[0]!(x as tf.Tensor2D)).dataSync()));
  tf.dispose([w, x, withoutGradient]);
});

test('the tape holds one input per wrapped step instead of every intermediate', async (t) => {
  const w = tf.randomNormal([64, 64], 0, 0.1, 'float32', 5) as tf.Tensor2D;
  const x = tf.randomNormal([64, 64], 0, 1, 'float32', 6);
  const plain = Array.from({ length: 8 }, () => block(w));
  const peak = async (steps: ((x: tf.Tensor2D) => tf.Tensor2D)[]) =>
    (
      await tf.profile(() => {
        tf.grad(lossThrough(steps))(x).dispose();
      })
    ).peakBytes;
  const kept = await peak(plain);
  const recomputed = await peak(plain.map((f) => recomputeInBackward(f)));
  t.true(recomputed < 0.6 * kept, `peak tensor bytes ${recomputed} recomputed vs ${kept} kept`);
  tf.dispose([w, x]);
});
