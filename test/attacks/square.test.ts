/**
 * The Square attack (attacks/square.ts): the paper's schedule of square sizes; on the tiny stand-in target
 * (test/helpers/attack-fake-encoder.ts) it only ever keeps improvements, stays within ε, never asks for a
 * gradient, gives an item the same result whatever batch it runs in, stops items at the threshold, and lowers a
 * fitted detector's AUROC by attacking its score; presets it cannot honour are refused in one line.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom } from '../../attacks/attack-params.js';
import type { AttackResult } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import { SQUARE_P_INIT, squareFraction } from '../../attacks/square.js';
import { l2SquareSide, linfSquareSide, metaPseudoGaussian } from '../../attacks/square-proposals.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import type { FeatureSet } from '../../src/data/feature-set.js';
import { fitDetector } from '../../src/detectors/evaluate-detectors.js';
import { isDifferentiable } from '../../src/detectors/detector.js';
import { createDetectors } from '../../src/detectors/registry.js';
import type { Encoder, FeatureKind } from '../../src/models/encoder.js';
import { detectorAttackObjective } from '../../src/pipeline/detector-objective.js';
import { fakeEncoder, testImages, testTargets } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';

const SIZE = 32;
const EPSILON = 8 / 255;
const LINF = { budget: { norm: 'linf', epsilon: EPSILON } };

test.before(async () => {
  await initTestBackend();
});

/** The encoder with a pixel gradient that throws: an attack that differentiates through it fails. */
function gradientFree(encoder: Encoder): Encoder {
  const refuse = tf.customGrad((...inputs) => ({
    value: tf.clone(inputs[0] as tf.Tensor),
    gradFunc: () => {
      throw new Error('the Square attack asked for a gradient');
    },
  })) as (x: tf.Tensor4D) => tf.Tensor4D;
  return { ...encoder, encodeImage: (pixels, kind) => tf.tidy(() => encoder.encodeImage(refuse(pixels), kind)) };
}

function squareParams(overrides: Record<string, unknown> = {}) {
  return attackParamsFrom({ attack: 'square', steps: 60, batch: 4, initStd: 0, constraints: LINF, ...overrides });
}

test("p follows the paper's schedule rescaled to the query budget, and the side stays inside the image", (t) => {
  t.is(squareFraction(0, 10000), SQUARE_P_INIT);
  t.is(squareFraction(10, 10000), SQUARE_P_INIT);
  t.is(squareFraction(11, 10000), SQUARE_P_INIT / 2);
  t.is(squareFraction(500, 10000), SQUARE_P_INIT / 8);
  t.is(squareFraction(9999, 10000), SQUARE_P_INIT / 512);
  // The same fractions of a shorter budget: step 1 of 1000 is at 10 of 10 000, step 2 past it; step 1 of 100 past 50.
  t.is(squareFraction(1, 1000), SQUARE_P_INIT);
  t.is(squareFraction(2, 1000), SQUARE_P_INIT / 2);
  t.is(squareFraction(1, 100), SQUARE_P_INIT / 4);
  t.is(linfSquareSide(0.8, 32, 32), 29);
  t.is(linfSquareSide(1, 32, 32), 31, 'at most one pixel less than the side');
  t.is(linfSquareSide(1e-6, 32, 32), 1, 'at least one pixel');
  t.is(l2SquareSide(0.8, 32, 32), 29);
  t.is(l2SquareSide(0.5, 32, 32), 23, 'round(√512) = 23, odd');
  t.is(l2SquareSide(0.25, 32, 32), 17, '16 made odd');
  t.is(l2SquareSide(1e-6, 32, 32), 3, 'at least 3');
  t.is(l2SquareSide(1, 32, 32), 31);
  t.is(l2SquareSide(1, 31, 31), 29, 'odd and below the side');
});

test("L2's bump is the paper's: unit norm, its halves of opposite sign, peaked at their centres", (t) => {
  const random = new SeededRandom(1);
  for (const side of [3, 5, 8, 11]) {
    const bump = metaPseudoGaussian(side, random);
    t.true(Math.abs(bump.reduce((s, v) => s + v * v, 0) - 1) < 1e-12);
    t.true(Math.abs(bump.reduce((s, v) => s + v, 0)) < 1e-9 || side % 2 === 1, 'even sides: the halves cancel');
    const max = Math.max(...bump);
    const min = Math.min(...bump);
    t.true(max > 0 && min < 0);
  }
});

const BUDGETS = [
  { norm: 'linf', epsilon: EPSILON },
  { norm: 'l2', epsilon: 0.5 },
] as const;

function deltaNorm(result: AttackResult, clean: tf.Tensor4D, norm: 'linf' | 'l2'): number {
  return tf.tidy(() => {
    const delta = tf.sub(result.adv, clean);
    const perItem = norm === 'linf' ? tf.max(tf.abs(delta), [1, 2, 3]) : tf.sqrt(tf.sum(tf.square(delta), [1, 2, 3]));
    return tf.max(perItem).dataSync()[0]!;
  });
}

for (const budget of BUDGETS) {
  test(`tiny target, ${budget.norm} ε = ${budget.epsilon.toFixed(4)}: the best objective never drops, δ stays within ε, no gradient is taken, and the cosine rises`, (t) => {
    const before = tf.memory().numTensors;
    const encoder = fakeEncoder(SIZE);
    const clean = testImages(4, SIZE, 3);
    const targets = testTargets(4, 16);
    const means: number[] = [];
    const attack = createAttack(squareParams({ constraints: { budget } }), 5);
    const result = attack.run(gradientFree(encoder), { clean, targets, itemKeys: ['a', 'b', 'c', 'd'] }, (event) => means.push(event.meanObjective));
    t.is(means.length, 59, 'one event per search step after the start');
    for (let s = 1; s < means.length; s++) t.true(means[s]! >= means[s - 1]!, `step ${s}: ${means[s - 1]} → ${means[s]}`);
    t.log(`mean cosine over 60 queries: ${means[0]!.toFixed(4)} → ${means[means.length - 1]!.toFixed(4)}`);
    t.true(means[means.length - 1]! > means[0]! + 0.01, `mean cosine ${means[0]} → ${means[means.length - 1]}`);
    const size = deltaNorm(result, clean, budget.norm);
    t.true(size <= budget.epsilon + 1e-5, `‖δ‖ = ${size}`);
    const inRange = tf.tidy(() => tf.logicalAnd(tf.greaterEqual(result.adv, 0), tf.lessEqual(result.adv, 1)).all().dataSync()[0]);
    t.is(inRange, 1, 'x + δ stays in [0, 1]');
    // The returned images are the ones scored: re-encoding them gives each item's final objective.
    const cosines = tf.tidy(() => {
      const f = encoder.encodeImage(result.adv);
      const unit = tf.div(targets, tf.norm(targets, 'euclidean', 1, true));
      return Array.from(tf.div(tf.sum(tf.mul(f, unit), 1), tf.norm(f, 'euclidean', 1)).dataSync());
    });
    result.stats.forEach((s, i) => {
      t.true(Math.abs(s.objectiveFinal - cosines[i]!) < 1e-5, `item ${i}: ${s.objectiveFinal} vs ${cosines[i]}`);
      t.is(s.stepsUsed, 60);
      t.false(s.converged);
    });
    tf.dispose([clean, targets, result.adv]);
    encoder.dispose();
    t.is(tf.memory().numTensors, before, 'every tensor is disposed');
  });
}

test("an item's result depends on its key and the seed, not on the batch it ran in", (t) => {
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(3, SIZE, 4);
  const targets = testTargets(3, 16, 2);
  const attack = createAttack(squareParams({ steps: 20 }), 9);
  const together = attack.run(encoder, { clean, targets, itemKeys: ['x', 'y', 'z'] });
  const [cleanY, targetY] = tf.tidy(() => [tf.slice(clean, [1], [1]), tf.slice(targets, [1], [1])] as [tf.Tensor4D, tf.Tensor2D]);
  const alone = attack.run(encoder, { clean: cleanY, targets: targetY, itemKeys: ['y'] });
  const again = attack.run(encoder, { clean, targets, itemKeys: ['x', 'y', 'z'] });
  const otherSeed = createAttack(squareParams({ steps: 20 }), 10).run(encoder, { clean, targets, itemKeys: ['x', 'y', 'z'] });
  const row = (r: AttackResult, i: number) => Array.from(tf.tidy(() => tf.slice(r.adv, [i], [1]).dataSync()));
  t.deepEqual(row(alone, 0), row(together, 1));
  t.is(alone.stats[0]!.objectiveFinal, together.stats[1]!.objectiveFinal);
  t.deepEqual(row(again, 0), row(together, 0));
  t.notDeepEqual(row(otherSeed, 0), row(together, 0));
  tf.dispose([clean, targets, cleanY, targetY, together.adv, alone.adv, again.adv, otherSeed.adv]);
  encoder.dispose();
});

test('an item that reaches the threshold stops there, converged', (t) => {
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(2, SIZE, 5);
  // The first target is the first image's own features: its start already exceeds the threshold.
  const own = tf.tidy(() => encoder.encodeImage(tf.slice(clean, [0], [1])));
  const targets = tf.concat([own, testTargets(1, 16, 3)]) as tf.Tensor2D;
  const result = createAttack(squareParams({ steps: 30, threshold: 0.5 }), 1).run(encoder, { clean, targets, itemKeys: ['p', 'q'] });
  t.is(result.stats[0]!.stepsUsed, 1);
  t.true(result.stats[0]!.converged);
  t.true(result.stats[1]!.stepsUsed > 1);
  tf.dispose([clean, own, targets, result.adv]);
  encoder.dispose();
});

function featureSetOf(encoder: Encoder, images: tf.Tensor4D, kind: FeatureKind, labels: number[]): FeatureSet {
  const features = tf.tidy(() => encoder.encodeImage(images, kind));
  try {
    return { ids: labels.map((_, i) => `id${i}`), labels: Int32Array.from(labels), classNames: ['dark', 'light'], dim: features.shape[1], vectors: features.dataSync() as Float32Array };
  } finally {
    features.dispose();
  }
}

/** P(score of an ID image > score of an OOD image), ties counting half: the AUROC with ID as positive. */
function auroc(id: readonly number[], ood: readonly number[]): number {
  let wins = 0;
  for (const a of id) for (const b of ood) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return wins / (id.length * ood.length);
}

test("attacking a fitted Mahalanobis detector's score without gradients lowers its AUROC", async (t) => {
  const encoder = fakeEncoder(SIZE);
  const ranges: [number, number][] = [[0, 0.4], [0.6, 1]];
  const train = tf.concat(ranges.map(([lo, hi], c) => testImages(24, SIZE, 30 + c, lo, hi)));
  const labels = ranges.flatMap((_, c) => Array<number>(24).fill(c));
  const [detector] = createDetectors([{ name: 'mahalanobis', options: {} }]);
  await fitDetector(detector!, { 'pre-projection': featureSetOf(encoder, train, 'pre-projection', labels) });
  train.dispose();
  if (!isDifferentiable(detector!)) throw new Error('mahalanobis has no scoreTensor');
  const idTest = tf.concat(ranges.map(([lo, hi], c) => testImages(6, SIZE, 40 + c, lo, hi)));
  // OOD: images a little brighter than the dark class, far from both classes in Mahalanobis distance.
  const ood = testImages(8, SIZE, 50, 0.15, 0.55);
  const score = (images: tf.Tensor4D) => tf.tidy(() => Array.from(detector!.scoreTensor(encoder.encodeImage(images)).dataSync()));
  const attack = createAttack(squareParams({ steps: 150, batch: 8, constraints: { budget: { norm: 'linf', epsilon: 16 / 255 } } }), 2, detectorAttackObjective(detector!, 'detector:mahalanobis'));
  const result = attack.run(gradientFree(encoder), { clean: ood, targets: tf.zeros([8, 16]) as tf.Tensor2D, itemKeys: Array.from({ length: 8 }, (_, i) => `ood${i}`) });
  const idScores = score(idTest);
  const clean = auroc(idScores, score(ood));
  const attacked = auroc(idScores, score(result.adv));
  t.log(`Mahalanobis AUROC: clean ${(100 * clean).toFixed(1)} %, after 150 Square queries at 16/255 ${(100 * attacked).toFixed(1)} %`);
  t.true(attacked < clean - 0.1, `AUROC ${clean} → ${attacked}`);
  tf.dispose([idTest, ood, result.adv]);
  encoder.dispose();
});

test('a Square preset it cannot honour is one line naming the field', (t) => {
  const refused = (constraints: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    t.throws(() => squareParams({ constraints, ...extra }), { instanceOf: UserError })!.message;
  t.regex(refused({ budget: null }), /constraints\.budget.*needed by attack 'square'/);
  t.regex(refused({ ...LINF, smoothness: { lambda: 1 } }), /constraints\.smoothness.*must be null/);
  t.regex(refused({ ...LINF, dctLowPass: { k: 4 } }), /constraints\.dctLowPass/);
  t.regex(refused(LINF, { optimiser: 'apgd' }), /optimiser.*must be absent/);
  for (const message of [refused({ budget: null })]) t.false(message.includes('\n'));
});
