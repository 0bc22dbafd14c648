/**
 * `advood features`, `generate` (feature collision, and an adaptive objective on a zero-shot detector) and `evaluate`
 * (image and zero-shot detectors, with --adaptive) on a tiny EVA-CLIP checkpoint in open_clip's layout
 * (test/helpers/tiny-eva-clip.ts), through the real CLI as a user runs it with `--target DIR`, on the suite's backend.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { familyCli, generateAndEvaluateWithText, lastEvent } from '../helpers/family-cli.js';
import { writeTinyEvaClip } from '../helpers/tiny-eva-clip.js';

const cli = familyCli('eva');
const { root, advood } = cli;
const checkpoint = join(root, 'eva-tiny');
test.after.always(() => cli.remove());

test.before(async () => {
  writeTinyEvaClip(checkpoint);
  await cli.writeData();
});

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
  await generateAndEvaluateWithText(t, cli, checkpoint, 'eva-tiny');
});
