/**
 * `advood features`, `generate` (feature collision, and an adaptive objective on a zero-shot detector) and `evaluate`
 * (image and zero-shot detectors, with --adaptive) on a tiny SigLIP checkpoint (test/helpers/tiny-siglip.ts), through
 * the real CLI as a user runs it with `--target DIR`, on the suite's backend. SigLIP has a text tower and a
 * tokenizer.json, so the zero-shot detectors run on it; the same checkpoint without tokenizer.json refuses them in
 * one line naming the missing file.
 */
import test from 'ava';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { familyCli, generateAndEvaluateWithText, lastEvent } from '../helpers/family-cli.js';
import { writeTinySiglip } from '../helpers/tiny-siglip.js';

const cli = familyCli('siglip');
const { root, advood } = cli;
const checkpoint = join(root, 'siglip-tiny');
test.after.always(() => cli.remove());

test.before(async () => {
  writeTinySiglip(checkpoint);
  await cli.writeData();
});

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
  await generateAndEvaluateWithText(t, cli, checkpoint, 'siglip-tiny');
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
