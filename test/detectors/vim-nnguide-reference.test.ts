/**
 * ViM and NNGuide against numpy implementations written from the papers and the official code
 * (test/reference/vim_nnguide_reference.py), on random data: equal within 1e-6 relative (absolute below 1).
 * - ViM's float64 core (fitVimSpace + vimScores) on random classifier inputs, weights and biases, also with more
 *   classes than dimensions (a rank-deficient WᵀW, where u needs the pseudo-inverse);
 * - mcm-vim end to end on random projected features and text embeddings;
 * - nnguide end to end: numpy gets the trained probe (mean, std, W, b) and recomputes logits, bank and scores.
 * Skips, saying why, where the reference venv cannot be made.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureSet } from '../../src/data/feature-set.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { McmVimDetector, defaultPrincipalDim, fitVimSpace, vimScores } from '../../src/detectors/vim.js';
import { NnGuideDetector } from '../../src/detectors/nnguide.js';
import { LinearProbeDetector } from '../../src/detectors/linear-probe.js';
import { FitCache } from '../../src/detectors/shared/fit-cache.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { referencePython } from '../helpers/reference-venv.js';
import { featureSet, gaussianClusters } from '../helpers/synthetic-features.js';

const SCRIPT = new URL('../reference/vim_nnguide_reference.py', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-vim-nnguide-'));
test.before(async () => {
  await initTestBackend();
});
test.after.always(() => rmSync(work, { recursive: true, force: true }));

let runs = 0;
/** numpy's scores for `request`, or null (the test logs why and passes) where the venv cannot be made. */
function numpyScores(t: ExecutionContext, request: object): number[] | null {
  const venv = referencePython();
  if ('unavailable' in venv) {
    t.log(`skipped: ${venv.unavailable}`);
    return null;
  }
  const input = join(work, `in-${++runs}.json`);
  const output = join(work, `out-${runs}.json`);
  writeFileSync(input, JSON.stringify(request));
  const run = spawnSync(venv.python, [SCRIPT, input, output], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`vim_nnguide_reference.py failed: ${run.stderr}`);
  return (JSON.parse(readFileSync(output, 'utf8')) as { scores: number[] }).scores;
}

function assertClose(t: ExecutionContext, ours: ArrayLike<number>, expected: number[] | null, tolerance = 1e-6): void {
  if (!expected) {
    t.pass();
    return;
  }
  t.is(ours.length, expected.length);
  expected.forEach((value, r) => t.true(Math.abs(ours[r]! - value) <= tolerance * Math.max(1, Math.abs(value)), `row ${r}: ${ours[r]} vs numpy ${value}`));
}

const gaussians = (random: SeededRandom, n: number, scale = 1) => Float64Array.from({ length: n }, () => scale * random.nextGaussian());
const rowsOf = (values: Float64Array, dim: number) => Array.from({ length: values.length / dim }, (_, r) => [...values.subarray(r * dim, (r + 1) * dim)]);

for (const [dim, classes, rows] of [[20, 5, 150], [8, 12, 60]] as const) {
  test(`vim core, ${dim}-d inputs, ${classes} classes: equals numpy`, (t) => {
    const random = new SeededRandom(dim * classes);
    // Anisotropic inputs (a spread spectrum, as real features have) around a shifted mean.
    const scales = Float64Array.from({ length: dim }, (_, d) => 2 / (1 + d));
    const train = Float64Array.from(gaussians(random, rows * dim), (v, i) => v * scales[i % dim]! + 0.5);
    const queries = Float64Array.from(gaussians(random, 9 * dim), (v, i) => 1.5 * v * scales[i % dim]! + 0.5);
    const weights = gaussians(random, dim * classes);
    const bias = gaussians(random, classes);
    const space = fitVimSpace(train, rows, { weights, bias, dim, classes }, undefined, 'vim');
    t.is(space.principalDim, defaultPrincipalDim(dim));
    const expected = numpyScores(t, {
      mode: 'vim', train: rowsOf(train, dim), queries: rowsOf(queries, dim), weights: rowsOf(weights, classes), bias: [...bias], D: space.principalDim,
    });
    assertClose(t, vimScores(space, queries, 9), expected);
  });
}

test('mcm-vim end to end: equals numpy on random projected features and text', (t) => {
  const random = new SeededRandom(4);
  const dim = 16;
  const rows = (n: number, prefix: string): FeatureSet => featureSet(Array.from({ length: n }, () => [...gaussians(random, dim)]), { prefix });
  const [train, queries, text] = [rows(80, 'train'), rows(7, 'q'), rows(4, 'text')];
  const detector = new McmVimDetector();
  detector.fit({ train, textEmbeddings: text });
  const matrix = (set: FeatureSet) => rowsOf(Float64Array.from(set.vectors), dim);
  const expected = numpyScores(t, { mode: 'mcm-vim', train: matrix(train), queries: matrix(queries), text: matrix(text), temperature: 0.01, D: 8 });
  assertClose(t, detector.score(queries), expected);
  t.deepEqual(detector.fitNotes()[0], 'principal subspace D = 8 of 16');
});

test('nnguide end to end: equals numpy given the trained probe', async (t) => {
  const random = new SeededRandom(8);
  const means = [[3, 0, 0, 0, 0], [0, 3, 0, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 3, 0]];
  const train = gaussianClusters(random, means, 25, 1, 'train');
  const queries = gaussianClusters(random, means, 3, 1.5, 'q');
  const cache = new FitCache();
  const training = { epochs: 10, batchSize: 32, learningRate: 0.2 };
  const detector = new NnGuideDetector({ k: 7, training, cache });
  await detector.fit({ train });
  // The same cache and settings hand the probe-* head the very probe nnguide trained.
  const probeHead = new LinearProbeDetector({ head: 'energy', training, cache });
  await probeHead.fit({ train });
  const probe = probeHead.trained!;
  const matrix = (set: FeatureSet) => rowsOf(Float64Array.from(set.vectors), set.dim);
  const expected = numpyScores(t, {
    mode: 'nnguide', train: matrix(train), queries: matrix(queries), k: 7,
    mean: [...probe.mean], std: [...probe.std], weights: rowsOf(Float64Array.from(probe.weights), probe.classes), bias: [...probe.bias],
  });
  // The probe's logits and the bank products are float32 (tfjs), numpy's float64.
  assertClose(t, detector.score(queries), expected, 1e-6);
});
