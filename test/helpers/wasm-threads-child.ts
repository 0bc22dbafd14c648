/**
 * Child process for test/runtime/wasm-threads.test.ts: brings the wasm backend up (ADVOOD_WASM_THREADS comes
 * from the parent's env), runs a seeded matmul + softmax + depthwise conv, and prints one JSON line with the
 * thread count and the results, then returns — the process must exit on its own.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/runtime/backend.js';

const report = await initBackend({ request: 'wasm' });
const values = tf.tidy(() => {
  const a = tf.randomNormal([64, 96], 0, 1, 'float32', 1);
  const b = tf.randomNormal([96, 80], 0, 1, 'float32', 2);
  const product = tf.softmax(tf.matMul(a, b));
  const image = tf.reshape(a, [1, 8, 8, 96]) as tf.Tensor4D;
  const filter = tf.reshape(tf.slice(b, [0, 0], [9, 96]), [3, 3, 96, 1]) as tf.Tensor4D;
  const conv = tf.depthwiseConv2d(image, filter, 1, 'same');
  return [...product.dataSync(), ...conv.dataSync()];
});
process.stdout.write(JSON.stringify({ backend: report.chosen, threads: report.threads, values }) + '\n');
