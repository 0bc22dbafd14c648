/**
 * Adaptive attacks through the pipeline, on the tiny stand-in target: `generate --objective detector:NAME`
 * (what the release records, the detector's scores per row, the errors), and `evaluate --adaptive` (per
 * differentiable detector one release per attack: the paper release's repeated on the score, APGD and Square;
 * reused on a second run; their per-item ensemble, never better for the detector than any one of them; the worst
 * case per detector in every output).
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { generateRelease, type GenerateOptions } from '../../src/pipeline/generate.js';
import { runEvaluation } from '../../src/pipeline/evaluate.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { readManifest } from '../../src/release/release-manifest.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { worstCaseRows } from '../../src/report/worst-case.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';

const root = mkdtempSync(join(tmpdir(), 'advood-adaptive-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 32;
let backend: BackendReport;
let encoder: ReturnType<typeof fakeEncoder>;
test.after.always(() => encoder?.dispose());

test.before(async () => {
  backend = await initTestBackend();
  encoder = fakeEncoder(SIZE);
  await writeImages(join(root, 'id', 'Sneaker'), 6, 1, 0.3);
  await writeImages(join(root, 'id', 'Bag'), 6, 2, 0.7);
  await writeImages(join(root, 'id-test', 'Sneaker'), 3, 4, 0.3);
  await writeImages(join(root, 'id-test', 'Bag'), 3, 5, 0.7);
  await writeImages(join(root, 'ood', 'clipart'), 4, 3, 0.5);
});

function options(out: string, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    encoder,
    id: join(root, 'id'),
    ood: join(root, 'ood'),
    attack: 'paper-smooth',
    overrides: { steps: 8, lr: 0.01, batch: 2, 'constraints.smoothness.lambda': 1, 'target.strategy': 'prototype' },
    seed: 7,
    out: join(root, out),
    backend,
    command: 'advood generate (adaptive test)',
    ...extra,
  };
}

test('--objective detector:knn records the detector and its fit, and each row its score before and after', async (t) => {
  await generateRelease(options('paper'));
  const summary = await generateRelease({ ...options('knn'), objective: 'detector:knn' });
  t.true(summary.detectorScore!.after > summary.detectorScore!.before, `median knn score ${summary.detectorScore!.before} → ${summary.detectorScore!.after}`);
  const paper = readManifest(join(root, 'paper')).manifest;
  const { manifest } = readManifest(join(root, 'knn'));
  t.false('objective' in (paper.config as object), "the paper's objective leaves the config as it was");
  const objective = (manifest.config as { objective: Record<string, unknown> }).objective;
  t.like(objective, { objective: 'detector:knn', detector: 'knn-1', featureKind: 'pre-projection', spec: { name: 'knn', options: {} } });
  t.regex(objective.fitFingerprint as string, /^[0-9a-f]{64}$/);
  t.not(manifest.paramsHash, paper.paramsHash, 'the run hash covers the objective');
  t.true(manifest.schema.detectorScores);
  t.deepEqual((await verifyRelease(join(root, 'knn'))).problems, []);
  const rows = [];
  for await (const row of (await openRelease(join(root, 'knn'))).rows()) rows.push(row);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const before = mean(rows.map((r) => r.detectorScoreBefore!));
  const after = mean(rows.map((r) => r.detectorScoreAfter!));
  t.true(after > before, `knn score of the saved images ${before} → ${after}`);
  t.true(rows.every((r) => r.steps === 8), 'no early stop on a detector objective');
});

test('an objective that is not feature-collision or detector:NAME, an unknown detector and a CLIP-only one are one-line errors', async (t) => {
  await t.throwsAsync(generateRelease({ ...options('bad1'), objective: 'cosine' }), { instanceOf: UserError, message: /--objective "cosine": expected 'feature-collision' or 'detector:NAME'/ });
  await t.throwsAsync(generateRelease({ ...options('bad2'), objective: 'detector:nope' }), { instanceOf: UserError, message: /unknown detector 'nope'/ });
  await t.throwsAsync(generateRelease({ ...options('bad3'), objective: 'detector:mcm' }), { instanceOf: UserError, message: /needs a text tower/ });
});

test('evaluate --adaptive attacks each detector on its own score, reports the worst case, and reuses the releases', async (t) => {
  await generateRelease(options('base'));
  const stages: string[] = [];
  const evaluate = (out: string) =>
    runEvaluation({
      encoder,
      idTrain: join(root, 'id'),
      idTest: join(root, 'id-test'),
      ood: [`clipart=${join(root, 'ood')}`, `adv=${join(root, 'base')}`],
      detectors: ['knn', 'mahalanobis', 'probe-energy:epochs=10'],
      out: join(root, out),
      batch: 4,
      bootstrap: { resamples: 50, seed: 0 },
      gallery: 1,
      adaptive: { backend, size: { steps: 6, queries: 12 } },
      onProgress: (event) => event.kind === 'stage' && stages.push(event.message),
    });
  const { result, files } = await evaluate('eval');
  const adaptiveSets = result.sets.filter((s) => s.attackedDetector !== undefined);
  const detectors = ['knn-1', 'mahalanobis', 'probe-energy'];
  t.deepEqual(
    adaptiveSets.map((s) => [s.name, s.attackedDetector, s.adaptiveAttack]),
    detectors.flatMap((d) => [
      [`adaptive-${d}`, d, 'gradient'],
      [`adaptive-${d}-apgd-linf-8`, d, 'apgd'],
      [`adaptive-${d}-square-linf-8`, d, 'square'],
    ]),
  );
  const worst = worstCaseRows(result);
  t.deepEqual(worst.map((r) => r.detector), detectors);
  for (const row of worst) {
    t.is(row.adaptive?.set, `adaptive-${row.detector}`);
    t.is(row.apgd?.set, `adaptive-${row.detector}-apgd-linf-8`);
    t.is(row.square?.set, `adaptive-${row.detector}-square-linf-8`);
    t.is(row.ensemble?.set, `${row.detector} ensemble`);
    t.is(row.paper?.set, 'adv');
    t.is(row.clean?.set, 'adv:clean');
    // Per item the ensemble keeps the highest score of the three: it is never better for the detector than one of them.
    const attacks = [row.adaptive!, row.apgd!, row.square!];
    for (const attack of attacks) t.true(row.ensemble!.auroc.value <= attack.auroc.value, `${row.detector}: ensemble ${row.ensemble!.auroc.value} vs ${attack.set} ${attack.auroc.value}`);
    t.is(row.worst.auroc.value, Math.min(row.clean!.auroc.value, row.paper!.auroc.value, row.ensemble!.auroc.value, ...attacks.map((a) => a.auroc.value)));
  }
  const ensemble = result.ensembles.find((e) => e.detector === 'knn-1')!;
  t.deepEqual(ensemble.members, ['adaptive-knn-1', 'adaptive-knn-1-apgd-linf-8', 'adaptive-knn-1-square-linf-8']);
  t.is(ensemble.size, 4);
  const read = (name: string) => readFileSync(files.find((f) => f.endsWith(name))!, 'utf8');
  t.regex(read('summary.md'), /Worst case per detector/);
  t.regex(read('summary.md'), /\| Detector \| Clean OOD \| Paper's attack \| Own \(adaptive\) attack \| APGD \(own score\) \| Square \(own score, no gradients\) \| Ensemble \(per-item worst\) \| Worst \|/);
  t.is((JSON.parse(read('summary.json')) as { worstCase: unknown[] }).worstCase.length, 3);
  t.is((JSON.parse(read('summary.json')) as { ensembles: unknown[] }).ensembles.length, 3);
  t.regex(read('report.html'), /Worst case per detector/);
  t.regex(read('report.html'), /adaptive attack on knn-1: its score/);

  t.is(stages.filter((s) => s.startsWith('adaptive: attacking')).length, 9);
  const mtime = statSync(join(root, 'eval', 'adaptive')).mtimeMs;
  stages.length = 0;
  await evaluate('eval');
  t.is(stages.filter((s) => s.includes('reusing the finished release')).length, 9, stages.join('\n'));
  t.is(statSync(join(root, 'eval', 'adaptive')).mtimeMs, mtime, 'no new adaptive release directory');
});

test('evaluate --adaptive on a paper release whose OOD folder changed since is one line naming the image, before any attack', async (t) => {
  const ood = join(root, 'ood-changing');
  await writeImages(join(ood, 'clipart'), 3, 8, 0.5);
  await generateRelease(options('base-changing', { ood }));
  const evaluate = (out: string) =>
    runEvaluation({
      encoder,
      idTrain: join(root, 'id'),
      idTest: join(root, 'id-test'),
      ood: [`adv=${join(root, 'base-changing')}`],
      detectors: ['knn'],
      out: join(root, out),
      batch: 4,
      bootstrap: { resamples: 10, seed: 0 },
      gallery: 0,
      adaptive: { backend, size: { steps: 2 } },
    });
  // Another image under the same name: same source_id, other source_sha256.
  copyFileSync(join(root, 'ood', 'clipart', 'img00.png'), join(ood, 'clipart', 'img01.png'));
  await t.throwsAsync(evaluate('eval-changed'), {
    instanceOf: UserError,
    message: /ood-changing: 'clipart\/img01\.png' has other bytes \(sha256 [0-9a-f]{12}…\) than those the paper release attacked \([0-9a-f]{12}…\); the adaptive releases would attack other images than the paper release .*base-changing/,
  });
  t.false(existsSync(join(root, 'eval-changed', 'adaptive')) && readdirSync(join(root, 'eval-changed', 'adaptive')).length > 0, 'nothing was attacked');
  rmSync(join(ood, 'clipart', 'img01.png'));
  await t.throwsAsync(evaluate('eval-gone'), { instanceOf: UserError, message: /ood-changing: 'clipart\/img01\.png' is gone; the adaptive releases would attack other images/ });
});
