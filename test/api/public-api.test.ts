/**
 * The public API as a user sees it: imported through the package name (package.json "exports"), not through
 * source paths. The flow is README.md's TypeScript example, shrunk to two images and a few steps.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ATTACKS,
  DETECTORS,
  EXPORTERS,
  TARGET_STRATEGY_NAMES,
  UserError,
  createDetectors,
  createEncoder,
  generateRelease,
  initBackend,
  openRelease,
  presetInputSize,
  runEvaluation,
  verifyRelease,
} from 'advood';
import packageJson from 'advood/package.json' with { type: 'json' };

const root = mkdtempSync(join(tmpdir(), 'advood-api-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const demo = (name: string) => new URL(`../../datasets/demo/${name}`, import.meta.url).pathname;

test('the package name resolves to the library, with its registries', (t) => {
  t.is(packageJson.name, 'advood');
  t.true('feature-collision' in ATTACKS);
  t.deepEqual([...TARGET_STRATEGY_NAMES], ['sample', 'prototype', 'nearest-prototype', 'text']);
  t.true(DETECTORS.some((d) => d.name === 'knn'));
  t.deepEqual(EXPORTERS.map((e) => e.name), ['imagefolder', 'parquet']);
  t.throws(() => createDetectors(['no-such-detector']), { instanceOf: UserError });
});

test('generate a release, read it back, verify it and evaluate it through the public API', async (t) => {
  const backend = await initBackend({ request: 'wasm' });
  const overrides = { steps: 3, batch: 2 };
  const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: presetInputSize('demo-lowfreq', overrides) });
  const out = join(root, 'release');
  try {
    const summary = await generateRelease({
      encoder,
      id: demo('fashion-mnist-train'),
      idN: 20,
      ood: demo('openclipart'),
      n: 2,
      attack: 'demo-lowfreq',
      overrides,
      seed: 0,
      out,
      backend,
      command: 'public-api.test.ts',
    });
    t.is(summary.rows, 2);
    const release = await openRelease(out);
    const rows = [];
    for await (const row of release.rows()) rows.push(row);
    t.is(rows.length, 2);
    t.true(rows.every((row) => row.steps <= 3 && row.cosAfter > row.cosBefore), 'the attack moved every image toward its target');
    t.true((await verifyRelease(out)).ok);
    const evaluation = await runEvaluation({
      encoder,
      idTrain: demo('fashion-mnist-train'),
      idTrainN: 20,
      idTest: demo('fashion-mnist-test'),
      idTestN: 10,
      ood: [`adv=${out}`],
      detectors: ['knn'],
      out: join(root, 'evaluation'),
      batch: 16,
      bootstrap: { resamples: 0, seed: 0 },
      gallery: 0,
    });
    t.deepEqual([...new Set(evaluation.result.rows.map((r) => r.set))].sort(), ['adv', 'adv:clean']);
  } finally {
    encoder.dispose();
  }
});
