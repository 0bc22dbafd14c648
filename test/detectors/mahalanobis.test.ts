import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { MahalanobisDetector } from '../../src/detectors/mahalanobis.js';
import { RelativeMahalanobisDetector } from '../../src/detectors/relative-mahalanobis.js';
import { SINGULAR_SHRINKAGE } from '../../src/detectors/shared/gaussian-fit.js';
import { blockedScatter } from '../../src/detectors/shared/blocked-scatter.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import { featureSet, gaussianClusters } from '../helpers/synthetic-features.js';
import { referencePython } from '../helpers/reference-venv.js';

const REFERENCE = fileURLToPath(new URL('../reference/mahalanobis_reference.py', import.meta.url));

// Two classes, each the points μ ± (1,0), μ ± (0,2): sample covariance (ddof 1) is exactly diag(2/3, 8/3).
const exact = featureSet(
  [[1, 0], [-1, 0], [0, 2], [0, -2], [11, 0], [9, 0], [10, 2], [10, -2]],
  { labels: [0, 0, 0, 0, 1, 1, 1, 1] },
);

test('Mahalanobis equals the closed form on a design with exact covariance', async (t) => {
  const detector = new MahalanobisDetector();
  await detector.fit({ train: exact });
  const s = detector.score(featureSet([[1, 1], [10, 0]], { prefix: 'q' }));
  // (1,1): MD to μ0 = 1/(2/3) + 1/(8/3) = 1.875; to μ1 = 81·1.5 + 0.375.
  t.true(Math.abs(s[0]! + 1.875) < 1e-12);
  t.true(Math.abs(s[1]! - 0) < 1e-12);
  t.is(detector.shrinkage, 0);
});

test('relative Mahalanobis subtracts the global-Gaussian distance', async (t) => {
  const detector = new RelativeMahalanobisDetector();
  await detector.fit({ train: exact });
  const s = detector.score(featureSet([[1, 1]], { prefix: 'q' }));
  // Global mean (5,0); global covariance diag(204/7, 16/7) (worked out in the test's comment above).
  const md0 = 16 / (204 / 7) + 1 / (16 / 7);
  t.true(Math.abs(s[0]! + (1.875 - md0)) < 1e-12, `${s[0]}`);
});

// numpy from the reference venv (scripts/reference-venv.sh); where it cannot be made, the parity test skips.
const reference = referencePython();
const PYTHON = 'python' in reference ? reference.python : '';
const hasNumpy = PYTHON !== '';
if (!hasNumpy) console.warn(`skipping Mahalanobis numpy parity: ${'unavailable' in reference ? reference.unavailable : ''}`);

(hasNumpy ? test : test.skip)('parity with numpy (explicit inverse) on random clusters', async (t) => {
  const random = new SeededRandom(4);
  const train = gaussianClusters(random, [[0, 0, 0, 0, 0], [3, 0, 1, 0, 0], [0, 2, 0, -2, 1]], 40, 1);
  // Make the covariance anisotropic and correlated.
  for (let r = 0; r < train.ids.length; r++) train.vectors[r * 5 + 1]! += 0.8 * train.vectors[r * 5]!;
  const queries = gaussianClusters(random, [[1, 1, 1, 1, 1], [-4, 0, 0, 0, 3]], 10, 2, 'q');
  const maha = new MahalanobisDetector();
  const relative = new RelativeMahalanobisDetector();
  await maha.fit({ train });
  await relative.fit({ train });
  const ours = { maha: maha.score(queries), relative: relative.score(queries) };
  const rows = (s: typeof train) => Array.from({ length: s.ids.length }, (_, i) => Array.from(s.vectors.subarray(i * 5, i * 5 + 5)));
  const input = JSON.stringify({ train: rows(train), labels: Array.from(train.labels), queries: rows(queries) });
  const reference = JSON.parse(execFileSync(PYTHON, [REFERENCE], { input }).toString()) as { maha: number[]; relative: number[] };
  for (let i = 0; i < 20; i++) {
    t.true(Math.abs(ours.maha[i]! - reference.maha[i]!) < 1e-9 * Math.max(1, Math.abs(reference.maha[i]!)), `maha ${i}`);
    t.true(Math.abs(ours.relative[i]! - reference.relative[i]!) < 1e-9 * Math.max(1, Math.abs(reference.relative[i]!)), `relative ${i}`);
  }
});

test('the blocked float64 scatter equals the plain sum of weighted outer products (D not a multiple of 4, a partial last block)', (t) => {
  const random = new SeededRandom(9);
  const dim = 7;
  const rows = 300; // one full block of 256 rows and a partial one
  const rowValues = Array.from({ length: rows }, () => Array.from({ length: dim }, () => random.next() * 4 - 1));
  const set = featureSet(rowValues);
  const means = Float64Array.from({ length: 2 * dim }, () => random.next());
  const weights = Float64Array.of(0.5, 2);
  // Rows in a shuffled order, every third row left out, groups alternating.
  const kept = Int32Array.from(Array.from({ length: rows }, (_, i) => (i * 37) % rows).filter((r) => r % 3 !== 0));
  const group = Int32Array.from(kept, (_, i) => i % 2);
  const scatter = blockedScatter(set, { rows: kept, group, means, weights });
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let expected = 0;
      kept.forEach((r, k) => {
        const g = group[k]!;
        expected += weights[g]! * (set.vectors[r * dim + i]! - means[g * dim + i]!) * (set.vectors[r * dim + j]! - means[g * dim + j]!);
      });
      t.true(Math.abs(scatter[i * dim + j]! - expected) < 1e-12 * Math.max(1, Math.abs(expected)), `entry ${i},${j}: ${scatter[i * dim + j]} vs ${expected}`);
    }
  }
});

test('singular covariance falls back to the stated shrinkage, never NaN', async (t) => {
  // 5-d features that only vary in the first 2 dimensions.
  const random = new SeededRandom(2);
  const rows = Array.from({ length: 30 }, (_, i) => [random.nextGaussian() + (i < 15 ? 0 : 4), random.nextGaussian(), 1, 1, 1]);
  const train = featureSet(rows, { labels: rows.map((_, i) => (i < 15 ? 0 : 1)) });
  const detector = new MahalanobisDetector();
  await detector.fit({ train });
  t.is(detector.shrinkage, SINGULAR_SHRINKAGE);
  const s = detector.score(featureSet([[0, 0, 1, 1, 1], [0, 0, 5, 1, 1]], { prefix: 'q' }));
  t.true(s.every(Number.isFinite));
  t.true(s[0]! > s[1]!, 'moving along a dead dimension is far from ID');
  const relative = new RelativeMahalanobisDetector();
  await relative.fit({ train });
  t.deepEqual(relative.shrinkage, { shared: SINGULAR_SHRINKAGE, global: SINGULAR_SHRINKAGE });
  t.true(relative.score(featureSet([[0, 0, 1, 1, 1]], { prefix: 'q' })).every(Number.isFinite));
});

test('bad input: no labels, one class, constant features, dims', async (t) => {
  const unlabelled = featureSet([[1, 2], [3, 4]]);
  await t.throwsAsync(new MahalanobisDetector().fit({ train: unlabelled }), { instanceOf: UserError, message: /needs class labels.*row 0/ });
  const oneClass = featureSet([[1, 2], [3, 4], [5, 7]], { labels: [0, 0, 0] });
  await t.throwsAsync(new MahalanobisDetector().fit({ train: oneClass }), { instanceOf: UserError, message: /at least 2 ID classes.*1 class/ });
  const constant = featureSet([[1, 1], [1, 1], [1, 1], [1, 1]], { labels: [0, 0, 1, 1] });
  await t.throwsAsync(new MahalanobisDetector().fit({ train: constant }), { instanceOf: UserError, message: /covariance is zero/ });
  const detector = new MahalanobisDetector();
  await detector.fit({ train: exact });
  t.throws(() => detector.score(featureSet([[1, 2, 3]], { prefix: 'q' })), { instanceOf: UserError, message: /3-d features.*2-d/ });
});
