import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { LinearProbeDetector } from '../../src/detectors/linear-probe.js';
import { learningRateSchedule, trainLinearProbe } from '../../src/detectors/shared/linear-probe-training.js';
import { logitScores } from '../../src/detectors/shared/logit-scores.js';
import { McmDetector } from '../../src/detectors/mcm.js';
import { PseudoLabelProbeDetector, pseudoLabels } from '../../src/detectors/pseudo-label-probe.js';
import { createDetectors } from '../../src/detectors/registry.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import { featureSet, gaussianClusters } from '../helpers/synthetic-features.js';
import { initTestBackend } from '../helpers/test-backend.js';

const MEANS = [[4, 0, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0], [0, 0, 4, 0, 0, 0]];
// Tests use a higher peak lr than the paper's 1e-3 so 15 short epochs converge (effective lr 0.05 at batch 32).
const FAST = { epochs: 15, batchSize: 32, learningRate: 0.4 };

test.before(async () => {
  await initTestBackend();
});

test('logit scores: MSP, energy and max-logit by hand', (t) => {
  const logits = [2, 0, 0, 1, 1, 1];
  const msp = logitScores(logits, 2, 3, 'msp');
  const energy = logitScores(logits, 2, 3, 'energy');
  const maxLogit = logitScores(logits, 2, 3, 'max-logit');
  t.true(Math.abs(msp[0]! - Math.exp(2) / (Math.exp(2) + 2)) < 1e-12);
  t.true(Math.abs(msp[1]! - 1 / 3) < 1e-12);
  t.true(Math.abs(energy[0]! - Math.log(Math.exp(2) + 2)) < 1e-12);
  t.true(Math.abs(energy[1]! - (1 + Math.log(3))) < 1e-12);
  t.deepEqual(Array.from(maxLogit), [2, 1]);
  // T·logsumexp(l/T) at T = 2, and no overflow at huge logits.
  t.true(Math.abs(logitScores(logits, 1, 3, 'energy', 2)[0]! - 2 * Math.log(Math.exp(1) + 2)) < 1e-12);
  t.is(logitScores([1000, 0], 1, 2, 'energy')[0], 1000);
});

test('lr schedule: 10 % linear warm-up from 0, cosine to 0 (the authors’ cosine_scheduler_iter)', (t) => {
  const s = learningRateSchedule(100, 1e-3, 0.1);
  t.is(s[0], 0);
  t.true(Math.abs(s[9]! - 1e-3) < 1e-15);
  t.true(Math.abs(s[10]! - 1e-3) < 1e-15);
  t.true(Math.abs(s[55]! - 0.5e-3) < 1e-12); // halfway through the cosine
  t.true(s[99]! > 0 && s[99]! < 1e-5);
});

test('probe training is deterministic for a seed, learns separable classes, and does not leak tensors', (t) => {
  const train = gaussianClusters(new SeededRandom(1), MEANS, 60, 1);
  const before = tf.memory().numTensors;
  const a = trainLinearProbe(train, train.labels, 3, { ...FAST, seed: 5 });
  const b = trainLinearProbe(train, train.labels, 3, { ...FAST, seed: 5 });
  const c = trainLinearProbe(train, train.labels, 3, { ...FAST, seed: 6 });
  t.is(tf.memory().numTensors, before);
  t.deepEqual(a.weights, b.weights);
  t.notDeepEqual(a.weights, c.weights);
  t.true(a.finalLoss < 0.2, `loss ${a.finalLoss}`);
});

test('supervised probe heads share one training and score ID above far OOD', async (t) => {
  const random = new SeededRandom(2);
  const train = gaussianClusters(random, MEANS, 60, 1);
  let epochs = 0;
  const [msp, energy] = createDetectors(['probe-msp:epochs=15,batchSize=32,learningRate=0.4', 'probe-energy:epochs=15,batchSize=32,learningRate=0.4']) as [LinearProbeDetector, LinearProbeDetector];
  await msp.fit({ train });
  await energy.fit({ train });
  t.is(msp.trained, energy.trained, 'one probe for both heads');
  const id = gaussianClusters(random, MEANS, 20, 1, 'id');
  // OOD sits between the classes, where the probe is least sure.
  const ood = featureSet(Array.from({ length: 20 }, () => [1.33, 1.33, 1.33, 0, 0, 0].map((m) => m + 0.3 * random.nextGaussian())), { prefix: 'ood' });
  const mean = (s: Float64Array) => s.reduce((x, y) => x + y, 0) / s.length;
  t.true(mean(msp.score(id)) > mean(msp.score(ood)) + 0.2);
  t.true(mean(energy.score(id)) > mean(energy.score(ood)));
  // A standalone detector trains with a progress callback.
  const solo = new LinearProbeDetector({ training: { ...FAST }, onEpoch: () => epochs++ });
  await solo.fit({ train });
  t.is(epochs, 15);
  await t.throwsAsync(new LinearProbeDetector().fit({ train: featureSet([[1, 2], [2, 3]]) }), { instanceOf: UserError, message: /needs class labels/ });
});

test('MCM is the softmax at T = 1 of cosines to the text embeddings', (t) => {
  const text = featureSet([[1, 0], [0, 2]], { prefix: 'class' });
  const detector = new McmDetector();
  detector.fit({ train: featureSet([[1, 0]]), textEmbeddings: text });
  const s = detector.score(featureSet([[3, 0], [1, 1]], { prefix: 'q' }));
  t.true(Math.abs(s[0]! - Math.E / (Math.E + 1)) < 1e-6);
  t.true(Math.abs(s[1]! - 0.5) < 1e-6);
  t.throws(() => new McmDetector().fit({ train: featureSet([[1, 0]]) }), { instanceOf: UserError, message: /needs class text embeddings/ });
  t.throws(() => detector.score(featureSet([[1, 0, 0]], { prefix: 'q' })), { instanceOf: UserError, message: /3-d/ });
});

test('PLP pseudo-labels are the zero-shot argmax and its probe learns them', async (t) => {
  const random = new SeededRandom(3);
  // Pre-projection features: the clusters. Projected features: a 2-d "joint space" where class c points at text c.
  const train = gaussianClusters(random, MEANS, 40, 0.8);
  const directions = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const projectedRows = Array.from(train.labels, (c) => directions[c]!.map((v) => v + 0.1 * random.nextGaussian()));
  const trainProjected = { ...featureSet(projectedRows), ids: train.ids };
  const textEmbeddings = featureSet(directions, { prefix: 'text' });
  const { labels, classes } = pseudoLabels({ train, trainProjected, textEmbeddings }, 'plp');
  t.is(classes, 3);
  t.deepEqual(Array.from(labels), Array.from(train.labels));
  const plp = new PseudoLabelProbeDetector({ head: 'max-logit', training: FAST });
  await plp.fit({ train, trainProjected, textEmbeddings });
  t.is(plp.name, 'plp-max-logit');
  const s = plp.score(gaussianClusters(random, MEANS, 5, 0.5, 'q'));
  t.true(s.every(Number.isFinite));
  await t.throwsAsync(new PseudoLabelProbeDetector().fit({ train, textEmbeddings }), { instanceOf: UserError, message: /projected features of the ID train set/ });
  const misaligned = { ...trainProjected, ids: [...trainProjected.ids].reverse() };
  await t.throwsAsync(new PseudoLabelProbeDetector().fit({ train, trainProjected: misaligned, textEmbeddings }), { instanceOf: UserError, message: /row 0 is/ });
});
