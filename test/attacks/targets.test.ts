import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { classPrototypes, nearestClass } from '../../attacks/targets/class-prototypes.js';
import { PROMPT_TEMPLATES } from '../../src/models/prompt-ensemble.js';
import { TARGET_STRATEGIES } from '../../attacks/registry.js';
import { lowBandEnergyShare } from '../../src/pipeline/quantized-finish.js';
import { UserError } from '../../src/core/errors.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { featureSet } from '../helpers/synthetic-features.js';
import { initTestBackend } from '../helpers/test-backend.js';

test.before(async () => {
  await initTestBackend();
});

// Two classes along different axes, with different norms per row (prototypes average *normalised* rows).
const ID = featureSet(
  [
    [2, 0, 0],
    [10, 0.0001, 0],
    [0, 1, 0],
    [0, 3, 3],
  ],
  { labels: [0, 0, 1, 1], classNames: ['Sneaker', 'Bag'] },
);
const items = (n: number, feature = [1, 0, 0]) => Array.from({ length: n }, (_, i) => ({ key: `ood/${i}`, cleanFeature: Float32Array.from(feature) }));
const context = (requestedClass: string | number | null = null, encoder = fakeEncoder(32)) => ({ seed: 5, encoder, classNames: ID.classNames, idFeatures: ID, requestedClass });
// 'sample' is handed only the rows it drew; here every row is encoded, so any draw finds its row.
const drawnContext = () => ({
  ...context(),
  drawn: { rows: ID.ids.length, features: new Map(ID.ids.map((id, i) => [i, { id, label: ID.labels[i]!, vector: ID.vectors.subarray(i * 3, i * 3 + 3) }])) },
});

test('prototypes are means of L2-normalised features', (t) => {
  const p = classPrototypes(ID);
  t.deepEqual(Array.from(p.means[0]!).map((x) => Math.round(x * 1e4) / 1e4), [1, 0, 0]);
  const h = Math.SQRT1_2;
  t.deepEqual(Array.from(p.means[1]!).map((x) => Math.round(x * 1e4) / 1e4), [0, Math.round(((1 + h) / 2) * 1e4) / 1e4, Math.round((h / 2) * 1e4) / 1e4]);
  t.is(nearestClass(p, Float32Array.from([0, 1, 1])).index, 1);
});

test('sample: one random ID row per item, stable per item key, independent of the batch', (t) => {
  const prepared = TARGET_STRATEGIES.sample.prepare(drawnContext());
  const all = prepared.choose(items(40));
  const indices = new Set(all.map((c) => c.targetIndex));
  t.true(indices.size > 1, 'different items draw different rows');
  all.forEach((c) => {
    t.deepEqual(Array.from(c.vector), Array.from(ID.vectors.subarray(c.targetIndex * 3, c.targetIndex * 3 + 3)));
    t.is(c.targetClass, ID.labels[c.targetIndex]);
    t.regex(c.reason, /random ID training image r\d .*paper/);
  });
  const alone = prepared.choose([items(40)[17]!]);
  t.is(alone[0]!.targetIndex, all[17]!.targetIndex);
  // The draw is made before anything is encoded: drawRow alone gives the row choose uses.
  t.is(TARGET_STRATEGIES.sample.drawRow(5, 'ood/17', ID.ids.length), all[17]!.targetIndex);
});

test('prototype: the given class, by name or index; else drawn per item', (t) => {
  const given = TARGET_STRATEGIES.prototype.prepare(context('bag')).choose(items(3));
  given.forEach((c) => {
    t.is(c.targetClass, 1);
    t.regex(c.reason, /prototype of ID class Bag \(given\)/);
  });
  t.is(TARGET_STRATEGIES.prototype.prepare(context(0)).choose(items(1))[0]!.targetClass, 0);
  const drawn = TARGET_STRATEGIES.prototype.prepare(context()).choose(items(30));
  t.deepEqual([...new Set(drawn.map((c) => c.targetClass))].sort(), [0, 1]);
  t.throws(() => TARGET_STRATEGIES.prototype.prepare(context('Coat')), { instanceOf: UserError, message: /unknown target class 'Coat'.*Sneaker, Bag/ });
  t.throws(() => TARGET_STRATEGIES.prototype.prepare(context(7)), { instanceOf: UserError, message: /out of range/ });
});

test('nearest-prototype: the class closest to the clean feature, with the reason', (t) => {
  const prepared = TARGET_STRATEGIES['nearest-prototype'].prepare(context());
  const [a, b] = prepared.choose([...items(1, [0.9, 0.1, 0]), ...items(1, [0, 0.2, 1])]);
  t.is(a!.targetClass, 0);
  t.is(b!.targetClass, 1);
  t.regex(b!.reason, /nearest ID class prototype to the clean image: Bag \(cos 0\.\d{3}\)/);
});

test('text: averaged unit embeddings of the five templates; a clear error without a text tower', (t) => {
  const encoder = fakeEncoder(32, { text: true });
  const [choice] = TARGET_STRATEGIES.text.prepare(context('Sneaker', encoder)).choose(items(1));
  const expected = tf.tidy(() => {
    const e = encoder.encodeText!(PROMPT_TEMPLATES.map((p) => p.replace('{c}', 'Sneaker')));
    const mean = tf.mean(tf.div(e, tf.norm(e, 'euclidean', 1, true)), 0);
    return Array.from(tf.div(mean, tf.norm(mean)).dataSync());
  });
  Array.from(choice!.vector).forEach((v, i) => t.true(Math.abs(v - expected[i]!) < 1e-6));
  t.is(choice!.targetClass, 0);
  t.throws(() => TARGET_STRATEGIES.text.prepare(context(null, fakeEncoder(32))), {
    instanceOf: UserError,
    message: /'text' needs a text-capable encoder \(CLIP\); 'fake@32'/,
  });
});

test('low-band energy share: 1 inside the band, small for white noise, 1 for zero δ', (t) => {
  const size = 16;
  const share = tf.tidy(() => {
    const smooth = tf.tile(tf.linspace(-0.1, 0.1, size).reshape([1, 1, size, 1]), [1, size, 1, 3]) as tf.Tensor4D;
    const noise = tf.randomNormal([1, size, size, 3], 0, 0.1, 'float32', 3) as tf.Tensor4D;
    return lowBandEnergyShare(tf.concat([smooth, noise, tf.zeros([1, size, size, 3])]) as tf.Tensor4D, 4);
  });
  t.true(share[0]! > 0.99, `linear ramp ${share[0]}`);
  t.true(share[1]! < 0.2, `white noise ${share[1]} (expected ≈ 16/256)`);
  t.is(share[2], 1);
});
