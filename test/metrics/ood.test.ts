import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { oodMetricValues, oodMetrics } from '../../src/metrics/ood-metrics.js';
import { rocCurve } from '../../src/metrics/roc-curve.js';
import { percentile } from '../../src/metrics/percentile.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import { referencePython } from '../helpers/reference-venv.js';

const REFERENCE = fileURLToPath(new URL('../reference/ood_metrics_reference.py', import.meta.url));

function gaussian(random: SeededRandom, n: number, mean: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + random.nextGaussian();
  return out;
}

test('hand-computed case with ties', (t) => {
  // ID 0.9, 0.8, 0.8, 0.3 vs OOD 0.8, 0.2, 0.1. Pairs won: 3 + 2.5 + 2.5 + 2 = 10 of 12 (ties count half).
  const m = oodMetricValues([0.9, 0.8, 0.8, 0.3], [0.8, 0.2, 0.1]);
  t.is(m.auroc, 10 / 12);
  // TPR ≥ 0.95 needs all four ID rows: threshold 0.3, one OOD row (0.8) above it.
  t.is(m.fpr95, 1 / 3);
  // AP-In: thresholds 0.9 (R .25, P 1), 0.8 (R .75, P .75), 0.3 (R 1, P .8) → .25 + .375 + .2
  t.true(Math.abs(m.auprIn - 0.825) < 1e-12);
  // AP-Out on negated scores: -0.1 (R 1/3, P 1), -0.2 (R 2/3, P 1), -0.3 (P 2/3, ΔR 0), -0.8 (R 1, P 3/6)
  t.true(Math.abs(m.auprOut - (1 / 3 + 1 / 3 + (1 / 3) * 0.5)) < 1e-12);
});

test('all tied scores give AUROC 0.5 and FPR95 1', (t) => {
  const m = oodMetricValues([1, 1, 1], [1, 1]);
  t.is(m.auroc, 0.5);
  t.is(m.fpr95, 1);
  t.is(m.auprIn, 3 / 5);
});

test('perfect separation and its mirror', (t) => {
  const m = oodMetricValues([3, 4, 5], [0, 1, 2]);
  t.deepEqual(m, { auroc: 1, fpr95: 0, auprIn: 1, auprOut: 1 });
  const mirrored = oodMetricValues([0, 1, 2], [3, 4, 5]);
  t.is(mirrored.auroc, 0);
  t.is(mirrored.fpr95, 1);
});

test('AUROC(-s) = 1 - AUROC(s), ties included', (t) => {
  const random = new SeededRandom(7);
  for (let trial = 0; trial < 20; trial++) {
    const id = Array.from({ length: 30 + trial }, () => Math.round(random.nextGaussian() * 3) + 1);
    const ood = Array.from({ length: 25 }, () => Math.round(random.nextGaussian() * 3));
    const a = oodMetricValues(id, ood).auroc;
    const b = oodMetricValues(id.map((x) => -x), ood.map((x) => -x)).auroc;
    t.true(Math.abs(a + b - 1) < 1e-12, `trial ${trial}: ${a} + ${b}`);
  }
});

test('Gaussian case: AUROC approaches Φ(Δ/√2)', (t) => {
  const random = new SeededRandom(1);
  const id = gaussian(random, 20000, 1);
  const ood = gaussian(random, 20000, 0);
  // Φ(1/√2) = 0.76025; FPR at TPR .95: threshold 1 − 1.6449 → FPR = 1 − Φ(−0.6449) = 0.7405.
  const m = oodMetricValues(id, ood);
  t.true(Math.abs(m.auroc - 0.76025) < 0.01, `${m.auroc}`);
  t.true(Math.abs(m.fpr95 - 0.7405) < 0.015, `${m.fpr95}`);
});

test('bootstrap interval is seeded, brackets the value and narrows with n', (t) => {
  const random = new SeededRandom(3);
  const id = gaussian(random, 200, 1);
  const ood = gaussian(random, 200, 0);
  const a = oodMetrics(id, ood, { resamples: 300, seed: 11 });
  const b = oodMetrics(id, ood, { resamples: 300, seed: 11 });
  const c = oodMetrics(id, ood, { resamples: 300, seed: 12 });
  t.deepEqual(a, b);
  t.notDeepEqual(a.auroc, c.auroc);
  for (const name of ['auroc', 'fpr95', 'auprIn', 'auprOut'] as const) {
    t.true(a[name].low! <= a[name].value && a[name].value <= a[name].high!, name);
  }
  // Standard error of AUROC at n = 200 per class is about 0.023, so the 95 % interval spans about 0.09.
  const width = a.auroc.high! - a.auroc.low!;
  t.true(width > 0.05 && width < 0.14, `width ${width}`);
  const big = oodMetrics(gaussian(random, 3000, 1), gaussian(random, 3000, 0), { resamples: 100, seed: 1 });
  t.true(big.auroc.high! - big.auroc.low! < width / 2);
});

test('no resampling gives null bounds', (t) => {
  const m = oodMetrics([1, 2], [0], { resamples: 0 });
  t.deepEqual(m.auroc, { value: 1, low: null, high: null });
});

test('bad scores are UserErrors naming the set', (t) => {
  t.throws(() => oodMetricValues([], [1]), { instanceOf: UserError, message: /ID test scores.*empty/ });
  t.throws(() => oodMetricValues([1], [Number.NaN]), { instanceOf: UserError, message: /OOD scores: score of row 0 is NaN/ });
  t.throws(() => oodMetrics([1], [0], { resamples: -1 }), { instanceOf: UserError });
});

test('percentile matches numpy linear interpolation', (t) => {
  const sorted = Float64Array.from([1, 2, 4, 8]);
  t.is(percentile(sorted, 0), 1);
  t.is(percentile(sorted, 100), 8);
  t.is(percentile(sorted, 50), 3); // np.percentile([1,2,4,8], 50) = 3
  t.true(Math.abs(percentile(sorted, 2.5) - 1.075) < 1e-12);
});

test('ROC curve runs from (0,0) to (1,1) and is thinned', (t) => {
  const random = new SeededRandom(5);
  const roc = rocCurve(gaussian(random, 2000, 1), gaussian(random, 2000, 0), 100);
  t.is(roc.fpr.length, 100);
  t.deepEqual([roc.fpr[0], roc.tpr[0], roc.fpr[99], roc.tpr[99]], [0, 0, 1, 1]);
  for (let i = 1; i < 100; i++) t.true(roc.fpr[i]! >= roc.fpr[i - 1]! && roc.tpr[i]! >= roc.tpr[i - 1]!);
});

// numpy from the reference venv (scripts/reference-venv.sh); where it cannot be made, the parity test skips.
const reference = referencePython();
const PYTHON = 'python' in reference ? reference.python : '';
const hasNumpy = PYTHON !== '';

(hasNumpy ? test : test.skip)('parity with the numpy re-implementation of sklearn (test/reference)', (t) => {
  const random = new SeededRandom(2024);
  const cases: { id: number[]; ood: number[] }[] = [{ id: [0.9, 0.8, 0.8, 0.3], ood: [0.8, 0.2, 0.1] }];
  for (let trial = 0; trial < 12; trial++) {
    const rounding = trial % 3 === 0 ? 1 : trial % 3 === 1 ? 10 : 1e6; // coarse rounding makes many ties
    const shift = trial / 6;
    cases.push({
      id: Array.from({ length: 20 + 37 * trial }, () => Math.round((random.nextGaussian() + shift) * rounding) / rounding),
      ood: Array.from({ length: 15 + 23 * trial }, () => Math.round(random.nextGaussian() * rounding) / rounding),
    });
  }
  const output = execFileSync(PYTHON, [REFERENCE], { input: JSON.stringify({ cases }) }).toString();
  const { results } = JSON.parse(output) as { results: Record<string, number>[] };
  cases.forEach((c, i) => {
    const ours = oodMetricValues(c.id, c.ood);
    for (const name of ['auroc', 'fpr95', 'auprIn', 'auprOut'] as const) {
      t.true(Math.abs(ours[name] - results[i]![name]!) < 1e-12, `case ${i} ${name}: ${ours[name]} vs ${results[i]![name]}`);
    }
  });
});
if (!hasNumpy) console.warn(`skipping numpy parity: ${'unavailable' in reference ? reference.unavailable : ''}`);
