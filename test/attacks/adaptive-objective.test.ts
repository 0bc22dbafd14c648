/**
 * The adaptive attack on a tiny target (test/helpers/attack-fake-encoder.ts): for every differentiable detector,
 * fitted on the target's features of three ID "classes" of images, climbing its scoreTensor raises its ID score
 * of OOD images. Checked on the mean over the batch, step by step (the attack's onStep values, measured before
 * each update): the mean never drops by more than 2 % of its total rise, and the rise is positive.
 * Why a tolerance: Adam's step is not a descent guarantee, and the max/min/top-k inside the scores switch
 * winners, where the gradient jumps. On wasm every detector's mean rose at every step here (the largest drop,
 * logged, was 0); the 2 % leaves room for another backend's float rounding without letting a real descent pass.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom } from '../../attacks/attack-params.js';
import { createAttack } from '../../attacks/registry.js';
import type { FeatureSet } from '../../src/data/feature-set.js';
import { fitDetector } from '../../src/detectors/evaluate-detectors.js';
import { isDifferentiable } from '../../src/detectors/detector.js';
import { DETECTORS, createDetectors } from '../../src/detectors/registry.js';
import type { FeatureKind } from '../../src/models/encoder.js';
import { detectorAttackObjective } from '../../src/pipeline/detector-objective.js';
import { textFeatureSet } from '../../src/pipeline/feature-views.js';
import { cachedTextEmbedder } from '../../src/pipeline/text-embedder.js';
import { fakeEncoder, testImages } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';

const SIZE = 32;
const CLASSES = ['dark', 'mid', 'light'];
const RANGES: [number, number][] = [[0, 0.45], [0.3, 0.75], [0.55, 1]];
const PER_CLASS = 24;
// A higher peak lr than the paper's so that a few short epochs converge (as in detectors/every-entry.test.ts).
const FAST_PROBE = { epochs: 20, batchSize: 24, learningRate: 0.4 };

/**
 * Options where the default leaves nothing to climb on this 8-d target: at NegLabel's T = 0.01 every group's
 * softmax is saturated (the score sits at 0.2500 and its gradient underflows); at T = 0.3 it moves.
 */
const CLIMBED_AT: Record<string, Record<string, number>> = { neglabel: { temperature: 0.3 } };

// NegLabel embeds its lexicon through the pipeline's cached embedder (src/pipeline/text-embedder.ts).
const textCache = mkdtempSync(join(tmpdir(), 'advood-text-'));
test.after.always(() => rmSync(textCache, { recursive: true, force: true }));

test.before(async () => {
  await initTestBackend();
});

function featureSetOf(encoder: ReturnType<typeof fakeEncoder>, images: tf.Tensor4D, kind: FeatureKind, labels: number[]): FeatureSet {
  const features = tf.tidy(() => encoder.encodeImage(images, kind));
  try {
    return { ids: labels.map((_, i) => `id${i}`), labels: Int32Array.from(labels), classNames: CLASSES, dim: features.shape[1], vectors: features.dataSync() as Float32Array };
  } finally {
    features.dispose();
  }
}

for (const entry of DETECTORS.filter((d) => d.differentiable)) {
  test(`${entry.name}: the adaptive attack raises its ID score of OOD images, monotonically in the mean`, async (t) => {
    const encoder = fakeEncoder(SIZE, { text: true });
    const images = tf.concat(RANGES.map(([lo, hi], c) => testImages(PER_CLASS, SIZE, 20 + c, lo, hi)));
    const labels = RANGES.flatMap((_, c) => Array<number>(PER_CLASS).fill(c));
    const train = {
      'pre-projection': featureSetOf(encoder, images, 'pre-projection', labels),
      projected: featureSetOf(encoder, images, 'projected', labels),
      'local-projected': featureSetOf(encoder, images, 'local-projected', labels),
    };
    images.dispose();
    const options = { ...(entry.options.some((o) => o.name === 'epochs') ? FAST_PROBE : {}), ...CLIMBED_AT[entry.name] };
    const [detector] = createDetectors([{ name: entry.name, options }]);
    await fitDetector(detector!, train, entry.needs.text ? { textEmbeddings: textFeatureSet(encoder, CLASSES), embedText: cachedTextEmbedder(encoder, { cacheDir: textCache }) } : {});
    if (!isDifferentiable(detector!)) throw new Error(`${entry.name} has no scoreTensor`);

    const params = attackParamsFrom({ steps: 25, lr: 0.01, batch: 4, threshold: null, constraints: { dctLowPass: { k: 6 } } });
    const attack = createAttack(params, 3, detectorAttackObjective(detector!, `detector:${entry.name}`));
    const clean = testImages(4, SIZE, 99);
    const targets = tf.zeros([4, 16]) as tf.Tensor2D;
    const means: number[] = [];
    const result = attack.run(encoder, { clean, targets, itemKeys: ['a', 'b', 'c', 'd'] }, (event) => means.push(event.meanObjective));
    const finalScores = tf.tidy(() => Array.from(detector!.scoreTensor(encoder.encodeImage(result.adv, detector!.featureKind)).dataSync()));
    tf.dispose([clean, targets, result.adv]);
    encoder.dispose();

    t.is(means.length, 25, 'no early stop: every step runs');
    const rise = means[means.length - 1]! - means[0]!;
    t.true(rise > 0, `mean score ${means[0]} → ${means[means.length - 1]}`);
    const drops = means.slice(1).map((m, s) => Math.max(0, means[s]! - m));
    t.log(`mean score ${means[0]!.toPrecision(4)} → ${means[means.length - 1]!.toPrecision(4)}; largest drop ${(Math.max(...drops) / rise).toFixed(4)} of the rise`);
    for (let s = 1; s < means.length; s++) t.true(means[s]! >= means[s - 1]! - 0.02 * rise, `step ${s}: ${means[s - 1]} → ${means[s]} (rise ${rise})`);
    const finalMean = finalScores.reduce((a, b) => a + b, 0) / finalScores.length;
    t.true(finalMean >= means[0]! + 0.5 * rise, `the returned images keep the gain: ${finalMean} vs start ${means[0]}`);
    result.stats.forEach((s) => t.false(s.converged));
  });
}
