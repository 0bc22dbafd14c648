import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Utf8 } from 'apache-arrow';
import sharp from 'sharp';
import { ItemError, UserError } from '../../src/core/errors.js';
import { openHfArrowDataset } from '../../src/sources/readers/hf-arrow-source.js';
import type { ImageSource, Preprocess } from '../../src/data/image-source.js';
import { openParquetDataset, readmeDataFiles, splitOfFileName } from '../../src/sources/readers/parquet-source.js';
import { classLabelColumn, type FixtureColumn, imageColumn, writeDatasetDict, writeParquetFile, writeSaveToDisk } from '../helpers/hf-dataset-writer.js';

const root = mkdtempSync(join(tmpdir(), 'advood-hf-sources-'));
const pre: Preprocess = { mode: 'clip', size: 4, background: [0, 0, 0] };
const CLASSES = ['cat', 'dog', 'frog'];

/** A flat 4×4 PNG whose grey level encodes the row: 10·(row+1). */
function png(value: number): Promise<Uint8Array> {
  return sharp({ create: { width: 4, height: 4, channels: 3, background: { r: value, g: value, b: value } } }).png().toBuffer();
}

async function rows(count: number, offset = 0): Promise<FixtureColumn[]> {
  const images = await Promise.all(Array.from({ length: count }, (_, i) => png(10 * (offset + i + 1))));
  return [imageColumn('img', images), classLabelColumn('label', CLASSES, images.map((_, i) => (offset + i) % 3))];
}

async function greyLevels(source: ImageSource, order = source.items): Promise<number[]> {
  return Promise.all(order.map(async (item) => Math.round((await source.load(item, pre)).pixels[0] * 255)));
}

test('save_to_disk: ids split/row, ClassLabel names, origin file#row, batches over two shards, any load order', async (t) => {
  const dir = join(root, 'saved');
  writeSaveToDisk(dir, await rows(10), { batchRows: 3, shards: 2, split: 'train' });
  const source = await openHfArrowDataset(dir);
  t.deepEqual(source.classNames, CLASSES);
  t.deepEqual(source.items.map((i) => i.id), Array.from({ length: 10 }, (_, i) => `train/${i}`));
  t.deepEqual(source.items.map((i) => i.label), Array.from({ length: 10 }, (_, i) => i % 3));
  // 4 batches of ≤3 rows: batches 0-1 in the first shard (6 rows), 2-3 in the second.
  t.is(source.items[7].origin, `${join(dir, 'data-00001-of-00002.arrow')}#1`);
  t.deepEqual(await greyLevels(source), Array.from({ length: 10 }, (_, i) => 10 * (i + 1)));
  const backwards = [...source.items].reverse();
  t.deepEqual(await greyLevels(source, backwards), backwards.map((item) => 10 * (Number(item.id.split('/')[1]) + 1)));
  t.is((await openHfArrowDataset(dir)).fingerprint, source.fingerprint);
});

test('DatasetDict: train by default, --split chooses, a wrong split is one line naming the splits', async (t) => {
  const dir = join(root, 'dict');
  writeDatasetDict(dir, { train: await rows(3), test: await rows(2, 5) });
  const train = await openHfArrowDataset(dir);
  t.is(train.name, 'dict-train');
  t.is(train.items.length, 3);
  const testSplit = await openHfArrowDataset(dir, { split: 'test' });
  t.deepEqual(testSplit.items.map((i) => i.id), ['test/0', 'test/1']);
  t.deepEqual(await greyLevels(testSplit), [60, 70]);
  await t.throwsAsync(openHfArrowDataset(dir, { split: 'validation' }), { instanceOf: UserError, message: /dict: no split 'validation' \(--split\); splits: train, test$/ });
  const noTrain = join(root, 'dict-no-train');
  writeDatasetDict(noTrain, { a: await rows(1), b: await rows(1) });
  await t.throwsAsync(openHfArrowDataset(noTrain), { instanceOf: UserError, message: /several splits \(a, b\) and none is 'train'; choose one with --split/ });
});

test('Parquet: a file with row groups, split by file name in a Hub folder, README configs win over names', async (t) => {
  const dir = join(root, 'hub-layout');
  writeParquetFile(join(dir, 'data', 'train-00000-of-00002.parquet'), await rows(5), { rowGroupRows: 2 });
  writeParquetFile(join(dir, 'data', 'train-00001-of-00002.parquet'), await rows(3, 5), { rowGroupRows: 2 });
  writeParquetFile(join(dir, 'data', 'test-00000-of-00001.parquet'), await rows(2, 8));
  const train = await openParquetDataset(dir);
  t.is(train.name, 'hub-layout-train');
  t.deepEqual(train.classNames, CLASSES);
  t.deepEqual(train.items.map((i) => i.label), [0, 1, 2, 0, 1, 2, 0, 1]);
  t.is(train.items[6].origin, `${join(dir, 'data', 'train-00001-of-00002.parquet')}#1`);
  t.deepEqual(await greyLevels(train), [10, 20, 30, 40, 50, 60, 70, 80]);
  const testSplit = await openParquetDataset(dir, { split: 'test' });
  t.deepEqual(await greyLevels(testSplit), [90, 100]);
  await t.throwsAsync(openParquetDataset(dir, { split: 'dev' }), { instanceOf: UserError, message: /hub-layout: no split 'dev' \(--split\); splits: test, train$/ });

  writeFileSync(join(dir, 'README.md'), '---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/test-*\n  - split: holdout\n    path:\n    - data/train-00001-*\n---\n# card\n');
  t.deepEqual(await greyLevels(await openParquetDataset(dir)), [90, 100]);
  t.deepEqual(await greyLevels(await openParquetDataset(dir, { split: 'holdout' })), [60, 70, 80]);
  const single = await openParquetDataset(join(dir, 'data', 'test-00000-of-00001.parquet'));
  t.is(single.items[0].id, 'test/0');
});

test('Parquet split names and README data_files are read as the Hub reads them', (t) => {
  t.is(splitOfFileName('data/train-00003-of-00010.parquet'), 'train');
  t.is(splitOfFileName('validation.parquet'), 'validation');
  t.is(splitOfFileName('dev/part-0.parquet'), 'validation');
  t.is(splitOfFileName('cifar10.parquet'), 'train');
  t.deepEqual(readmeDataFiles('no front matter'), null);
  t.deepEqual(
    [...readmeDataFiles('---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: "data/train-*"\n---\n')!],
    [['train', ['data/train-*']]],
  );
});

test('Parquet without the huggingface metadata: the image column is found by its struct type; labels are unlabelled', async (t) => {
  const path = join(root, 'plain.parquet');
  writeParquetFile(path, (await rows(3)).slice(0, 1), { metadata: false });
  const source = await openParquetDataset(path);
  t.deepEqual(source.classNames, []);
  t.deepEqual(source.items.map((i) => i.label), [null, null, null]);
  t.deepEqual(await greyLevels(source), [10, 20, 30]);
});

test('bad input: no image column, a non-image column named image, bad label columns — one line each', async (t) => {
  const strings: FixtureColumn = { name: 'image', feature: { dtype: 'string', _type: 'Value' }, values: ['a.png', 'b.png'] };
  const noImage = join(root, 'no-image.parquet');
  writeParquetFile(noImage, [strings]);
  await t.throwsAsync(openParquetDataset(noImage), {
    instanceOf: UserError,
    message: /no-image\.parquet: no image column \(an Image feature\); its column 'image' is Value\(string\), not an Image \(struct<bytes, path>\); columns: image \(Value\(string\)\)$/,
  });
  const plainStrings = join(root, 'plain-strings.parquet');
  writeParquetFile(plainStrings, [{ ...strings, feature: null, type: new Utf8() }], { metadata: false });
  await t.throwsAsync(openParquetDataset(plainStrings), { instanceOf: UserError, message: /no image column .*'image' is Utf8, not an Image/ });
  await t.throwsAsync(openParquetDataset(noImage, { imageColumn: 'image' }), { instanceOf: UserError, message: /column 'image' is Value\(string\), not an Image \(struct<bytes, path>\) \(--image-column\)$/ });

  const dir = join(root, 'labels');
  const base = await rows(2);
  writeSaveToDisk(dir, [...base, { name: 'caption', feature: { dtype: 'string', _type: 'Value' }, values: ['x', 'y'] }]);
  await t.throwsAsync(openHfArrowDataset(dir, { labelColumn: 'fine_label' }), { instanceOf: UserError, message: /labels: no column 'fine_label' \(--label-column\); columns: img \(Image\), label \(ClassLabel\), caption \(Value\(string\)\)$/ });
  await t.throwsAsync(openHfArrowDataset(dir, { labelColumn: 'caption' }), { instanceOf: UserError, message: /column 'caption' is Value\(string\); a label column must be a ClassLabel or an integer Value \(--label-column\)$/ });
  await t.throwsAsync(openHfArrowDataset(dir, { imageColumn: 'picture' }), { instanceOf: UserError, message: /no column 'picture' \(--image-column\)/ });

  const outOfRange = join(root, 'out-of-range');
  writeSaveToDisk(outOfRange, [base[0], classLabelColumn('label', CLASSES, [1, 7])]);
  await t.throwsAsync(openHfArrowDataset(outOfRange), { instanceOf: UserError, message: /data-00000-of-00001\.arrow#1: label 7 in column 'label' is not a class index \(0…2\)$/ });
});

test('corrupt image bytes in a row fail that row alone, named file#row; the others load', async (t) => {
  const dir = join(root, 'corrupt');
  const good = await png(40);
  writeSaveToDisk(dir, [imageColumn('img', [good, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), null, good])], { batchRows: 2 });
  const source = await openHfArrowDataset(dir);
  const results = await Promise.all(source.items.map((item) => source.load(item, pre).then(() => 'ok', (error: unknown) => error)));
  t.is(results[0], 'ok');
  t.is(results[3], 'ok');
  t.true(results[1] instanceof ItemError);
  t.is((results[1] as ItemError).item, `${join(dir, 'data-00000-of-00001.arrow')}#1`);
  t.regex((results[2] as ItemError).message, /#2: the image cell is empty \(null\)$/);
});

test('a save_to_disk folder with a wrong --split is refused; its state.json cannot point outside it', async (t) => {
  const dir = join(root, 'single');
  writeSaveToDisk(dir, await rows(1), { split: 'train' });
  await t.throwsAsync(openHfArrowDataset(dir, { split: 'test' }), { instanceOf: UserError, message: /single: a single Dataset of split 'train', not a DatasetDict; no split 'test' \(--split\)$/ });
  const crafted = join(root, 'crafted');
  mkdirSync(crafted);
  writeFileSync(join(crafted, 'state.json'), JSON.stringify({ _data_files: [{ filename: '../single/data-00000-of-00001.arrow' }] }));
  writeFileSync(join(crafted, 'dataset_info.json'), '{}');
  await t.throwsAsync(openHfArrowDataset(crafted), { instanceOf: UserError, message: /is not a plain name inside .*crafted; refusing to follow it$/ });
});

test('path-only images load only from inside the dataset folder, never from an absolute path; an integer Value label column gets numbered class names', async (t) => {
  // A private file of the user's, outside the dataset: a crafted row must not turn its pixels into a release's.
  const file = join(root, 'outside.png');
  writeFileSync(file, await png(70));
  const dir = join(root, 'paths');
  const cells = [{ bytes: null, path: file }, { bytes: null, path: 'relative.png' }, { bytes: null, path: '../outside.png' }];
  writeSaveToDisk(dir, [
    { name: 'image', feature: { _type: 'Image' }, values: cells },
    { name: 'y', feature: { dtype: 'int64', _type: 'Value' }, values: [2n, 0n, 1n] },
  ]);
  writeFileSync(join(dir, 'relative.png'), await png(30));
  const source = await openHfArrowDataset(dir, { labelColumn: 'y' });
  t.deepEqual(source.classNames, ['0', '1', '2']);
  t.deepEqual(source.items.map((i) => i.label), [2, 0, 1]);
  await t.throwsAsync(source.load(source.items[0], pre), { instanceOf: ItemError, message: /#0: the image has no bytes, and its path ".*outside\.png" is not inside the dataset folder .*paths; refused$/ });
  t.is(Math.round((await source.load(source.items[1], pre)).pixels[0] * 255), 30);
  await t.throwsAsync(source.load(source.items[2], pre), { instanceOf: ItemError, message: /#2: the image has no bytes, and its path "\.\.\/outside\.png" is not inside/ });
  t.deepEqual((await openHfArrowDataset(dir)).classNames, [], 'without --label-column an integer Value is not taken for labels');
});

test('crafted labels are bounded before anything is sized by them: 2,147,483,647 and 3,000,000 in an integer column are one line naming file#row', async (t) => {
  for (const label of [2_147_483_647n, 3_000_000n]) {
    const dir = join(root, `label-${label}`);
    writeSaveToDisk(dir, [(await rows(2))[0], { name: 'y', feature: { dtype: 'int64', _type: 'Value' }, values: [0n, label] }]);
    await t.throwsAsync(openHfArrowDataset(dir, { labelColumn: 'y' }), {
      instanceOf: UserError,
      message: new RegExp(`data-00000-of-00001\\.arrow#1: label ${label} in column 'y' is beyond the 100,000 classes an integer column may number; declare the column a ClassLabel with its names$`),
    });
  }
});

test('a state.json listing a shard that is missing names the missing file', async (t) => {
  const dir = join(root, 'missing-shard');
  writeSaveToDisk(dir, await rows(2));
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { _data_files: { filename: string }[] };
  state._data_files.push({ filename: 'data-00001-of-00002.arrow' });
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  await t.throwsAsync(openHfArrowDataset(dir), { instanceOf: UserError, message: /state\.json: _data_files\[1\] lists data-00001-of-00002\.arrow, which is not in .*missing-shard$/ });
});
