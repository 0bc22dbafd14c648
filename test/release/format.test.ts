import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table } from 'parquet-wasm/node';
import { openRelease } from '../../src/release/read/release-reader.js';
import { openReleaseWriter } from '../../src/release/write/release-writer.js';
import type { ReleaseRow } from '../../src/release/release-row.js';
import { readCSchema, type CField } from '../fixtures/arrow-c-schema.js';
import { FIXTURE_CONFIG, FIXTURE_EXTRAS, FIXTURE_PARAMS_HASH, FIXTURE_SCHEMA, fixtureBatch, generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'advood-release-'));

async function collect(dir: string): Promise<ReleaseRow[]> {
  const rows: ReleaseRow[] = [];
  for await (const row of (await openRelease(dir)).rows()) rows.push(row);
  return rows;
}

test('round trip: every column type, nulls, -1 labels, int64 beyond 2^32, Infinity and unicode come back unchanged', async (t) => {
  const dir = join(tempDir(), 'r');
  const first = await fixtureBatch([0, 1, 2, 3, 4, 5]);
  const second = await fixtureBatch([6, 7, 8, 9, 10, 11, 12]);
  const writer = await openReleaseWriter(dir, { schemaInfo: FIXTURE_SCHEMA, config: FIXTURE_CONFIG, runHash: FIXTURE_PARAMS_HASH, shardBytes: 1e6 });
  t.is(writer.resumeFrom, 0);
  await writer.append(first.rows, first.errors, 6);
  await writer.append(second.rows, second.errors, 13);
  const manifest = await writer.close(FIXTURE_EXTRAS);
  const expected = [...first.rows, ...second.rows];
  t.true(expected.some((r) => r.cleanImage === null) && expected.some((r) => r.feature === null) && expected.some((r) => r.label === -1));
  t.true(expected.some((r) => r.psnr === Infinity) && expected.every((r) => r.seed > 2 ** 32));
  t.deepEqual(await collect(dir), expected);
  t.is(manifest.counts.rows, expected.length);
  t.deepEqual(manifest.errors, [...first.errors, ...second.errors]);
  t.is(manifest.counts.itemsConsumed, 13);
  t.is((await openRelease(dir)).length, expected.length);
});

test('optional columns: without clean images and features the columns are absent and read back as null', async (t) => {
  const dir = join(tempDir(), 'r');
  const schemaInfo = { ...FIXTURE_SCHEMA, featureDim: null, includeCleanImage: false };
  const { rows } = await fixtureBatch([1, 2]);
  const writer = await openReleaseWriter(dir, { schemaInfo, config: FIXTURE_CONFIG, runHash: FIXTURE_PARAMS_HASH });
  await writer.append(rows, [], 2);
  await writer.close(FIXTURE_EXTRAS);
  const info = JSON.parse(readFileSync(join(dir, 'dataset_info.json'), 'utf8'));
  t.false('clean_image' in info.features);
  t.false('feature' in info.features);
  t.deepEqual(await collect(dir), rows.map((r) => ({ ...r, cleanImage: null, feature: null })));
});

test('a bad row value is refused with the row id and column named', async (t) => {
  const dir = join(tempDir(), 'r');
  const { rows } = await fixtureBatch([1]);
  const writer = await openReleaseWriter(dir, { schemaInfo: FIXTURE_SCHEMA, config: FIXTURE_CONFIG, runHash: FIXTURE_PARAMS_HASH });
  await t.throwsAsync(writer.append([{ ...rows[0]!, feature: new Float32Array(3) }], [], 1), { message: /fixture\/1.*feature.*length 4/ });
  await t.throwsAsync(writer.append([{ ...rows[0]!, steps: 1.5 }], [], 1), { message: /fixture\/1.*steps must be an integer/ });
});

// The release format (the layout HF datasets' `save_to_disk` writes, which test/reference/independent_crosscheck.py
// reads back with pyarrow and `datasets`), written out by hand: these literals are the spec.
const CLASS_LABEL = { names: ['airplane', 'automobile', 'bird'], _type: 'ClassLabel' };
const value = (dtype: string) => ({ dtype, _type: 'Value' });
const EXPECTED_FEATURES = {
  id: value('string'),
  image: { _type: 'Image' },
  clean_image: { _type: 'Image' },
  label: CLASS_LABEL,
  source_dataset: value('string'),
  source_id: value('string'),
  source_sha256: value('string'),
  target_strategy: value('string'),
  target_class: CLASS_LABEL,
  target_index: value('int64'),
  target_reason: value('string'),
  target_model: value('string'),
  weights_sha256: value('string'),
  attack_preset: value('string'),
  params_hash: value('string'),
  seed: value('int64'),
  cos_before: value('float64'),
  cos_after: value('float64'),
  nearest_class_before: CLASS_LABEL,
  nearest_class_after: CLASS_LABEL,
  linf: value('float64'),
  l2: value('float64'),
  psnr: value('float64'),
  low_freq_energy: value('float64'),
  steps: value('int32'),
  success: value('bool'),
  feature: { feature: { dtype: 'float32', _type: 'Value' }, length: 4, _type: 'Sequence' },
  advood_version: value('string'),
};

test('dataset_info.json and state.json are what save_to_disk writes, to the letter', async (t) => {
  const dir = join(tempDir(), 'r');
  await generateFixtureRelease({ dir, total: 9, batch: 4, shardBytes: 1e6 });
  const infoText = readFileSync(join(dir, 'dataset_info.json'), 'utf8');
  const info = JSON.parse(infoText);
  // Key order matters for features (it is the column order); JSON.stringify compares it.
  t.is(JSON.stringify(info.features), JSON.stringify(EXPECTED_FEATURES));
  t.deepEqual(Object.keys(info), ['citation', 'description', 'features', 'homepage', 'license']);
  t.is(info.license, 'mit');
  t.true(infoText.startsWith('{\n  "citation": ""'), 'indent=2 like json.dump(indent=2)');

  const stateText = readFileSync(join(dir, 'state.json'), 'utf8');
  const state = JSON.parse(stateText);
  t.deepEqual(Object.keys(state), ['_data_files', '_fingerprint', '_format_columns', '_format_kwargs', '_format_type', '_output_all_columns', '_split']);
  t.deepEqual(state._data_files, [{ filename: 'data-00000-of-00001.arrow' }]);
  t.regex(state._fingerprint, /^[0-9a-f]{16}$/);
  t.is(
    stateText,
    '{\n  "_data_files": [\n    {\n      "filename": "data-00000-of-00001.arrow"\n    }\n  ],\n' +
      `  "_fingerprint": "${state._fingerprint}",\n  "_format_columns": null,\n  "_format_kwargs": {},\n` +
      '  "_format_type": null,\n  "_output_all_columns": false,\n  "_split": null\n}',
  );
  t.deepEqual(readdirSync(dir).sort(), ['README.md', 'data-00000-of-00001.arrow', 'dataset_info.json', 'manifest.json', 'state.json']);
});

test('an independent reader (arrow-rs via parquet-wasm) parses every shard: stream format, nullable fields, HF types and metadata', async (t) => {
  const dir = join(tempDir(), 'r');
  const manifest = await generateFixtureRelease({ dir, total: 24, batch: 4, shardBytes: 6000 });
  t.true(manifest.shards.length >= 3, 'several shards');
  const expectedMetadata = JSON.stringify({ info: { features: EXPECTED_FEATURES } });
  let rows = 0;
  for (const shard of manifest.shards) {
    const bytes = readFileSync(join(dir, shard.filename));
    // IPC *stream* format: starts with a continuation marker, not the file format's "ARROW1" magic.
    t.deepEqual([...bytes.subarray(0, 4)], [0xff, 0xff, 0xff, 0xff]);
    t.deepEqual([...bytes.subarray(bytes.length - 8)], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const table = Table.fromIPCStream(bytes);
    rows += table.recordBatches().reduce((n, b) => n + b.numRows, 0);
    t.is(JSON.stringify(JSON.parse(table.schema.metadata().get('huggingface')!)), expectedMetadata);
    const ffi = table.schema.toFFI();
    const root = readCSchema(ffi.addr());
    const byName = new Map(root.children.map((f) => [f.name, f]));
    const leaf = (format: string, name: string): CField => ({ format, name, nullable: true, children: [] });
    t.deepEqual(root.children.map((f) => f.name), Object.keys(EXPECTED_FEATURES));
    t.true(root.children.every((f) => f.nullable), 'every field nullable');
    t.deepEqual(byName.get('image'), { format: '+s', name: 'image', nullable: true, children: [leaf('z', 'bytes'), leaf('u', 'path')] });
    t.deepEqual(byName.get('feature'), { format: '+w:4', name: 'feature', nullable: true, children: [leaf('f', 'item')] });
    for (const name of ['id', 'source_dataset', 'target_reason', 'advood_version']) t.is(byName.get(name)!.format, 'u', `${name} is utf8, not large_utf8 ("U") or a dictionary`);
    for (const name of ['label', 'target_class', 'nearest_class_after', 'seed', 'target_index']) t.is(byName.get(name)!.format, 'l', `${name} is int64`);
    t.is(byName.get('steps')!.format, 'i');
    t.is(byName.get('success')!.format, 'b');
    t.is(byName.get('cos_after')!.format, 'g');
    ffi.free();
    table.free();
  }
  t.is(rows, manifest.counts.rows);
});

test('the dataset card carries the Hub YAML header and the four sections', async (t) => {
  const dir = join(tempDir(), 'r');
  await generateFixtureRelease({ dir, total: 9, batch: 4, shardBytes: 1e6 });
  const card = readFileSync(join(dir, 'README.md'), 'utf8');
  const header = card.split('\n---\n')[0]!;
  t.true(header.startsWith('---\nlicense: "mit"\n'));
  for (const line of [
    'task_categories:\n- image-classification',
    'size_categories:\n- n<1K',
    'source_datasets:\n- "fixture-source"',
    'configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: "data-*.arrow"',
    '  - name: "image"\n    dtype: image',
    '  - name: "label"\n    dtype:\n      class_label:\n        names:\n          \'0\': "airplane"',
    '  - name: "feature"\n    sequence: float32\n    length: 4',
    '    num_examples: 8', // 9 items, item 3 fails
  ]) {
    t.true(header.includes(line), line);
  }
  for (const section of ['## What it is', '## How it was made', '## How to load it', '## Limitations']) t.true(card.includes(section), section);
  t.true(card.includes('load_from_disk("path/to/this/release")'));
  t.true(card.includes('fixture-generate --total 9'), 'the exact command');
});
