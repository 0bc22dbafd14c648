import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readExperimentConfig } from '../../src/pipeline/experiment.js';
import { UserError } from '../../src/core/errors.js';

const run = promisify(execFile);
const cli = new URL('../../bin/advood.mjs', import.meta.url).pathname;
const demo = new URL('../../datasets/demo/', import.meta.url).pathname;

function tinyConfig(dir: string): string {
  const path = join(dir, 'tiny.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'tiny',
      target: 'mobilenet-v2',
      inputSize: 32,
      seed: 3,
      data: {
        idTrain: { source: '${DEMO}/fashion-mnist-train', size: 200 },
        idTest: { source: '${DEMO}/fashion-mnist-test', size: 40 },
        ood: { source: '${DEMO}/openclipart', size: 4 },
      },
      attacks: [{ preset: 'paper-patchy', overrides: { steps: 3, batch: 4 } }],
      evaluation: { detectors: ['knn', 'mahalanobis'], bootstrap: { resamples: 50 } },
    }),
  );
  return path;
}

test('paper-cifar.json parses once its data placeholders are filled, and names the missing ones otherwise', (t) => {
  const path = new URL('../../configs/experiments/paper-cifar.json', import.meta.url).pathname;
  const error = t.throws(() => readExperimentConfig(path), { instanceOf: UserError });
  t.regex(error!.message, /--var CIFAR100_TRAIN=PATH --var CIFAR100_TEST=PATH --var CIFAR10_TEST=PATH/);
  const config = readExperimentConfig(path, { vars: { CIFAR100_TRAIN: '/d/c100/train', CIFAR100_TEST: '/d/c100/test', CIFAR10_TEST: '/d/c10/test' } });
  t.is(config.target, 'vit-g');
  t.deepEqual(config.data.ood, [{ name: 'ood', source: '/d/c10/test', size: 1000 }]);
  t.is(config.data.attacked, 'ood');
  t.deepEqual(config.attacks.map((a) => a.preset), ['paper-smooth', 'paper-patchy']);
});

test('data refs take split, imageColumn and labelColumn for Hugging Face datasets, written into the spec', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-experiment-hf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'hf.json');
  const config = (idTest: Record<string, unknown>) =>
    JSON.stringify({ target: 'vit-g', data: { idTrain: { source: '/d/cifar100' }, idTest, ood: { source: '/d/c10?split=test' } }, attacks: ['paper-smooth'] });
  writeFileSync(path, config({ source: '/d/cifar100', split: 'test', labelColumn: 'fine_label' }));
  const parsed = readExperimentConfig(path);
  t.is(parsed.data.idTest.source, '/d/cifar100?split=test&label-column=fine_label');
  t.is(parsed.data.ood[0]!.source, '/d/c10?split=test');
  writeFileSync(path, config({ source: '/d/cifar100', split: 3 }));
  t.throws(() => readExperimentConfig(path), { instanceOf: UserError, message: /'data\.idTest\.split' must be a non-empty string$/ });
});

test('a bad experiment config names its file and field', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-experiment-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ target: 'vit-g', data: { idTrain: { source: 'a' }, idTest: { source: 'b' }, ood: { source: 'c', size: -1 } }, attacks: [] }));
  t.throws(() => readExperimentConfig(path), { instanceOf: UserError, message: new RegExp(`${path}: 'data.ood.size' must be ≥ 1`) });
});

test('advood experiment runs a tiny config end to end, and a rerun reuses the verified release', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-experiment-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = tinyConfig(dir);
  const args = [cli, 'experiment', config, '--var', `DEMO=${demo}`, '--out', join(dir, 'out'), '--json'];
  const env = { ...process.env, ADVOOD_CACHE: join(dir, 'cache') };
  await run(process.execPath, args, { env, maxBuffer: 1 << 24 });
  const release = join(dir, 'out', 'paper-patchy');
  t.true(existsSync(join(release, 'manifest.json')));
  const summary = JSON.parse(readFileSync(join(dir, 'out', 'evaluation', 'summary.json'), 'utf8')) as { rows: { detector: string; set: string }[] };
  t.deepEqual([...new Set(summary.rows.map((r) => r.set))].sort(), ['paper-patchy', 'paper-patchy:clean']);
  t.true(summary.rows.some((r) => r.detector === 'knn-1-no-targets'), "the paper's sample targets add 1-NN without them");
  const manifestBefore = readFileSync(join(release, 'manifest.json'), 'utf8');
  const { stdout } = await run(process.execPath, args, { env, maxBuffer: 1 << 24 });
  t.regex(stdout, /reusing the verified release/);
  t.is(readFileSync(join(release, 'manifest.json'), 'utf8'), manifestBefore);
});
