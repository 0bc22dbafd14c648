/**
 * `advood features`, `generate` (feature collision, and an adaptive objective on a zero-shot detector) and `evaluate`
 * (image and zero-shot detectors, with --adaptive) on a tiny SigLIP checkpoint (test/helpers/tiny-siglip.ts), through
 * the real CLI as a user runs it with `--target DIR`, on the suite's backend. SigLIP has a text tower and a
 * tokenizer.json, so the zero-shot detectors run on it; the same checkpoint without tokenizer.json refuses them in
 * one line naming the missing file.
 */
import test from 'ava';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { advoodWithEnv } from '../helpers/run-cli.js';
import { writeImages } from '../helpers/test-image-files.js';
import { writeTinySiglip } from '../helpers/tiny-siglip.js';

const root = mkdtempSync(join(tmpdir(), 'advood-siglip-cli-'));
const env = { ADVOOD_CACHE: join(root, 'cache') };
const advood = (...args: string[]) => advoodWithEnv(env, ...args);
const checkpoint = join(root, 'siglip-tiny');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test.before(async () => {
  writeTinySiglip(checkpoint);
  await writeImages(join(root, 'id', 'cat'), 6, 1, 0.25);
  await writeImages(join(root, 'id', 'dog'), 6, 2, 0.75);
  await writeImages(join(root, 'id-test', 'cat'), 4, 4, 0.25);
  await writeImages(join(root, 'id-test', 'dog'), 4, 5, 0.75);
  await writeImages(join(root, 'ood', 'clipart'), 4, 3, 0.05);
});

const lastEvent = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

test.serial("features: the MAP head's embedding by default, the mean tokens on request, squash-resized to the processor's size", async (t) => {
  const out = join(root, 'features.arrow');
  const run = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', out, '--batch', '4', '--json');
  t.is(run.code, 0, run.stderr);
  t.like(lastEvent(run.stdout), { event: 'done', rows: 12, dim: 32, skipped: 0 });
  const file = readFeatureFile(out);
  t.like(file.provenance, { encoderId: 'siglip-tiny', kind: 'projected', preprocess: { mode: 'squash', size: 35 } });
  t.true(file.vectors.every(Number.isFinite));

  const mean = join(root, 'features-mean.arrow');
  const pooled = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', mean, '--features', 'pre-projection', '--json');
  t.is(pooled.code, 0, pooled.stderr);
  t.like(readFeatureFile(mean).provenance, { kind: 'pre-projection' });

  const wrong = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', join(root, 'x.arrow'), '--features', 'cls-patch-mean');
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /SigLIP has 'projected' and 'pre-projection' features, got "cls-patch-mean"/);
  t.false(existsSync(join(root, 'x.arrow')));
});

test.serial('generate (feature collision, then an MCM objective) and evaluate --adaptive with k-NN and MCM run on SigLIP', async (t) => {
  const release = join(root, 'release');
  const overrides = ['--steps', '3', '--batch', '2', '--lr', '0.01', '--lambda', '1'];
  const paper = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', release, ...overrides, '--json');
  t.is(paper.code, 0, paper.stderr);
  t.regex(readFileSync(join(release, 'manifest.json'), 'utf8'), /siglip-tiny/);

  const zeroShotRelease = join(root, 'release-mcm');
  const mcm = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', zeroShotRelease, '--objective', 'detector:mcm', ...overrides, '--json');
  t.is(mcm.code, 0, mcm.stderr);

  const evalOut = join(root, 'eval');
  const evaluate = await advood(
    'evaluate', '--target', checkpoint, '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', `adv=${release}`,
    '--detectors', 'knn', 'mcm', '--out', evalOut, '--batch', '4', '--bootstrap', '0', '--gallery', '0',
    '--adaptive', '--adaptive-steps', '3', '--adaptive-attacks', 'repeat', '--json',
  );
  t.is(evaluate.code, 0, evaluate.stderr);
  const summary = JSON.parse(readFileSync(join(evalOut, 'summary.json'), 'utf8')) as { rows: Array<{ detector: string; set: string }> };
  const sets = new Set(summary.rows.map((r) => r.set));
  for (const set of ['adv:clean', 'adv', 'adaptive-knn-1', 'adaptive-mcm']) t.true(sets.has(set), `${set} in ${[...sets].join(', ')}`);
  t.true(summary.rows.some((r) => r.detector === 'mcm'), 'the zero-shot detector ran on the text tower');
});

test.serial('without tokenizer.json the zero-shot detector is refused in one line naming the file; nothing is written', async (t) => {
  const bare = join(root, 'no-tokenizer');
  cpSync(checkpoint, bare, { recursive: true });
  rmSync(join(bare, 'tokenizer.json'));
  const out = join(root, 'eval-bare');
  const run = await advood('evaluate', '--target', bare, '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', join(root, 'ood'), '--detectors', 'mcm', '--out', out);
  t.is(run.code, 2, run.stderr);
  t.regex(run.stderr, /no-tokenizer\/tokenizer\.json is missing: the text tower reads tokenizer\.json/);
  t.is(run.stderr.split('\n').filter((line) => line.startsWith('advood:')).length, 1, 'one error line');
  t.false(existsSync(join(out, 'summary.json')));
});
