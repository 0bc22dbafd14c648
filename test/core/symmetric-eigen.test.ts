/**
 * The float64 symmetric eigensolver (src/core/symmetric-eigen.ts): A·v = λ·v, orthonormal eigenvectors and
 * descending eigenvalues on random symmetric matrices, full-rank and rank-deficient (the covariance of fewer rows
 * than dimensions, ViM's case on a small train set), and the same spectrum and subspaces as numpy.linalg.eigh in
 * the reference venv (skipped, saying why, where it cannot be made).
 * ADVOOD_EIGEN_TIMING=N times one N × N random covariance (the figure in the module comment is N = 1280).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { symmetricEigen } from '../../src/core/symmetric-eigen.js';
import { referencePython } from '../helpers/reference-venv.js';

const SCRIPT = new URL('../reference/symmetric_eigen_reference.py', import.meta.url).pathname;

/** (1/rows)·XᵀX of `rows` Gaussian rows of `dim` (rank min(rows, dim)). */
function randomCovariance(random: SeededRandom, rows: number, dim: number): Float64Array {
  const x = Float64Array.from({ length: rows * dim }, () => random.nextGaussian());
  const c = new Float64Array(dim * dim);
  for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) c[i * dim + j]! += (x[r * dim + i]! * x[r * dim + j]!) / rows;
  return c;
}

/** A random symmetric matrix with entries of both signs (an indefinite spectrum). */
function randomSymmetric(random: SeededRandom, dim: number): Float64Array {
  const a = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j <= i; j++) a[i * dim + j] = a[j * dim + i] = random.nextGaussian();
  return a;
}

const CASES: readonly [string, (random: SeededRandom) => Float64Array, number][] = [
  ['full-rank covariance, 40 × 40', (r) => randomCovariance(r, 120, 40), 40],
  ['rank-deficient covariance (15 rows, 40 dims)', (r) => randomCovariance(r, 15, 40), 40],
  ['indefinite symmetric, 33 × 33', (r) => randomSymmetric(r, 33), 33],
  ['1 × 1', () => Float64Array.of(2.5), 1],
  ['2 × 2', () => Float64Array.of(2, 1, 1, 2), 2],
  ['diagonal with repeated values', () => Float64Array.of(1, 0, 0, 0, 3, 0, 0, 0, 1), 3],
];

for (const [label, make, n] of CASES) {
  test(`${label}: A·v = λ·v, orthonormal rows, eigenvalues descending`, (t) => {
    const a = make(new SeededRandom(n));
    const { values, vectors } = symmetricEigen(a, n);
    let norm = 0;
    for (const v of a) norm = Math.max(norm, Math.abs(v));
    for (let e = 0; e < n; e++) {
      if (e > 0) t.true(values[e - 1]! >= values[e]!, `values ${e - 1}, ${e} out of order`);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[e * n + j]!;
        t.true(Math.abs(av - values[e]! * vectors[e * n + i]!) <= 1e-12 * n * Math.max(1, norm), `eigenpair ${e}, component ${i}`);
      }
      for (let f = 0; f <= e; f++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += vectors[e * n + j]! * vectors[f * n + j]!;
        t.true(Math.abs(dot - (e === f ? 1 : 0)) <= 1e-12 * n, `vectors ${e}·${f} = ${dot}`);
      }
    }
  });
}

test('a rank-deficient covariance has (numerically) zero eigenvalues beyond its rank', (t) => {
  const { values } = symmetricEigen(randomCovariance(new SeededRandom(9), 15, 40), 40);
  t.true(values[14]! > 1e-3);
  for (let e = 15; e < 40; e++) t.true(Math.abs(values[e]!) <= 1e-13 * values[0]!, `value ${e} = ${values[e]}`);
});

test('the input matrix is not modified, and non-square input is refused', (t) => {
  const a = Float64Array.of(2, 1, 1, 2);
  symmetricEigen(a, 2);
  t.deepEqual([...a], [2, 1, 1, 2]);
  t.throws(() => symmetricEigen(new Float64Array(5), 2), { message: /not a 2 × 2 matrix/ });
});

test('same eigenvalues and eigenvectors (up to sign) as numpy.linalg.eigh', (t) => {
  const venv = referencePython();
  if ('unavailable' in venv) {
    t.log(`skipped: ${venv.unavailable}`);
    t.pass();
    return;
  }
  const random = new SeededRandom(21);
  const matrices = [randomCovariance(random, 200, 60), randomSymmetric(random, 25)];
  const dims = [60, 25];
  const work = mkdtempSync(join(tmpdir(), 'advood-eigen-'));
  try {
    const input = join(work, 'in.json');
    const output = join(work, 'out.json');
    writeFileSync(input, JSON.stringify({ matrices: matrices.map((m, i) => Array.from({ length: dims[i]! }, (_, r) => [...m.subarray(r * dims[i]!, (r + 1) * dims[i]!)])) }));
    const run = spawnSync(venv.python, [SCRIPT, input, output], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    const expected = JSON.parse(readFileSync(output, 'utf8')) as { values: number[][]; vectors: number[][][] };
    matrices.forEach((m, i) => {
      const n = dims[i]!;
      const ours = symmetricEigen(m, n);
      const scale = Math.max(...expected.values[i]!.map(Math.abs));
      expected.values[i]!.forEach((value, e) => t.true(Math.abs(ours.values[e]! - value) <= 1e-12 * scale, `matrix ${i} value ${e}: ${ours.values[e]} vs ${value}`));
      // Random spectra have simple eigenvalues, so each vector is determined up to sign: |v_ours · v_numpy| = 1.
      expected.vectors[i]!.forEach((vector, e) => {
        const dot = vector.reduce((sum, v, j) => sum + v * ours.vectors[e * n + j]!, 0);
        t.true(Math.abs(Math.abs(dot) - 1) <= 1e-9, `matrix ${i} vector ${e}: |dot| = ${Math.abs(dot)}`);
      });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

const timing = Number(process.env.ADVOOD_EIGEN_TIMING ?? 0);
if (timing > 0) {
  test(`timing: ${timing} × ${timing} random covariance`, (t) => {
    const a = randomCovariance(new SeededRandom(1), timing + 100, timing);
    const start = performance.now();
    symmetricEigen(a, timing);
    t.log(`${timing} × ${timing}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
    t.pass();
  });
}
