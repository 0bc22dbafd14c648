import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom, type AttackParams } from '../../attacks/attack-params.js';
import { applySeparable, bilinearUpsampleMatrix, dctMatrix, transposedTensor } from '../../attacks/constraints/separable-basis.js';
import { lowResolutionParametrisation } from '../../attacks/constraints/low-resolution.js';
import { quantizedFinish } from '../../src/pipeline/quantized-finish.js';
import { ATTACKS, attackNames, createAttack } from '../../attacks/registry.js';
import { fakeEncoder, testImages, testTargets } from '../helpers/attack-fake-encoder.js';
import { acceptedParams, testSteps } from '../helpers/attack-variants.js';
import { initTestBackend } from '../helpers/test-backend.js';

const SIZE = 32;
/** Gauss–Jordan inverse of a small dense [n×n] matrix (float64). */
function invert(matrix: Float32Array, n: number): Float32Array {
  const a = Array.from({ length: n }, (_, r) => [...Array.from(matrix.subarray(r * n, r * n + n)), ...Array.from({ length: n }, (_, c) => (c === r ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    a[col] = a[col]!.map((x) => x / p);
    for (let r = 0; r < n; r++) if (r !== col) a[r] = a[r]!.map((x, c) => x - a[r]![col]! * a[col]![c]!);
  }
  return Float32Array.from(a.flatMap((row) => row.slice(n)));
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `item-${i}`);

test.before(async () => {
  await initTestBackend();
});

function run(params: AttackParams, options: { n?: number; seed?: number; lo?: number; hi?: number; targetSeed?: number } = {}) {
  const n = options.n ?? 3;
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(n, SIZE, 7, options.lo ?? 0, options.hi ?? 1);
  const targets = testTargets(n, 16, options.targetSeed ?? 11);
  const result = createAttack(params, options.seed ?? 1).run(encoder, { clean, targets, itemKeys: keys(n) });
  return { encoder, clean, targets, result };
}

function cosines(encoder: ReturnType<typeof fakeEncoder>, images: tf.Tensor4D, targets: tf.Tensor2D): number[] {
  return tf.tidy(() => {
    const f = encoder.encodeImage(images);
    const dot = tf.sum(tf.mul(f, targets), 1);
    return Array.from(tf.div(dot, tf.mul(tf.norm(f, 'euclidean', 1), tf.norm(targets, 'euclidean', 1))).dataSync());
  });
}

const CONSTRAINT_CASES: Record<string, Record<string, unknown>> = {
  none: {},
  smoothness: { smoothness: { lambda: 50 } },
  lowResolution: { lowResolution: { scale: 4 } },
  dctLowPass: { dctLowPass: { k: 6 } },
  linfBudget: { budget: { norm: 'linf', epsilon: 0.03 } },
  l2Budget: { budget: { norm: 'l2', epsilon: 1 } },
  composed: { smoothness: { lambda: 50 }, dctLowPass: { k: 6 }, budget: { norm: 'linf', epsilon: 0.05 } },
};

test('the cases below: every gradient attack takes every constraint case, and Square only a budget on its own', (t) => {
  for (const attack of attackNames()) {
    const taken = Object.entries(CONSTRAINT_CASES).filter(([, constraints]) => acceptedParams({ attack, constraints })).map(([name]) => name);
    t.deepEqual(taken, ATTACKS[attack]!.gradientFree ? ['linfBudget', 'l2Budget'] : Object.keys(CONSTRAINT_CASES), attack);
  }
});

for (const attack of attackNames()) {
  // Each attack with every case its presets may hold (Square: the budgets only; test/attacks/square.test.ts has the refusals).
  const steps = testSteps(attack, 15, 60);
  for (const [caseName, constraints] of Object.entries(CONSTRAINT_CASES).filter(([, constraints]) => acceptedParams({ attack, constraints }))) {
    test(`${attack} / ${caseName}: cos to the target increases and pixels stay in [0,1]`, (t) => {
      const lr = attack === 'feature-collision-pgd' ? 2e-3 : 1e-2;
      const { encoder, clean, targets, result } = run(attackParamsFrom({ attack, steps, lr, batch: 3, constraints }));
      const before = cosines(encoder, clean, targets);
      const after = cosines(encoder, result.adv, targets);
      after.forEach((c, i) => t.true(c > before[i]! + 0.01, `item ${i}: ${before[i]} → ${c}`));
      result.stats.forEach((s, i) => {
        t.is(s.stepsUsed, steps);
        t.true(Math.abs(s.objectiveFinal - after[i]!) < 1e-4);
      });
      const pixels = result.adv.dataSync();
      t.true(pixels.every((p) => p >= 0 && p <= 1));
      tf.dispose([clean, targets, result.adv]);
      encoder.dispose();
    });
  }
}

test('low-resolution δ is exactly the bilinearly upsampled grid', (t) => {
  // Parametrisation alone, against tfjs's own resizeBilinear with half-pixel centres.
  const grid = testTargets(2 * 8 * 8 * 3, 1, 5).reshape([2, 8, 8, 3]) as tf.Tensor4D;
  const param = lowResolutionParametrisation(SIZE, SIZE, 4);
  const ours = param.toDelta(grid);
  const reference = tf.image.resizeBilinear(grid, [SIZE, SIZE], false, true);
  t.true(tf.max(tf.abs(tf.sub(ours, reference))).dataSync()[0]! < 1e-5);
  tf.dispose([grid, ours, reference]);
  param.dispose();

  // Through the attack (images inside (0,1) so the pixel clamp never cuts): δ lies in the range of the
  // upsampling operator, i.e. projecting it onto that range changes nothing.
  const { encoder, clean, targets, result } = run(attackParamsFrom({ steps: 10, lr: 1e-2, constraints: { lowResolution: { scale: 4 } } }), {
    lo: 0.3,
    hi: 0.7,
  });
  const residual = tf.tidy(() => {
    const delta = tf.sub(result.adv, clean) as tf.Tensor4D;
    // Least-squares grid g = A·δ·Aᵀ with A = (UᵀU)⁻¹Uᵀ, then back through U: the range projection of δ.
    const u = bilinearUpsampleMatrix(SIZE, 8);
    const uT = transposedTensor(u, SIZE, 8); // [8×32]
    const gram = tf.matMul(uT, tf.tensor2d(u, [SIZE, 8]));
    const pinvT = tf.matMul(tf.tensor2d(invert(gram.dataSync() as Float32Array, 8), [8, 8]), uT); // A [8×32]
    // applySeparable(v, L, R) = Lᵀ v R: g = A δ Aᵀ needs L = Aᵀ [32×8], R = Aᵀ.
    const aT = tf.transpose(pinvT) as tf.Tensor2D;
    const grid = applySeparable(delta, aT, aT);
    const projected = applySeparable(grid, uT, uT);
    return tf.max(tf.abs(tf.sub(projected, delta))).dataSync()[0]! / tf.max(tf.abs(delta)).dataSync()[0]!;
  });
  t.true(residual < 1e-3, `relative residual ${residual}`);
  tf.dispose([clean, targets, result.adv]);
  encoder.dispose();
});

test('DCT low-pass δ has no energy outside the k×k band', (t) => {
  const { encoder, clean, targets, result } = run(attackParamsFrom({ steps: 10, lr: 1e-2, constraints: { dctLowPass: { k: 5 } } }), { lo: 0.3, hi: 0.7 });
  const [inside, outside] = tf.tidy(() => {
    const delta = tf.sub(result.adv, clean) as tf.Tensor4D;
    const dT = transposedTensor(dctMatrix(SIZE), SIZE, SIZE);
    const energy = tf.square(applySeparable(delta, dT, dT));
    const total = tf.sum(energy).dataSync()[0]!;
    const low = tf.sum(tf.slice(energy, [0, 0, 0, 0], [-1, 5, 5, -1])).dataSync()[0]!;
    return [low, total - low];
  });
  t.true(inside > 0);
  t.true(outside / inside < 1e-9, `outside/inside energy ${outside / inside}`);
  tf.dispose([clean, targets, result.adv]);
  encoder.dispose();
});

test('an L∞ budget is never exceeded, for any step count and parametrisation', (t) => {
  for (const constraints of [{}, { dctLowPass: { k: 6 } }, { lowResolution: { scale: 2 } }]) {
    for (const steps of [1, 4, 12]) {
      const epsilon = 8 / 255;
      const { encoder, clean, targets, result } = run(
        attackParamsFrom({ steps, lr: 5e-2, constraints: { ...constraints, budget: { norm: 'linf', epsilon } } }),
      );
      const linf = tf.tidy(() => tf.max(tf.abs(tf.sub(result.adv, clean))).dataSync()[0]!);
      t.true(linf <= epsilon * (1 + 1e-5), `${JSON.stringify(constraints)} steps ${steps}: L∞ ${linf}`);
      t.true(linf > epsilon * 0.5, 'the budget is actually reached (the test would notice an inactive attack)');
      tf.dispose([clean, targets, result.adv]);
      encoder.dispose();
    }
  }
});

test('an L2 budget is never exceeded', (t) => {
  const epsilon = 0.5;
  const { encoder, clean, targets, result } = run(attackParamsFrom({ steps: 8, lr: 5e-2, constraints: { budget: { norm: 'l2', epsilon } } }));
  const l2 = tf.tidy(() => Array.from(tf.sqrt(tf.sum(tf.square(tf.sub(result.adv, clean)), [1, 2, 3])).dataSync()));
  l2.forEach((v) => t.true(v <= epsilon * (1 + 1e-5), `L2 ${v}`));
  tf.dispose([clean, targets, result.adv]);
  encoder.dispose();
});

test('the same seed gives byte-identical PNGs; another seed does not', async (t) => {
  const pngs = async (seed: number) => {
    const { encoder, clean, targets, result } = run(attackParamsFrom({ steps: 5, lr: 1e-2, constraints: { smoothness: { lambda: 10 } } }), { seed });
    const items = await quantizedFinish({ encoder, features: 'pre-projection', clean, adv: result.adv, targets, prototypes: null, energyBand: 0.125, itemKeys: keys(3), budget: null });
    tf.dispose([clean, targets, result.adv]);
    encoder.dispose();
    return items.map((i) => Buffer.from(i.png).toString('hex'));
  };
  const a = await pngs(3);
  t.deepEqual(await pngs(3), a);
  t.notDeepEqual(await pngs(4), a);
});

test("an item's init does not depend on the rest of its batch", (t) => {
  const params = attackParamsFrom({ steps: 0 + 1, lr: 1e-9, initStd: 0.05 });
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(3, SIZE, 7, 0.3, 0.7);
  const targets = testTargets(3, 16);
  const full = createAttack(params, 9).run(encoder, { clean, targets, itemKeys: keys(3) });
  const single = tf.tidy(() => tf.slice(clean, [2, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
  const singleTarget = tf.tidy(() => tf.slice(targets, [2, 0], [1, -1])) as tf.Tensor2D;
  const alone = createAttack(params, 9).run(encoder, { clean: single, targets: singleTarget, itemKeys: ['item-2'] });
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(full.adv, [2, 0, 0, 0], [1, -1, -1, -1]), alone.adv))).dataSync()[0]!);
  t.true(diff < 1e-6, `difference ${diff}`);
  tf.dispose([clean, targets, full.adv, single, singleTarget, alone.adv]);
  encoder.dispose();
});

test('finished items stop at the threshold and stop changing', (t) => {
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(4, SIZE);
  const targets = testTargets(4, 16);
  const threshold = 0.985;
  const long = createAttack(attackParamsFrom({ steps: 100, lr: 1e-2, threshold }), 1).run(encoder, { clean, targets, itemKeys: keys(4) });
  const used = long.stats.map((s) => s.stepsUsed);
  t.true(new Set(used).size > 1, `items finish at different steps (${used})`);
  // Stop the short run after the first item has finished but before the last one does.
  const shortSteps = Math.min(...used) + 1;
  const short = createAttack(attackParamsFrom({ steps: shortSteps, lr: 1e-2, threshold }), 1).run(encoder, { clean, targets, itemKeys: keys(4) });
  const converged = short.stats.flatMap((s, i) => (s.converged ? [i] : []));
  t.true(converged.length > 0 && converged.length < 4, `some but not all items converged within ${shortSteps} steps`);
  for (const i of converged) {
    t.true(short.stats[i]!.objectiveFinal >= threshold);
    t.true(short.stats[i]!.stepsUsed < shortSteps);
    t.deepEqual(long.stats[i], short.stats[i]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(short.adv, [i, 0, 0, 0], [1, -1, -1, -1]), tf.slice(long.adv, [i, 0, 0, 0], [1, -1, -1, -1])))).dataSync()[0]!);
    t.is(diff, 0, `item ${i} changed after finishing`);
  }
  tf.dispose([clean, targets, short.adv, long.adv]);
  encoder.dispose();
});

test('no tensor leak over a 100-step run with every constraint and early stopping', (t) => {
  const encoder = fakeEncoder(SIZE);
  const clean = testImages(4, SIZE);
  const targets = testTargets(4, 16);
  const startTensors = tf.memory().numTensors;
  const params = attackParamsFrom({
    steps: 100,
    lr: 1e-2,
    threshold: 0.6,
    constraints: { smoothness: { lambda: 10 }, dctLowPass: { k: 8 }, budget: { norm: 'l2', epsilon: 2 } },
  });
  const result = createAttack(params, 1).run(encoder, { clean, targets, itemKeys: keys(4) });
  t.is(tf.memory().numTensors, startTensors + 1, 'only the returned adv tensor remains');
  result.adv.dispose();
  t.is(tf.memory().numTensors, startTensors);
  tf.dispose([clean, targets]);
  encoder.dispose();
});
