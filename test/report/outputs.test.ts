import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import sharp from 'sharp';
import { evaluateDetectors } from '../../src/detectors/evaluate-detectors.js';
import { createDetectors } from '../../src/detectors/registry.js';
import type { EvaluationResult } from '../../src/metrics/evaluation-result.js';
import { oodMetricValues } from '../../src/metrics/ood-metrics.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { amplifiedPerturbation } from '../../src/report/perturbation-image.js';
import { readScoresArrow } from '../../src/report/scores-arrow.js';
import { summaryMarkdown } from '../../src/report/summary-table.js';
import { writeEvaluationOutputs } from '../../src/report/write-outputs.js';
import { UserError } from '../../src/core/errors.js';
import { gaussianClusters } from '../helpers/synthetic-features.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { CHROMIUM, NO_CHROMIUM, runChromium } from './chromium.js';
import { pngPair } from './demo-like-result.js';

const MEANS = [[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]];

async function syntheticEvaluation(): Promise<{ result: EvaluationResult; before: number }> {
  const random = new SeededRandom(8);
  const train = gaussianClusters(random, MEANS, 50, 0.7, 'train');
  const idTest = gaussianClusters(random, MEANS, 30, 0.7, 'id');
  const clean = gaussianClusters(random, [[0, 0, 0, 3], [-2, -2, 0, 1]], 30, 0.7, 'ood');
  // "Adversarial" copies of the clean OOD rows pulled onto ID class means: the detectors should collapse.
  const adversarial = gaussianClusters(random, MEANS.slice(0, 2), 30, 0.75, 'adv');
  const before = tf.memory().numTensors;
  const result = await evaluateDetectors({
    detectors: createDetectors(['knn', 'mahalanobis']),
    train: { 'pre-projection': train },
    idTest: { 'pre-projection': idTest },
    oodSets: [
      { name: 'clean-ood', kind: 'clean', features: { 'pre-projection': clean } },
      { name: 'adv-ood', kind: 'adversarial', cleanOf: 'clean-ood', features: { 'pre-projection': adversarial } },
    ],
    bootstrap: { resamples: 200, seed: 1 },
  });
  return { result, before };
}

test.before(async () => {
  await initTestBackend();
});

test('evaluation: metrics per detector × set, collapse vs the clean source, no tensor leak', async (t) => {
  const { result, before } = await syntheticEvaluation();
  t.is(tf.memory().numTensors, before);
  t.is(result.rows.length, 4);
  t.is(result.collapses.length, 2);
  for (const detector of ['knn-1', 'mahalanobis']) {
    const clean = result.rows.find((r) => r.detector === detector && r.set === 'clean-ood')!.metrics.auroc.value;
    const adv = result.rows.find((r) => r.detector === detector && r.set === 'adv-ood')!.metrics.auroc.value;
    t.true(clean > 0.95, `${detector} clean AUROC ${clean}`);
    t.true(adv < 0.7, `${detector} adversarial AUROC ${adv}`);
    const collapse = result.collapses.find((c) => c.detector === detector)!;
    t.true(Math.abs(collapse.delta.auroc - (adv - clean)) < 1e-12);
  }
  t.deepEqual(result.detectors.find((d) => d.name === 'knn-1')!.notes, ['bank of 150 rows']);
  const markdown = summaryMarkdown(result);
  t.regex(markdown, /\| knn-1 \| adv-ood \(adv\.\) \| \d+\.\d \[\d+\.\d, \d+\.\d\]/);
  t.regex(markdown, /\| mahalanobis \| adv-ood \| clean-ood \| \d+\.\d → \d+\.\d \(−\d+\.\d\)/);
});

test('bad evaluation input is a UserError', async (t) => {
  const random = new SeededRandom(1);
  const train = gaussianClusters(random, MEANS, 5, 1);
  const base = { detectors: createDetectors(['knn']), train: { 'pre-projection': train }, idTest: { 'pre-projection': train } };
  await t.throwsAsync(evaluateDetectors({ ...base, oodSets: [] }), { instanceOf: UserError, message: /no OOD sets/ });
  const empty = { ...train, ids: [], labels: new Int32Array(0), vectors: new Float32Array(0) };
  await t.throwsAsync(evaluateDetectors({ ...base, oodSets: [{ name: 'x', kind: 'clean', features: { 'pre-projection': empty } }] }), {
    instanceOf: UserError,
    message: /OOD set 'x'.*empty/,
  });
  await t.throwsAsync(evaluateDetectors({ ...base, oodSets: [{ name: 'a', kind: 'adversarial', cleanOf: 'b', features: { 'pre-projection': train } }] }), {
    instanceOf: UserError,
    message: /clean source 'b' is not among/,
  });
  await t.throwsAsync(
    evaluateDetectors({ ...base, detectors: createDetectors(['mcm']), oodSets: [{ name: 'x', kind: 'clean', features: { 'pre-projection': train } }] }),
    { instanceOf: UserError, message: /mcm: needs projected features of the ID train set/ },
  );
});

test('amplified perturbation comes from the two PNGs', async (t) => {
  const { clean, adversarial } = await pngPair();
  const delta = await amplifiedPerturbation(clean, adversarial, 'pair');
  t.is(delta.maxAbs, 6);
  t.is(delta.gain, 255 / 6);
  const { data } = await sharp(delta.png).raw().toBuffer({ resolveWithObject: true });
  t.is(data[(16 * 32 + 16) * 3], 255, 'the bump centre is stretched to full white');
  t.is(data[0], 0, 'a corner far from the bump is black');
  const other = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#000' } }).png().toBuffer();
  await t.throwsAsync(amplifiedPerturbation(clean, other, 'pair'), { instanceOf: UserError, message: /32×32 but the adversarial one is 16×16/ });
});

test('outputs: CSV, JSON, Arrow scores that recompute the metrics, and a self-contained report.html that renders', async (t) => {
  const { result } = await syntheticEvaluation();
  const { clean, adversarial } = await pngPair();
  const dir = mkdtempSync(join(tmpdir(), 'advood-report-'));
  const { files } = await writeEvaluationOutputs(result, dir, {
    subtitle: ['synthetic Gaussian clusters'],
    gallery: [{ id: 'adv/ood0', cleanPng: clean, adversarialPng: adversarial, cos: 0.981, psnr: 41.2, caption: 'target class0' }],
  });
  t.is(files.length, 5);
  const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
  t.is(csv.length, 5);
  t.true(csv[0]!.startsWith('detector,set,kind,clean_source,id_size,ood_size,auroc,auroc_ci_low,auroc_ci_high,auroc_clean,auroc_delta'));
  const json = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as EvaluationResult;
  t.is(json.rows.length, 4);
  // Recompute every AUROC from the Arrow file alone.
  const rows = readScoresArrow(readFileSync(join(dir, 'scores.arrow')));
  t.is(rows.length, 2 * (90 + 60 + 60));
  for (const row of result.rows) {
    const pick = (set: string) => rows.filter((r) => r.detector === row.detector && r.set === set).map((r) => r.score);
    t.is(oodMetricValues(pick('id'), pick(row.set)).auroc, row.metrics.auroc.value);
  }
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  t.notRegex(html, /(src|href)="(https?:)?\/\//, 'no network resources');
  t.notRegex(html, /<script/);
  t.is((html.match(/<svg /g) ?? []).length, 5, 'the headline heatmap, then ROC + histogram per detector');
  t.is((html.match(/src="data:image\/png;base64,/g) ?? []).length, 3);
  if (CHROMIUM === null) {
    t.log(NO_CHROMIUM);
    return;
  }
  const screenshot = join(dir, 'report.png');
  runChromium(pathToFileURL(join(dir, 'report.html')).href, [`--screenshot=${screenshot}`, '--window-size=1200,2000']);
  t.true(statSync(screenshot).size > 20_000, 'a non-trivial screenshot');
  // The page is mostly white with coloured charts: check that it is neither blank nor an error page.
  const { data, info } = await sharp(screenshot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let coloured = 0;
  for (let i = 0; i < data.length; i += 3) if (Math.max(data[i]!, data[i + 1]!, data[i + 2]!) - Math.min(data[i]!, data[i + 1]!, data[i + 2]!) > 60) coloured++;
  t.true(coloured / (info.width * info.height) > 0.002, `coloured share ${coloured / (info.width * info.height)}`);
  t.log(`screenshot: ${screenshot}`);
});
