import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { SOURCE_KINDS } from '../../src/sources/source-kinds.js';
import { classLabelColumn, imageColumn, writeDatasetDict, writeParquetFile } from '../helpers/hf-dataset-writer.js';
import { advood, advoodWithEnv } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'advood-cli-hf-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const png = (level: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: level, g: level, b: level } } }).png().toBuffer();

test('help lists every source kind with its description, and the dataset flags', async (t) => {
  for (const command of ['features', 'evaluate', 'generate']) {
    const { stdout } = await advood(command, '--help');
    // yargs wraps long descriptions, also at hyphens.
    const flat = stdout.replace(/\s+/g, '');
    for (const kind of SOURCE_KINDS) t.true(flat.includes(kind.prefix + kind.syntax + kind.description.replace(/\s+/g, '')), `${command} --help describes ${kind.prefix}`);
    for (const flag of ['--split', '--image-column', '--label-column']) t.true(flat.includes(flag), `${command} --help has ${flag}`);
  }
});

test('features reads a split of a save_to_disk DatasetDict; a corrupt row is skipped and named file#row', async (t) => {
  const dict = join(root, 'dict');
  writeDatasetDict(dict, {
    train: [imageColumn('image', [await png(10)]), classLabelColumn('label', ['a', 'b'], [0])],
    test: [imageColumn('image', [await png(20), Uint8Array.from([1, 2, 3]), await png(30)]), classLabelColumn('label', ['a', 'b'], [1, 0, 1])],
  });
  const { code, stdout, stderr } = await advoodWithEnv({ ADVOOD_CACHE: join(root, 'cache') }, 'features', '--data', dict, '--split', 'test', '--input-size', '32', '--out', join(root, 'f.arrow'), '--json');
  t.is(code, 0, stderr);
  const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.deepEqual(events.filter((e) => e.event === 'skipped').map((e) => [e.id, e.file]), [['test/1', `${join(dict, 'test', 'data-00000-of-00001.arrow')}#1`]]);
  t.like(events.find((e) => e.event === 'done'), { rows: 2, skipped: 1 });
});

test('bad dataset input is one line naming the file and the flag, before any weights load', async (t) => {
  const noImage = join(root, 'no-image.parquet');
  writeParquetFile(noImage, [{ name: 'image', feature: { dtype: 'string', _type: 'Value' }, values: ['a.png'] }]);
  const features = await advood('features', '--data', noImage, '--out', join(root, 'x.arrow'));
  t.is(features.code, 2);
  t.regex(features.stderr, /^advood: .*no-image\.parquet: no image column \(an Image feature\); its column 'image' is Value\(string\), not an Image/m);
  t.notRegex(features.stderr, /\n\s+at /);

  const cifar = join(root, 'cifar.parquet');
  writeParquetFile(cifar, [imageColumn('img', [await png(1)]), classLabelColumn('label', ['a'], [0])]);
  const evaluate = await advood('evaluate', '--id-train', cifar, '--id-test', `${cifar}?split=test`, '--ood', cifar, '--target', 'no-such-target');
  t.is(evaluate.code, 2);
  t.regex(evaluate.stderr, /cifar\.parquet: no split 'test' \(--split\); splits: train/);
  const label = await advood('evaluate', '--id-train', cifar, '--id-test', cifar, '--ood', cifar, '--label-column', 'fine_label', '--target', 'no-such-target');
  t.regex(label.stderr, /cifar\.parquet: no column 'fine_label' \(--label-column\); columns: img \(Image\), label \(ClassLabel\)/);
  t.is(label.stderr.trim().split('\n').length, 1);
});
