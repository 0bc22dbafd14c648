/**
 * Every differentiable detector's scoreTensor (what an adaptive attack climbs) against its float64 score():
 * - equal on the same features, within float32 tolerance;
 * - its gradient w.r.t. the features equals central finite differences of score(), which runs in float64
 *   (Mahalanobis, the logit heads, MCM's cosines; the probe's and k-NN's products are float32), so the
 *   reference is as exact as the backends allow (tfjs has no float64 tensors).
 * Tolerance of the gradient check: |g − fd| ≤ 2e-3·|fd| + 8·2⁻²⁴·(|s| + 1)/(2h), with h = 1e-2 on features of
 * scale ~4. The second term is the difference quotient's rounding where score() itself has float32 steps (the
 * probe's logits, k-NN's cosines come from tfjs matMul): a few ulps of the score s over 2h. The first covers the
 * truncation error O(h²·f''') ≈ 1e-4 relative for these smooth scores and the float32 gradient (~1e-5).
 * The query rows sit at 0.7·μ_a + 0.3·μ_b: a clear winning class and nearest neighbour (the max/min and the
 * top-k are differentiable there) and unsaturated softmax heads.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../../src/data/feature-set.js';
import { type DifferentiableDetector, type DetectorFitInput, isDifferentiable } from '../../src/detectors/detector.js';
import { DETECTORS, createDetectors } from '../../src/detectors/registry.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { LOCAL_FEATURE_KIND } from '../../src/models/encoder.js';
import { featureSet, gaussianClusters, withPatches } from '../helpers/synthetic-features.js';
import { classTextEmbedder } from '../helpers/synthetic-text.js';

const MEANS = [[4, 0, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0], [0, 0, 4, 0, 0, 0]];
// A higher peak lr than the paper's so that a few short epochs converge (as in every-entry.test.ts).
const FAST_PROBE = { epochs: 15, batchSize: 32, learningRate: 0.4 };

/**
 * Options where the default would make the check vacuous: at NegLabel's T = 0.01 the ID labels' softmax mass is
 * 1 − O(e⁻⁵⁰) for these queries, so its gradient would be 0 to float precision. At T = 0.3 it is ~0.9 and moves.
 */
const CHECKED_AT: Record<string, Record<string, number>> = { neglabel: { temperature: 0.3 } };

test.before(async () => {
  await initTestBackend();
});

function data() {
  const random = new SeededRandom(5);
  const train = gaussianClusters(random, MEANS, 40, 0.8, 'train');
  const queries = featureSet(
    Array.from({ length: 6 }, (_, i) => MEANS[i % 3]!.map((m, d) => 0.7 * m + 0.3 * MEANS[(i + 1) % 3]![d]! + 0.3 * random.nextGaussian())),
    { prefix: 'q' },
  );
  const text = featureSet(MEANS.map((m) => m.map((v) => v / 4)), { prefix: 'text', labels: [0, 1, 2], classNames: train.classNames });
  return { train, queries, text };
}

async function fitted(name: string, options: Record<string, number> = {}) {
  const { train, queries, text } = data();
  const entry = DETECTORS.find((d) => d.name === name)!;
  const probeOptions = entry.options.some((o) => o.name === 'epochs') ? FAST_PROBE : {};
  const [detector] = createDetectors([{ name, options: { ...probeOptions, ...CHECKED_AT[name], ...options } }]);
  const input: DetectorFitInput = { train, ...(entry.needs.text && { textEmbeddings: text, trainProjected: train, embedText: classTextEmbedder(text) }) };
  await detector!.fit(input);
  if (!isDifferentiable(detector!)) throw new Error(`${name} is not differentiable`);
  // A detector of image regions reads each query's embedding with 3 patch features around it.
  const view = detector!.featureKind === LOCAL_FEATURE_KIND ? withPatches(queries, 3, 0.5, new SeededRandom(13)) : queries;
  return { detector: detector!, queries: view };
}

function tensorScores(detector: DifferentiableDetector, set: FeatureSet): Float32Array {
  return tf.tidy(() => detector.scoreTensor(tf.tensor2d(set.vectors, [set.ids.length, set.dim])).dataSync() as Float32Array);
}

function withVectors(set: FeatureSet, vectors: Float32Array): FeatureSet {
  return { ...set, vectors };
}

/** d score(row of element i) / d element i, by central differences with step h (as stored in float32). */
function centralDifference(score: (vectors: Float32Array) => ArrayLike<number>, set: FeatureSet, i: number, h: number): number {
  const plus = Float32Array.from(set.vectors);
  const minus = Float32Array.from(set.vectors);
  plus[i] = Math.fround(set.vectors[i]! + h);
  minus[i] = Math.fround(set.vectors[i]! - h);
  const row = Math.floor(i / set.dim);
  return (score(plus)[row]! - score(minus)[row]!) / (plus[i]! - minus[i]!);
}

/**
 * True when element i sits near a kink (a top-k or max whose winner changes within ±h), so that the central
 * difference mixes two derivatives: the gradient, the derivative on the query's own side, then equals one of the
 * one-sided differences at a fifth of the step, within 0.3 % plus their rounding.
 */
function isKink(score: (vectors: Float32Array) => ArrayLike<number>, set: FeatureSet, i: number, h: number, atX: number, gradient: number): boolean {
  const row = Math.floor(i / set.dim);
  const step = h / 5;
  const shifted = (by: number) => {
    const v = Float32Array.from(set.vectors);
    v[i] = Math.fround(set.vectors[i]! + by);
    return score(v)[row]!;
  };
  const forward = (shifted(step) - atX) / step;
  const backward = (atX - shifted(-step)) / step;
  const tolerance = 3e-3 * Math.abs(gradient) + (8 * 2 ** -24 * (Math.abs(atX) + 1)) / step;
  return Math.min(Math.abs(gradient - forward), Math.abs(gradient - backward)) <= tolerance;
}

function gradientOf(detector: DifferentiableDetector, set: FeatureSet): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor2d(set.vectors, [set.ids.length, set.dim]);
    return tf.grad((f: tf.Tensor) => tf.sum(detector.scoreTensor(f as tf.Tensor2D)))(x).dataSync() as Float32Array;
  });
}

test('the registry marks exactly the detectors that implement scoreTensor as differentiable', (t) => {
  for (const entry of DETECTORS) {
    const [detector] = createDetectors([entry.name]);
    t.is(isDifferentiable(detector!), entry.differentiable, entry.name);
  }
});

for (const entry of DETECTORS.filter((d) => d.differentiable)) {
  test(`${entry.name}: scoreTensor equals score() and its gradient matches central differences`, async (t) => {
    const { detector, queries } = await fitted(entry.name);
    const exact = detector.score(queries);
    const tensor = tensorScores(detector, queries);
    exact.forEach((s, i) => t.true(Math.abs(s - tensor[i]!) <= 1e-5 * (Math.abs(s) + 1), `row ${i}: score ${s} vs tensor ${tensor[i]}`));

    const gradient = gradientOf(detector, queries);
    const h = 1e-2;
    const score = (vectors: Float32Array) => detector.score(withVectors(queries, vectors));
    const kinks: number[] = [];
    for (let i = 0; i < queries.vectors.length; i++) {
      const row = Math.floor(i / queries.dim);
      const fd = centralDifference(score, queries, i, h);
      const rounding = (8 * 2 ** -24 * (Math.abs(exact[row]!) + 1)) / (2 * h);
      const tolerance = 2e-3 * Math.abs(fd) + rounding;
      if (Math.abs(gradient[i]! - fd) <= tolerance) continue;
      // Within ±h of a kink the central difference is no derivative; such an element is counted when its
      // gradient is one side's derivative (one row at most may be: nnguide's row 2 lies ~1e-3 from a change of
      // its 10th neighbour). Anything else fails.
      if (isKink(score, queries, i, h, exact[row]!, gradient[i]!)) kinks.push(i);
      else t.fail(`element ${i}: gradient ${gradient[i]} vs central difference ${fd}`);
    }
    const kinkRows = new Set(kinks.map((i) => Math.floor(i / queries.dim)));
    t.true(kinkRows.size <= 1, `elements of ${kinkRows.size} rows at a kink: ${kinks.join(', ')}`);
  });
}

test('knn smooth top-k: tends to the exact mean of the k largest kernels as τ → 0, and its gradient matches central differences', async (t) => {
  const exact = (await fitted('knn', { k: 3 })).detector;
  const { detector: smooth, queries } = await fitted('knn', { k: 3, smoothTopK: 1e-6 });
  const reference = exact.score(queries);
  const soft = tensorScores(smooth, queries);
  reference.forEach((s, i) => t.true(Math.abs(s - soft[i]!) <= 1e-5 * s, `row ${i}: ${s} vs ${soft[i]}`));
  // At a τ where the weights are soft, the gradient is still the derivative of the smooth score.
  const { detector: soft02 } = await fitted('knn', { k: 3, smoothTopK: 0.2 });
  const gradient = gradientOf(soft02, queries);
  for (let i = 0; i < queries.vectors.length; i++) {
    const fd = centralDifference((vectors) => tensorScores(soft02, withVectors(queries, vectors)), queries, i, 1e-2);
    // float32 all the way (the smooth score has no float64 twin): score ≈ e, rounding 1e-7·e/2e-2 ≈ 1e-5 absolute.
    t.true(Math.abs(gradient[i]! - fd) <= 1e-2 * Math.abs(fd) + 1e-4, `element ${i}: gradient ${gradient[i]} vs central difference ${fd}`);
  }
});
