/**
 * Long loads report progress through the commands' own events: a Hub dataset's files in bytes (a bar with an
 * ETA on a terminal, JSON events with --json) and a checkpoint's tensors as they load, never bare stderr lines.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { imageColumn, writeParquetFile } from '../helpers/hf-dataset-writer.js';
import { startMockHub } from '../helpers/mock-hub.js';
import { advoodWithEnv } from '../helpers/run-cli.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';

const work = mkdtempSync(join(tmpdir(), 'advood-load-progress-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

interface ProgressEvent {
  event: string;
  task: string;
  done: number;
  total: number;
}

test('features from a Hub dataset and a CLIP checkpoint: download bytes and tensors are --json events, ending at their totals', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const images = await Promise.all(
    Array.from({ length: 6 }, (_, i) => sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 40 * i, g: 200 - 30 * i, b: 90 } } }).png().toBuffer()),
  );
  const parquetPath = join(work, 'ood.parquet');
  writeParquetFile(parquetPath, [imageColumn('image', images.map((b) => new Uint8Array(b)))]);
  const parquet = readFileSync(parquetPath);
  hub.createRepo('org/ood-set', { files: { 'data/test-00000-of-00001.parquet': parquet } });
  const checkpoint = join(work, 'tiny-clip');
  writeTinyClip(checkpoint, 'hf', 'quick_gelu');

  const env = { HF_ENDPOINT: hub.url, HF_HOME: join(work, 'hf-home'), ADVOOD_CACHE: join(work, 'cache') };
  const out = join(work, 'ood.arrow');
  const result = await advoodWithEnv(env, 'features', '--target', checkpoint, '--data', 'hf://datasets/org/ood-set', '--out', out, '--json');
  t.is(result.code, 0, result.stderr);
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as ProgressEvent);

  const download = events.filter((e) => e.task === 'downloading data/test-00000-of-00001.parquet');
  t.true(download.length >= 2, result.stdout);
  t.deepEqual(download.at(-1), { ...download.at(-1)!, event: 'done', done: parquet.length, total: parquet.length });
  const tensors = events.filter((e) => e.task === "loading the vision tower's tensors");
  t.is(tensors.at(-1)?.event, 'done');
  t.true(tensors.at(-1)!.total > 10 && tensors.at(-1)!.done === tensors.at(-1)!.total, JSON.stringify(tensors.at(-1)));
  t.notRegex(result.stderr, /^downloading /m, 'the bytes are events, not bare lines');
});
