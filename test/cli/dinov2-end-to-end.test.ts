/**
 * `advood features`, `generate` (feature collision and a detector objective) and `evaluate` (with --adaptive) on a
 * tiny DINOv2-with-registers checkpoint (test/helpers/tiny-dinov2.ts), through the real CLI as a user runs it with
 * `--target DIR`, on the suite's backend. DINOv2 has no text tower: a zero-shot detector asked for by name is
 * refused naming the target. Bad checkpoints (an unknown model_type, a tensor that does not match the config) are
 * one line, exit 2, and nothing is written.
 */
import test from 'ava';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { writeSafetensors } from '../helpers/safetensors-writer.js';
import { familyCli, lastEvent } from '../helpers/family-cli.js';
import { TINY_DINOV2_CONFIG, writeTinyDinov2 } from '../helpers/tiny-dinov2.js';

const cli = familyCli('dinov2');
const { root, advood } = cli;
const checkpoint = join(root, 'dinov2-tiny');
test.after.always(() => cli.remove());

test.before(async () => {
  writeTinyDinov2(checkpoint);
  await cli.writeData();
});

test.serial('features: default pooler_output rows and the CLS ⊕ mean patch kind, at the processor\'s crop', async (t) => {
  const out = join(root, 'features.arrow');
  const run = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', out, '--batch', '4', '--json');
  t.is(run.code, 0, run.stderr);
  t.like(lastEvent(run.stdout), { event: 'done', rows: 12, dim: 32, skipped: 0 });
  const file = readFeatureFile(out);
  t.is(file.dim, 32);
  t.like(file.provenance, { encoderId: 'dinov2-tiny', kind: 'pre-projection', preprocess: { mode: 'clip', size: 35, resize: 40 } });
  t.true(file.vectors.every(Number.isFinite));

  const wide = join(root, 'features-mean.arrow');
  const mean = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', wide, '--features', 'cls-patch-mean', '--json');
  t.is(mean.code, 0, mean.stderr);
  const both = readFeatureFile(wide);
  t.is(both.dim, 64);
  // The first half of each row is the CLS token after the final layer norm: the default kind itself.
  for (let i = 0; i < 32; i++) t.true(Math.abs(both.vectors[i]! - file.vectors[i]!) < 1e-5, `dim ${i}`);

  const smaller = join(root, 'features-28.arrow');
  const resized = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', smaller, '--input-size', '28', '--json');
  t.is(resized.code, 0, resized.stderr);
  // The crop asked for, the resize scaled with it (40/35 of the crop), the positions resampled to the 4×4 grid.
  t.like(readFeatureFile(smaller).provenance, { encoderId: 'dinov2-tiny@28', preprocess: { size: 28, resize: 32 } });
  const odd = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', join(root, 'x.arrow'), '--input-size', '30');
  t.is(odd.code, 2);
  t.regex(odd.stderr, /input size 30 is not a positive multiple of the patch size 7/);

  const projected = await advood('features', '--target', checkpoint, '--data', join(root, 'id'), '--out', join(root, 'x.arrow'), '--features', 'projected');
  t.is(projected.code, 2);
  t.regex(projected.stderr, /DINOv2 has 'pre-projection' and 'cls-patch-mean' features \(no projection head, no text tower\), got "projected"/);
  t.false(existsSync(join(root, 'x.arrow')));
});

test.serial('generate (feature collision, then a kNN objective) and evaluate --adaptive run on DINOv2; zero-shot detectors are refused by name', async (t) => {
  const release = join(root, 'release');
  const overrides = ['--steps', '3', '--batch', '2', '--lr', '0.01', '--lambda', '1'];
  const paper = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', release, ...overrides, '--json');
  t.is(paper.code, 0, paper.stderr);
  const manifest = JSON.parse(readFileSync(join(release, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  t.regex(JSON.stringify(manifest), /dinov2-tiny/);

  const adaptiveRelease = join(root, 'release-knn');
  const knn = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', adaptiveRelease, '--objective', 'detector:knn', ...overrides, '--json');
  t.is(knn.code, 0, knn.stderr);

  const evalOut = join(root, 'eval');
  const evaluate = await advood(
    'evaluate', '--target', checkpoint, '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', `adv=${release}`,
    '--detectors', 'knn', 'mahalanobis', '--out', evalOut, '--batch', '4', '--bootstrap', '0', '--gallery', '0',
    '--adaptive', '--adaptive-steps', '3', '--adaptive-attacks', 'repeat', '--json',
  );
  t.is(evaluate.code, 0, evaluate.stderr);
  const summary = JSON.parse(readFileSync(join(evalOut, 'summary.json'), 'utf8')) as { rows: Array<{ detector: string; set: string }> };
  const sets = new Set(summary.rows.map((r) => r.set));
  for (const set of ['adv:clean', 'adv', 'adaptive-knn-1', 'adaptive-mahalanobis']) t.true(sets.has(set), `${set} in ${[...sets].join(', ')}`);

  const zeroShot = await advood('evaluate', '--target', checkpoint, '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', join(root, 'ood'), '--detectors', 'mcm', '--out', join(root, 'eval-mcm'));
  t.is(zeroShot.code, 2);
  t.regex(zeroShot.stderr, /none of the detectors can run on dinov2-tiny: mcm needs a text tower/);
  t.is(zeroShot.stderr.split('\n').filter((line) => line.startsWith('advood:')).length, 1, 'one error line');
  t.false(existsSync(join(root, 'eval-mcm', 'summary.json')));
});

test.serial('bad checkpoints: an unknown model_type names config.json and the families; a mismatching tensor is named; nothing is written', async (t) => {
  const unknown = join(root, 'unknown');
  cpSync(checkpoint, unknown, { recursive: true });
  writeFileSync(join(unknown, 'config.json'), JSON.stringify({ ...TINY_DINOV2_CONFIG, model_type: 'dinov3_vit', architectures: ['DINOv3ViTModel'] }));
  const out = join(root, 'never.arrow');
  const first = await advood('features', '--target', unknown, '--data', join(root, 'id'), '--out', out);
  t.is(first.code, 2);
  t.regex(first.stderr, /unknown\/config\.json: model_type "dinov3_vit" is not one advood reads; the families read: clip \(HF config\.json with model_type 'clip'.*\); dinov2 \(HF config\.json with model_type 'dinov2' or 'dinov2_with_registers'/);

  const misShaped = join(root, 'mis-shaped');
  cpSync(checkpoint, misShaped, { recursive: true });
  writeSafetensors(join(misShaped, 'model.safetensors'), [{ name: 'embeddings.cls_token', shape: [1, 1, 16], data: new Float32Array(16) }]);
  const second = await advood('features', '--target', misShaped, '--data', join(root, 'id'), '--out', out);
  t.is(second.code, 2);
  t.regex(second.stderr, /mis-shaped\/model\.safetensors: does not match the Dinov2WithRegistersModel \(2 registers\) layout .*\n {2}mis-shaped: embeddings\.cls_token is \[1, 1, 16\], expected \[1, 1, 32\]/);
  t.false(existsSync(out));
});
