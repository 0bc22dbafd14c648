import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { exportImageFolder } from '../../src/release/export/imagefolder-export.js';
import { exportParquet } from '../../src/release/export/parquet-export.js';
import { mergeReleases } from '../../src/release/write/release-merge.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import type { ReleaseRow } from '../../src/release/release-row.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { resolveShard, shardItems } from '../../src/release/write/shard-spec.js';
import { FIXTURE_PARAMS_HASH, generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const root = mkdtempSync(join(tmpdir(), 'advood-merge-'));
const ARGS = { total: 23, batch: 4, shardBytes: 12000 };
const exportSource = join(root, 'for-export');

test.before(async () => {
  await generateFixtureRelease({ dir: exportSource, ...ARGS });
});

async function collect(dir: string): Promise<ReleaseRow[]> {
  const rows: ReleaseRow[] = [];
  for await (const row of (await openRelease(dir)).rows()) rows.push(row);
  return rows;
}

test('resolveShard: --shard, Slurm arrays, Kubernetes Indexed Jobs, and clear errors', (t) => {
  t.deepEqual(resolveShard('2/5', {}), { index: 2, count: 5 });
  t.deepEqual(resolveShard(' 0 / 1 ', { SLURM_ARRAY_TASK_ID: '3' }), { index: 0, count: 1 }, 'the flag wins over the environment');
  t.deepEqual(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 3, count: 4 });
  t.deepEqual(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '8' }), { index: 7, count: 8 }, '--array=1-8');
  t.deepEqual(resolveShard(undefined, { JOB_COMPLETION_INDEX: '5' }, 6), { index: 5, count: 6 });
  t.deepEqual(resolveShard(undefined, {}), { index: 0, count: 1 });
  t.throws(() => resolveShard('5/5', {}), { message: /index must be in 0…4/ });
  t.throws(() => resolveShard('1of2', {}), { message: /expected i\/n/ });
  t.throws(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '1' }), { message: /pass --shard-count/ });
  t.throws(() => resolveShard(undefined, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' }), { message: /SLURM_ARRAY_TASK_ID="x"/ });
});

test('resolveShard: stepped and partial Slurm arrays are numbered by position, Kubernetes by completions', (t) => {
  // --array=0-6:2 has tasks 0, 2, 4, 6: positions 0…3 of 4.
  const stepped = (id: number) => ({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' });
  t.deepEqual([0, 2, 4, 6].map((id) => resolveShard(undefined, stepped(id))), [0, 1, 2, 3].map((index) => ({ index, count: 4 })));
  // Without SLURM_ARRAY_TASK_COUNT the count is (max − min) / step + 1: --array=3-11:4 is tasks 3, 7, 11.
  t.deepEqual(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '11', SLURM_ARRAY_TASK_STEP: '4' }), { index: 1, count: 3 });
  t.throws(() => resolveShard(undefined, { ...stepped(0), SLURM_ARRAY_TASK_ID: '3' }), { message: /not min \+ k·step/ });
  t.throws(() => resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '2' }), { message: /pass --shard-count/ });
  // A task resubmitted alone (sbatch --array=2) is a one-task array: the whole source, which its folder's journal refuses.
  t.deepEqual(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_MAX: '2', SLURM_ARRAY_TASK_COUNT: '1' }), { index: 0, count: 1 });
  t.throws(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '8' }, 8), { message: /must equal the Job's completions \(not its parallelism\)/ });
});

test('shardItems: contiguous runs of whole batches that cover every item once, in order, sizes within one batch', (t) => {
  const items = Array.from({ length: 23 }, (_, i) => i);
  for (const batch of [1, 4, 5]) {
    for (const count of [1, 2, 3, 7, 23, 30]) {
      const parts = Array.from({ length: count }, (_, index) => shardItems(items, { index, count }, batch));
      t.deepEqual(parts.flat(), items, `batch ${batch}, count ${count}`);
      // Every part starts on a batch boundary of the unsharded run, so its batches are the unsharded run's batches.
      let start = 0;
      for (const part of parts) {
        t.is(start % batch, 0, `batch ${batch}, count ${count}: a part starts at item ${start}`);
        start += part.length;
      }
      const batchesPerPart = parts.map((p) => Math.ceil(p.length / batch));
      t.true(Math.max(...batchesPerPart) - Math.min(...batchesPerPart) <= 1, `batch ${batch}, count ${count}: ${batchesPerPart}`);
    }
  }
  // 23 items in batches of 4 are 6 batches: 2 + 2 + 2 for three parts, 1 + 1 + 1 + 1 + 1 + 1 + 0 for seven.
  t.deepEqual([0, 1, 2].map((index) => shardItems(items, { index, count: 3 }, 4).length), [8, 8, 7]);
  t.deepEqual([0, 1, 2, 3, 4, 5, 6].map((index) => shardItems(items, { index, count: 7 }, 4).length), [0, 4, 4, 4, 4, 4, 3]);
});

test('shard 0/2 + shard 1/2 merged equals the unsharded run, row for row, and verifies', async (t) => {
  const whole = join(root, 'whole');
  const part0 = join(root, 'part0');
  const part1 = join(root, 'part1');
  await generateFixtureRelease({ dir: whole, ...ARGS });
  await generateFixtureRelease({ dir: part1, ...ARGS, shard: '1/2' });
  await generateFixtureRelease({ dir: part0, ...ARGS, shard: '0/2' });
  const merged = join(root, 'merged');
  // Given out of order on purpose: merge orders parts by index.
  const manifest = await mergeReleases([part1, part0], merged, 'advood release merge part1 part0 --out merged');
  t.deepEqual(await collect(merged), await collect(whole));
  const report = await verifyRelease(merged);
  t.deepEqual(report.problems, []);
  const wholeManifest = JSON.parse(readFileSync(join(whole, 'manifest.json'), 'utf8'));
  t.deepEqual(manifest.errors, wholeManifest.errors);
  t.is(manifest.counts.rows, wholeManifest.counts.rows);
  t.is(manifest.counts.itemsConsumed, 23);
  t.is(manifest.shard, null);
  t.deepEqual(manifest.mergedFrom.map((p) => p.shard), [{ index: 0, count: 2 }, { index: 1, count: 2 }]);
  t.is(manifest.command, 'advood release merge part1 part0 --out merged');
  t.true(readdirSync(merged).filter((f) => f.endsWith('.arrow')).every((f, i, all) => f === `data-${String(i).padStart(5, '0')}-of-${String(all.length).padStart(5, '0')}.arrow`));
});

test('merge refuses parts of different runs, missing parts and repeated parts', async (t) => {
  const a = join(root, 'a');
  const b = join(root, 'b-other-params');
  await generateFixtureRelease({ dir: a, ...ARGS, shard: '0/3' });
  await generateFixtureRelease({ dir: b, ...ARGS, shard: '1/3', paramsHash: FIXTURE_PARAMS_HASH.replace('f1x', '999') });
  await t.throwsAsync(mergeReleases([a, b], join(root, 'm1'), 'merge'), { message: /the run hash differs/ });
  const c = join(root, 'c');
  await generateFixtureRelease({ dir: c, ...ARGS, shard: '2/3' });
  await t.throwsAsync(mergeReleases([a, c], join(root, 'm2'), 'merge'), { message: /parts 1\/3 are missing/ });
  await t.throwsAsync(mergeReleases([a, a], join(root, 'm3'), 'merge'), { message: /part 0\/3 is given twice/ });
});

test('Parquet export: Hub layout, read back by arrow-rs with the same rows, Image struct and HF metadata', async (t) => {
  const dir = exportSource;
  const out = join(root, 'for-export-parquet');
  const { files } = await exportParquet(dir, out);
  const shards = readdirSync(join(out, 'data')).sort();
  t.deepEqual(shards, shards.map((_, i) => `train-${String(i).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.parquet`));
  t.is(files.length, shards.length + 1);
  const ids: string[] = [];
  const images: Uint8Array[] = [];
  for (const name of shards) {
    const table = readParquet(readFileSync(join(out, 'data', name)));
    t.truthy(table.schema.metadata().get('huggingface')?.includes('"_type":"Image"'));
    const js = tableFromIPC(table.intoIPCStream());
    t.is(String(js.schema.fields.find((f) => f.name === 'image')!.type), 'Struct<{bytes:Binary, path:Utf8}>');
    for (const row of js) {
      ids.push(row.id);
      images.push(row.image.bytes);
    }
  }
  const rows = await collect(dir);
  t.deepEqual(ids, rows.map((r) => r.id));
  t.deepEqual(images.map((b) => Buffer.from(b).toString('base64')), rows.map((r) => Buffer.from(r.image).toString('base64')));
  t.regex(readFileSync(join(out, 'README.md'), 'utf8'), /path: "data\/train-\*"/);
  await t.throwsAsync(exportParquet(dir, join(dir, 'parquet')), { message: /inside the release/ });
});

test('ImageFolder export: one PNG per row in its class folder, with metadata.csv', async (t) => {
  const dir = exportSource;
  const out = join(root, 'for-export-images');
  const { images } = await exportImageFolder(dir, out);
  const rows = await collect(dir);
  t.is(images, rows.length);
  const csv = readFileSync(join(out, 'metadata.csv'), 'utf8').trim().split('\n');
  t.is(csv.length, rows.length + 1);
  const [file] = csv[1]!.split(',');
  t.deepEqual(readFileSync(join(out, file!)), Buffer.from(rows[0]!.image));
  t.true(readdirSync(out).includes('unlabelled'), 'rows with label -1');
  t.deepEqual(readdirSync(out).filter((f) => f !== 'metadata.csv' && f !== 'unlabelled').sort(), ['airplane', 'automobile', 'bird']);
});
