import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readFeatureFile } from '../../src/data/feature-file.js';
import { advood } from '../helpers/run-cli.js';

const demo = new URL('../../datasets/demo/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'advood-features-cli-'));

test('advood features on the embedded MobileNetV2: rows for good images, skipped ones named', async (t) => {
  const data = join(dir, 'data');
  mkdirSync(join(data, 'bag'), { recursive: true });
  mkdirSync(join(data, 'coat'), { recursive: true });
  const bag = join(demo, 'fashion-mnist-test', 'bag');
  const coat = join(demo, 'fashion-mnist-test', 'coat');
  copyFileSync(join(bag, 't10k-00018.png'), join(data, 'bag', 'a.png'));
  copyFileSync(join(coat, 't10k-00010.png'), join(data, 'coat', 'a.png'));
  writeFileSync(join(data, 'coat', 'broken.png'), 'not a png');
  const out = join(dir, 'out', 'features.arrow');
  const { code, stdout, stderr } = await advood('features', '--data', data, '--out', out, '--input-size', '32', '--batch', '2', '--no-cache', '--json');
  t.is(code, 0, stderr);
  const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const skipped = events.filter((e) => e.event === 'skipped');
  t.is(skipped.length, 1);
  t.is(skipped[0].file, join(data, 'coat', 'broken.png'));
  t.regex(String(skipped[0].reason), /not a readable image/);
  const done = events.at(-1)!;
  t.like(done, { event: 'done', rows: 2, dim: 1280, skipped: 1, cached: false, target: 'mobilenet-v2@32' });

  const file = readFeatureFile(out);
  t.deepEqual(file.ids, ['bag/a.png', 'coat/a.png']);
  t.deepEqual(Array.from(file.labels), [0, 1]);
  t.deepEqual(file.classNames, ['bag', 'coat']);
  t.is(file.dim, 1280);
  t.is(file.provenance.encoderId, 'mobilenet-v2@32');
  t.deepEqual(file.failures.map((f) => f.id), ['coat/broken.png']);
  // Pooled ReLU6 features: finite, non-negative, not all zero, and different for different images.
  const [a, b] = [file.vectors.subarray(0, 1280), file.vectors.subarray(1280)];
  t.true(file.vectors.every((v) => Number.isFinite(v) && v >= 0));
  t.true(a.some((v, i) => v !== b[i]));
});

test('advood features: user mistakes are one line and exit 2, before any weights load', async (t) => {
  const missing = await advood('features', '--data', join(dir, 'nowhere'), '--out', join(dir, 'x.arrow'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^advood: unknown data spec '.*nowhere': no such file or directory/);
  t.notRegex(missing.stderr, /\n\s+at /);
  const batch = await advood('features', '--data', join(demo, 'textures'), '--out', join(dir, 'x.arrow'), '--batch', '0');
  t.is(batch.code, 2);
  t.regex(batch.stderr, /--batch must be ≥ 1, got 0/);
  const target = await advood('features', '--data', join(demo, 'textures'), '--target', 'no-such-model', '--out', join(dir, 'x.arrow'));
  t.is(target.code, 2);
  t.regex(target.stderr, /unknown target 'no-such-model'/);
  t.false(existsSync(join(dir, 'x.arrow')));
});
