import test from 'ava';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { adamOptimiser } from '../../attacks/optimisers/adam.js';
import { OPTIMISERS } from '../../attacks/optimisers/optimisers.js';
import { signedGradientOptimiser } from '../../attacks/optimisers/signed-gradient.js';
import { initTestBackend } from '../helpers/test-backend.js';

interface Golden {
  theta0: number[];
  c: number[];
  w: number[];
  lr: number;
  steps: number[][];
}

test.before(async () => {
  await initTestBackend();
});

test('Adam follows torch.optim.Adam step for step (golden from PyTorch 1.13)', (t) => {
  const golden = JSON.parse(readFileSync(new URL('../reference/attack-adam-golden.json', import.meta.url), 'utf8')) as Golden;
  const n = golden.theta0.length;
  const c = tf.tensor4d(golden.c, [1, 1, n, 1]);
  const w = tf.tensor4d(golden.w, [1, 1, n, 1]);
  const adam = adamOptimiser(golden.lr);
  let theta = tf.tensor4d(golden.theta0, [1, 1, n, 1]);
  let state = adam.init(theta);
  golden.steps.forEach((expected, step) => {
    // ∇ Σ w(θ−c)² = 2w(θ−c)
    const gradient = tf.tidy(() => tf.mul(tf.mul(w, 2), tf.sub(theta, c))) as tf.Tensor4D;
    const next = adam.update(theta, gradient, state);
    tf.dispose([theta, gradient, ...state.tensors]);
    theta = next.variable;
    state = next.state;
    const got = Array.from(theta.dataSync());
    got.forEach((v, i) => t.true(Math.abs(v - expected[i]!) <= 1e-6 * Math.max(1, Math.abs(expected[i]!)), `step ${step + 1}, θ${i}: ${v} vs ${expected[i]}`));
  });
  tf.dispose([theta, c, w, ...state.tensors]);
});

test('signed-gradient descent moves every coordinate by exactly the step size against the gradient', (t) => {
  const opt = signedGradientOptimiser(0.25);
  const theta = tf.tensor4d([1, 1, 1, 1], [1, 1, 4, 1]);
  const gradient = tf.tensor4d([3, -1e-6, 0, -7], [1, 1, 4, 1]);
  const { variable } = opt.update(theta, gradient, opt.init(theta));
  t.deepEqual(Array.from(variable.dataSync()), [0.75, 1.25, 1, 1.25]);
  tf.dispose([theta, gradient, variable]);
});

for (const entry of Object.values(OPTIMISERS)) {
  test(`optimiser '${entry.name}' (registry): descends a per-item quadratic, keeps per-row state, leaks no tensor`, (t) => {
    const before = tf.memory().numTensors;
    const optimiser = entry.build(0.05, { steps: 10, budget: { norm: 'linf', epsilon: 0.05 } });
    t.is(optimiser.name, entry.name);
    t.true(entry.description.length > 10);
    // Two items with different minima c: f_i(θ) = Σ (θ − c_i)²; ∇ = 2(θ − c_i).
    const c = tf.tensor4d([1, 1, 1, 1, -2, -2, -2, -2], [2, 1, 4, 1]);
    let theta = tf.zeros([2, 1, 4, 1]) as tf.Tensor4D;
    let state = optimiser.init(theta);
    for (const tensor of state.tensors) t.is(tensor.shape[0], 2, 'state is per item (row), so finished items can be gathered out');
    const loss = () => tf.tidy(() => Array.from(tf.sum(tf.square(tf.sub(theta, c)), [1, 2, 3]).dataSync()));
    const start = loss();
    // What the attack loop tells an optimiser that adapts to progress: the gain (−loss) and a projection (none here).
    const context = () => {
      const gains = Float32Array.from(loss(), (l) => -l);
      return { gains, objectives: gains, project: (v: tf.Tensor4D) => tf.clone(v) };
    };
    for (let step = 0; step < 10; step++) {
      const gradient = tf.tidy(() => tf.mul(tf.sub(theta, c), 2)) as tf.Tensor4D;
      const next = optimiser.update(theta, gradient, state, context());
      tf.dispose([theta, gradient, ...state.tensors]);
      theta = next.variable;
      state = next.state;
    }
    t.is(state.step, 10);
    if (optimiser.best) {
      const best = optimiser.best(theta, state, context());
      theta.dispose();
      theta = best.variable;
    }
    loss().forEach((value, i) => t.true(value < start[i]!, `item ${i}: ${start[i]} → ${value}`));
    tf.dispose([theta, c, ...state.tensors]);
    t.is(tf.memory().numTensors, before);
  });
}
