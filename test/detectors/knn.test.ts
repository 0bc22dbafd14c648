import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import type { FeatureSet } from '../../src/data/feature-set.js';
import { KnnCosineDetector } from '../../src/detectors/knn-cosine.js';
import { l2NormalisedRows } from '../../src/detectors/shared/feature-validation.js';
import { NormalisedBank } from '../../src/detectors/shared/normalised-bank.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import { initTestBackend } from '../helpers/test-backend.js';

function features(rows: number[][], prefix = 'r'): FeatureSet {
  return {
    ids: rows.map((_, i) => `${prefix}${i}`),
    labels: new Int32Array(rows.length).fill(-1),
    classNames: [],
    dim: rows[0]?.length ?? 0,
    vectors: Float32Array.from(rows.flat()),
  };
}

function randomFeatures(random: SeededRandom, n: number, dim: number, prefix: string): FeatureSet {
  return features(Array.from({ length: n }, () => Array.from({ length: dim }, () => random.nextGaussian())), prefix);
}

test.before(async () => {
  await initTestBackend();
});

test('1-NN and 2-NN scores are exp of hand-computed cosines', (t) => {
  // Bank directions 0°, 90°, 180° (lengths vary: features are L2-normalised).
  const bank = features([[2, 0], [0, 3], [-1, 0]]);
  const queries = features([[1, 1], [1, 0], [-1, -0.0001]], 'q');
  const one = new KnnCosineDetector({ k: 1 });
  one.fit({ train: bank });
  const s1 = one.score(queries);
  t.true(Math.abs(s1[0]! - Math.exp(Math.SQRT1_2)) < 1e-6);
  t.true(Math.abs(s1[1]! - Math.E) < 1e-6);
  t.true(Math.abs(s1[2]! - Math.E) < 1e-6);
  const two = new KnnCosineDetector({ k: 2 });
  two.fit({ train: bank });
  const s2 = two.score(queries);
  // (1,1): cos 1/√2 to both 0° and 90°; (1,0): cos 1 and 0.
  t.true(Math.abs(s2[0]! - Math.exp(Math.SQRT1_2)) < 1e-6);
  t.true(Math.abs(s2[1]! - (Math.E + 1) / 2) < 1e-6);
  t.is(two.name, 'knn-2');
});

test('temperature variant: exp(cos / 0.02)', (t) => {
  const detector = new KnnCosineDetector({ kernel: 'exp-temperature' });
  detector.fit({ train: features([[1, 0], [0, 1]]) });
  const s = detector.score(features([[3, 4]], 'q'));
  t.true(Math.abs(s[0]! / Math.exp(0.8 / 0.02) - 1) < 1e-5);
  t.is(detector.name, 'knn-1-t0.02');
});

test('excluding the target rows removes them from the bank', (t) => {
  const bank = features([[1, 0], [0, 1], [1, 1]]);
  const detector = new KnnCosineDetector({ excludeIds: ['r0'] });
  detector.fit({ train: bank });
  t.is(detector.bankSize, 2);
  t.is(detector.name, 'knn-1-no-targets');
  const s = detector.score(features([[1, 0]], 'q'));
  t.true(Math.abs(s[0]! - Math.exp(Math.SQRT1_2)) < 1e-6);
  t.throws(() => new KnnCosineDetector({ excludeIds: ['nope'] }).fit({ train: bank }), { instanceOf: UserError, message: /'nope'/ });
});

test('blocked running top-k equals brute force, for any block size, without leaking tensors', (t) => {
  const random = new SeededRandom(9);
  const bank = randomFeatures(random, 157, 12, 'b');
  const queries = randomFeatures(random, 23, 12, 'q');
  const before = tf.memory().numTensors;
  const big = new KnnCosineDetector({ k: 5 });
  big.fit({ train: bank });
  const small = new KnnCosineDetector({ k: 5, blockElements: 50 }); // 2 bank rows per block
  small.fit({ train: bank });
  const a = big.score(queries);
  const b = small.score(queries);
  t.is(tf.memory().numTensors, before);
  const norm = (v: Float32Array, i: number) => Math.hypot(...v.subarray(i * 12, i * 12 + 12));
  for (let q = 0; q < 23; q++) {
    const cosines: number[] = [];
    for (let r = 0; r < 157; r++) {
      let dot = 0;
      for (let d = 0; d < 12; d++) dot += queries.vectors[q * 12 + d]! * bank.vectors[r * 12 + d]!;
      cosines.push(dot / norm(queries.vectors, q) / norm(bank.vectors, r));
    }
    cosines.sort((x, y) => y - x);
    const expected = cosines.slice(0, 5).reduce((s, c) => s + Math.exp(c), 0) / 5;
    t.true(Math.abs(a[q]! - expected) < 1e-5, `query ${q}`);
    t.true(Math.abs(b[q]! - a[q]!) < 1e-6);
  }
});

test('bad input is a UserError naming what is wrong', (t) => {
  const detector = new KnnCosineDetector();
  detector.fit({ train: features([[1, 0, 0], [0, 1, 0]]) });
  t.throws(() => detector.score(features([[1, 0]], 'q')), { instanceOf: UserError, message: /2-d features but the detector was fitted on 3-d/ });
  t.throws(() => detector.score(features([], 'q')), { instanceOf: UserError, message: /empty/ });
  t.throws(() => detector.score(features([[0, 0, 0]], 'q')), { instanceOf: UserError, message: /row 0 \('q0'\) is the zero vector/ });
  t.throws(() => detector.score(features([[1, Number.NaN, 0]], 'q')), { instanceOf: UserError, message: /row 0 \('q0'\) has a non-finite value/ });
  t.throws(() => new KnnCosineDetector({ k: 3 }).fit({ train: features([[1, 0]]) }), { instanceOf: UserError, message: /fewer than k = 3/ });
  t.throws(() => new KnnCosineDetector({ k: 0 }), { instanceOf: UserError });
});

test('the bank is the train set plus a scale per row: its rows equal l2NormalisedRows bit for bit, with rows left out', (t) => {
  const train = randomFeatures(new SeededRandom(11), 40, 24, 't');
  const full = l2NormalisedRows(train, 'train');
  const kept = Int32Array.from([0, 3, 4, 17, 39]);
  const bank = new NormalisedBank(train, 'train', kept);
  const rows = bank.copyRows(1, 3, new Float32Array(3 * 24));
  t.deepEqual(Array.from(rows), [3, 4, 17].flatMap((r) => Array.from(full.subarray(r * 24, (r + 1) * 24))));
  const transposed = bank.transposed();
  t.is(transposed[5 * 2 + 4], full[39 * 24 + 2], '[dim × rows] layout: row 4 (train row 39), dimension 2');
  t.is(train.vectors.length, 40 * 24, 'the train set itself is untouched');
  const zero = features([[1, 0], [0, 0]]);
  t.throws(() => new NormalisedBank(zero, 'bank', null), { instanceOf: UserError, message: /row 1 \('r1'\) is the zero vector/ });
});
