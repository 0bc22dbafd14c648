/**
 * Independent check: datasets written by the real Hugging Face `datasets` library (test/reference/
 * hf_datasets_fixtures.py: save_to_disk in two shards, a DatasetDict, to_parquet in the Hub layout) read back by
 * advood's sources with the labels, class names and pixels the library wrote. Skipped, saying why, where the
 * reference venv cannot be made.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import type { ImageSource, Preprocess } from '../../src/data/image-source.js';
import { openImageSource } from '../../src/sources/open-source.js';
import { referencePython } from '../helpers/reference-venv.js';

const reference = referencePython();
if ('unavailable' in reference) console.log(`# Hugging Face datasets cross-check skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;

interface Expected {
  datasets: string;
  classes: string[];
  coarse: string[];
  train: { levels: number[]; labels: number[] };
  test: { levels: number[]; labels: number[] };
  trainCoarse: number[];
}

const pre: Preprocess = { mode: 'clip', size: 8, background: [0, 0, 0] };
const out = mkdtempSync(join(tmpdir(), 'advood-hf-reference-'));
let expected: Expected | null = null;

function written(): Expected {
  if (expected) return expected;
  const script = fileURLToPath(new URL('../reference/hf_datasets_fixtures.py', import.meta.url));
  const result = spawnSync((reference as { python: string }).python, [script, out], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`hf_datasets_fixtures.py failed: ${(result.stderr || '').trim().split('\n').slice(-3).join(' ')}`);
  expected = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Expected;
  return expected;
}

async function check(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, source: ImageSource, want: { levels: number[]; labels: number[] }, classes: string[], what: string) {
  t.deepEqual(source.classNames, classes, `${what}: class names`);
  t.deepEqual(source.items.map((item) => item.label), want.labels, `${what}: labels`);
  const levels = await Promise.all(source.items.map(async (item) => Math.round((await source.load(item, pre)).pixels[0] * 255)));
  t.deepEqual(levels, want.levels, `${what}: pixels`);
}

withVenv('save_to_disk (two shards), a DatasetDict and Hub-layout Parquet written by datasets read back exactly', async (t) => {
  const want = written();
  t.log(`datasets ${want.datasets}`);
  await check(t, await openImageSource(join(out, 'saved')), want.train, want.classes, 'save_to_disk');
  await check(t, await openImageSource(join(out, 'dict')), want.train, want.classes, 'DatasetDict train');
  await check(t, await openImageSource(`${join(out, 'dict')}?split=test`), want.test, want.classes, 'DatasetDict test');
  await check(t, await openImageSource(join(out, 'parquet')), want.train, want.classes, 'Parquet train');
  await check(t, await openImageSource(join(out, 'parquet'), { split: 'test' }), want.test, want.classes, 'Parquet test');
  const coarse = await openImageSource(join(out, 'two-labels'), { labelColumn: 'coarse_label' });
  t.deepEqual(coarse.classNames, want.coarse);
  t.deepEqual(coarse.items.map((item) => item.label), want.trainCoarse);
});

withVenv('bad choices on datasets written by datasets: two ClassLabels, a string label column, a Value named as the image', async (t) => {
  written();
  await t.throwsAsync(openImageSource(join(out, 'two-labels')), { instanceOf: UserError, message: /several ClassLabel columns \(label, coarse_label\); choose one with --label-column$/ });
  await t.throwsAsync(openImageSource(join(out, 'saved'), { labelColumn: 'caption' }), { instanceOf: UserError, message: /column 'caption' is Value\(string\); a label column must be a ClassLabel/ });
  await t.throwsAsync(openImageSource(join(out, 'parquet'), { imageColumn: 'caption' }), { instanceOf: UserError, message: /column 'caption' is Value\(string\), not an Image/ });
  await t.throwsAsync(openImageSource(join(out, 'dict'), { split: 'validation' }), { instanceOf: UserError, message: /no split 'validation' \(--split\); splits: train, test$/ });
});
