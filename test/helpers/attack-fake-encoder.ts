/**
 * A tiny differentiable stand-in Encoder for attack tests: normalise → 4×4 average pool → fixed random
 * linear map → tanh → fixed random linear map ('pre-projection', 16-d) → one more fixed map ('projected', 8-d).
 * 'local-projected' (src/models/encoder.ts) is the projected embedding followed by one per image quadrant: the
 * same maps on the pooled values of that quadrant alone, as four "patches".
 * Plain tf ops (matMul, avgPool) whose gradients exist on wasm. encodeText maps each prompt to a fixed
 * pseudo-random 8-d vector, so the 'text' strategy can be exercised without CLIP.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { Encoder, FeatureKind } from '../../src/models/encoder.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

function randomMatrix(rows: number, cols: number, seed: number): tf.Tensor2D {
  const random = new SeededRandom(seed);
  const data = Float32Array.from({ length: rows * cols }, () => random.nextGaussian() / Math.sqrt(rows));
  return tf.tensor2d(data, [rows, cols]);
}

export function fakeEncoder(inputSize = 32, options: { text?: boolean } = {}): Encoder {
  const pooled = (inputSize / 4) ** 2 * 3;
  const w1 = randomMatrix(pooled, 32, 1);
  const w2 = randomMatrix(32, 16, 2);
  const w3 = randomMatrix(16, 8, 3);
  // The pooled grid is (inputSize/4)² cells × 3 channels, row-major: one 0/1 mask per quadrant of cells.
  const grid = inputSize / 4;
  const quadrantOf = (value: number) => {
    const cell = Math.floor(value / 3);
    return (Math.floor(cell / grid) < grid / 2 ? 0 : 2) + (cell % grid < grid / 2 ? 0 : 1);
  };
  const quadrantMasks = [0, 1, 2, 3].map((q) => tf.tensor2d(Float32Array.from({ length: pooled }, (_, i) => (quadrantOf(i) === q ? 1 : 0)), [1, pooled]));
  const mean = tf.tensor1d([0.48, 0.46, 0.41]);
  const std = tf.tensor1d([0.27, 0.26, 0.28]);
  const encoder: Encoder = {
    id: `fake@${inputSize}`,
    inputSize,
    embedDim: 16,
    mean: [0.48, 0.46, 0.41],
    std: [0.27, 0.26, 0.28],
    features: 'pre-projection',
    featureKinds: ['pre-projection', 'projected', 'local-projected'],
    weightsSha256: 'fake',
    encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = 'pre-projection'): tf.Tensor2D {
      return tf.tidy((): tf.Tensor2D => {
        const normalised = tf.div(tf.sub(pixels, mean), std) as tf.Tensor4D;
        const pool = tf.avgPool(normalised, 4, 4, 'valid').reshape([pixels.shape[0], pooled]) as tf.Tensor2D;
        const project = (pooledValues: tf.Tensor2D) => tf.matMul(tf.matMul(tf.tanh(tf.matMul(pooledValues, w1)), w2), w3) as tf.Tensor2D;
        if (kind === 'local-projected') return tf.concat([project(pool), ...quadrantMasks.map((mask) => project(tf.mul(pool, mask) as tf.Tensor2D))], 1) as tf.Tensor2D;
        const hidden = tf.tanh(tf.matMul(pool, w1)) as tf.Tensor2D;
        const pre = tf.matMul(hidden, w2) as tf.Tensor2D;
        return kind === 'projected' ? (tf.matMul(pre, w3) as tf.Tensor2D) : pre;
      });
    },
    dispose() {
      tf.dispose([w1, w2, w3, mean, std, ...quadrantMasks]);
    },
  };
  if (options.text) {
    encoder.encodeText = (prompts: readonly string[]): tf.Tensor2D =>
      tf.tensor2d(
        prompts.flatMap((p) => {
          const random = new SeededRandom(createHash('sha256').update(p).digest().readUInt32LE(0));
          return Array.from({ length: 8 }, () => random.nextGaussian());
        }),
        [prompts.length, 8],
      );
  }
  return encoder;
}

/** Deterministic smooth-ish test images in [lo, hi]: sums of a few random low-frequency sinusoids. */
export function testImages(count: number, size: number, seed = 7, lo = 0, hi = 1): tf.Tensor4D {
  const random = new SeededRandom(seed);
  const data = new Float32Array(count * size * size * 3);
  for (let b = 0; b < count; b++) {
    const waves = Array.from({ length: 3 }, () => ({ fy: random.next() * 3, fx: random.next() * 3, phase: random.next() * 6, c: random.nextInt(3) }));
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          let v = 0.5;
          for (const w of waves) if (w.c === c || c === 2) v += 0.25 * Math.sin((w.fy * y + w.fx * x) / 4 + w.phase);
          // Quantised to 8-bit levels like decoded images; then squeezed into [lo, hi].
          const clipped = Math.min(1, Math.max(0, v));
          data[((b * size + y) * size + x) * 3 + c] = Math.round((lo + (hi - lo) * clipped) * 255) / 255;
        }
  }
  return tf.tensor4d(data, [count, size, size, 3]);
}

/** Pseudo-random target features [count, dim]. */
export function testTargets(count: number, dim: number, seed = 11): tf.Tensor2D {
  const random = new SeededRandom(seed);
  return tf.tensor2d(Float32Array.from({ length: count * dim }, () => random.nextGaussian()), [count, dim]);
}
