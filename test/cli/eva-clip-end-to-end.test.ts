/**
 * `advood features`, `generate` (feature collision, and an adaptive objective on a zero-shot detector) and `evaluate`
 * (image and zero-shot detectors, with --adaptive) on a tiny EVA-CLIP checkpoint in open_clip's layout
 * (test/helpers/tiny-eva-clip.ts), through the real CLI as a user runs it with `--target DIR`, on the suite's backend.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { advoodWithEnv } from '../helpers/run-cli.js';
import { writeImages } from '../helpers/test-image-files.js';
import { writeTinyEvaClip } from '../helpers/tiny-eva-clip.js';

const root = mkdtempSync(join(tmpdir(), 'advood-eva-cli-'));
const env = { ADVOOD_CACHE: join(root, 'cache') };
const advood = (...args: string[]) => advoodWithEnv(env, ...args);
const checkpoint = join(root, 'eva-tiny');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test.before(async () => {
  writeTinyEvaClip(checkpoint);
  await writeImages(join(root, 'id', 'cat'), 6, 1, 0.25);
  await writeImages(join(root, 'id', 'dog'), 6, 2, 0.75);
  await writeImages(join(root, 'id-test', 'cat'), 4, 4, 0.25);
  await writeImages(join(root, 'id-test', 'dog'), 4, 5, 0.75);
  await writeImages(join(root, 'ood', 'clipart'), 4, 3, 0.05);
});

const lastEvent = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

test.serial('features: the CLS token before the head by default, after it on request; an unknown kind writes nothing', async (t) => {
  const out = join(root, 'features.arrow');
  const run = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', out, '--batch', '4', '--json');
  t.is(run.code, 0, run.stderr);
  t.like(lastEvent(run.stdout), { event: 'done', rows: 12, dim: 64, skipped: 0 });
  const file = readFeatureFile(out);
  t.like(file.provenance, { encoderId: 'eva-tiny', kind: 'pre-projection', preprocess: { mode: 'clip', size: 32 } });
  t.true(file.vectors.every(Number.isFinite));

  const projected = join(root, 'features-projected.arrow');
  const head = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', projected, '--features', 'projected', '--json');
  t.is(head.code, 0, head.stderr);
  t.like(lastEvent(head.stdout), { dim: 24 });

  const wrong = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', join(root, 'x.arrow'), '--features', 'cls-patch-mean');
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /EVA-CLIP has 'pre-projection' and 'projected' features, got "cls-patch-mean"/);
  t.false(existsSync(join(root, 'x.arrow')));
});

test.serial('generate (feature collision, then an MCM objective) and evaluate --adaptive with k-NN and MCM run on EVA-CLIP', async (t) => {
  const release = join(root, 'release');
  const overrides = ['--steps', '3', '--batch', '2', '--lr', '0.01', '--lambda', '1'];
  const paper = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', release, ...overrides, '--json');
  t.is(paper.code, 0, paper.stderr);
  t.regex(readFileSync(join(release, 'manifest.json'), 'utf8'), /eva-tiny/);

  const mcm = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', join(root, 'release-mcm'), '--objective', 'detector:mcm', ...overrides, '--json');
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
