/**
 * APGD (attacks/optimisers/apgd.ts): its checkpoint schedule is AutoAttack's; it keeps and returns the best point;
 * and on a real tiny CLIP, at equal steps under the same L∞ budget, it reaches a mean objective at least as high
 * as Adam's and the signed-gradient step's (the comparison of Croce & Hein 2020, Fig. 2, at test scale).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom } from '../../attacks/attack-params.js';
import { apgdCheckpoints, apgdOptimiser } from '../../attacks/optimisers/apgd.js';
import { createAttack } from '../../attacks/registry.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import type { Encoder } from '../../src/models/encoder.js';
import { testImages } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';

const work = mkdtempSync(join(tmpdir(), 'advood-apgd-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
let clip: Encoder;
test.before(async () => {
  const backend = await initTestBackend();
  writeTinyClip(join(work, 'clip'), 'hf', 'quick_gelu');
  clip = await createEncoder(join(work, 'clip'), { backend });
});
test.after.always(() => clip?.dispose());

test("the checkpoints are AutoAttack's: after 0.22·N, then intervals shrinking by 0.03·N down to 0.06·N", (t) => {
  t.deepEqual(apgdCheckpoints(100).map((c) => c.at), [22, 41, 57, 70, 80, 87, 93, 99]);
  t.deepEqual(apgdCheckpoints(100).map((c) => c.interval), [22, 19, 16, 13, 10, 7, 6, 6]);
  t.deepEqual(apgdCheckpoints(3).map((c) => c.at), [1, 2]);
});

test('on a 1-D objective that overshoots, the step size halves and the best point seen is returned', (t) => {
  const before = tf.memory().numTensors;
  // gain(x) = −(x − 0.3)² under |x| ≤ 1: η₀ = 2 makes the first steps jump between the bounds.
  const optimiser = apgdOptimiser({ steps: 30, budget: { norm: 'linf', epsilon: 1 } });
  let x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
  let state = optimiser.init(x);
  const gainOf = (v: tf.Tensor4D) => Float32Array.of(-((v.dataSync()[0]! - 0.3) ** 2));
  const context = (v: tf.Tensor4D) => ({ gains: gainOf(v), objectives: gainOf(v), project: (p: tf.Tensor4D) => tf.clipByValue(p, -1, 1) as tf.Tensor4D });
  const seen: number[] = [];
  for (let step = 0; step < 30; step++) {
    seen.push(x.dataSync()[0]!);
    const lossGradient = tf.tidy(() => tf.mul(tf.sub(x, 0.3), 2)) as tf.Tensor4D;
    const next = optimiser.update(x, lossGradient, state, context(x));
    tf.dispose([x, lossGradient, ...state.tensors]);
    x = next.variable;
    state = next.state;
  }
  const stepSize = state.tensors[6]!.dataSync()[0]!;
  t.true(stepSize < 2, `η halved from 2 to ${stepSize}`);
  const best = optimiser.best!(x, state, context(x));
  const returned = best.variable.dataSync()[0]!;
  const bestSeen = [...seen, x.dataSync()[0]!].reduce((a, b) => (Math.abs(b - 0.3) < Math.abs(a - 0.3) ? b : a));
  t.is(returned, bestSeen);
  t.true(Math.abs(returned - 0.3) < 0.05, `best point ${returned}`);
  tf.dispose([x, best.variable, ...state.tensors]);
  t.is(tf.memory().numTensors, before);
});

test('tiny CLIP, L∞ ε = 8/255, 20 steps: APGD reaches a mean objective ≥ Adam’s and ≥ the signed-gradient step’s', (t) => {
  const clean = testImages(4, 32, 3);
  // Random directions, not image features: no image reaches them, so no optimiser saturates at cos ≈ 1.
  const targets = tf.randomNormal([4, 64], 0, 1, 'float32', 5) as tf.Tensor2D;
  const budget = { budget: { norm: 'linf', epsilon: 8 / 255 } };
  const mean = (optimiser: string, lr: number) => {
    const attack = createAttack(attackParamsFrom({ attack: 'feature-collision', optimiser, steps: 20, lr, batch: 4, initStd: 0, constraints: budget }), 1);
    const result = attack.run(clip, { clean, targets, itemKeys: ['a', 'b', 'c', 'd'] });
    result.adv.dispose();
    return result.stats.reduce((sum, s) => sum + s.objectiveFinal, 0) / result.stats.length;
  };
  // Adam at the learning rate that does best here among 1e-3…1e-1, signed gradient at ε/4 (the PGD step of
  // Madry et al. at this budget): APGD takes no step size.
  const adam = Math.max(...[1e-3, 1e-2, 1e-1].map((lr) => mean('adam', lr)));
  const signed = mean('signed-gradient', 8 / 4 / 255);
  const apgd = mean('apgd', 1);
  t.log(`mean cos after 20 steps: APGD ${apgd.toFixed(4)}, best Adam ${adam.toFixed(4)}, signed gradient ${signed.toFixed(4)}`);
  t.true(apgd >= adam, `APGD ${apgd} vs Adam ${adam}`);
  t.true(apgd >= signed, `APGD ${apgd} vs signed gradient ${signed}`);
  tf.dispose([clean, targets]);
});
