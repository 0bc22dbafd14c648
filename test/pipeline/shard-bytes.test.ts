/**
 * Sharding is invisible in the bytes: the real `advood generate` run whole, and run as 2 and as 3 parts merged
 * with `advood release merge`, gives the same rows — ids, images and every other column, byte for byte — on the
 * suite's backend (CI runs it on wasm and on tensorflow). 7 items in batches of 2 are 4 batches (the last one
 * short), so 2 parts divide the batch count and 3 do not; a bad file sits in part 0 so errors travel too.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseManifest } from '../../src/release/release-manifest.js';
import { releaseRowBytes } from '../helpers/release-row-bytes.js';
import { advoodWithEnv } from '../helpers/run-cli.js';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'advood-shard-bytes-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
const env = { ADVOOD_CACHE: join(work, 'cache') };

const ITEMS = 7;
const BATCH = 2;

function oodSource(): string {
  const dir = join(work, 'ood');
  mkdirSync(dir, { recursive: true });
  const clipart = join(repo, 'datasets', 'demo', 'openclipart');
  for (const name of readdirSync(clipart).filter((f) => f.endsWith('.png')).sort().slice(0, ITEMS - 1)) copyFileSync(join(clipart, name), join(dir, name));
  writeFileSync(join(dir, 'animals--aa_broken.png'), 'not a png at all');
  return dir;
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;

test('the whole run and its parts merged (2 parts, 3 parts) hold the same rows byte for byte', async (t) => {
  const ood = oodSource();
  const generate = (out: string, ...extra: string[]) =>
    advoodWithEnv(env, 'generate', '--id', join(repo, 'datasets', 'demo', 'fashion-mnist-train'), '--id-n', '20', '--ood', ood,
      '--attack', 'demo-lowfreq', '--input-size', '32', '--steps', '3', '--batch', String(BATCH), '--seed', '1', '--out', out, ...extra);
  const whole = join(work, 'whole');
  const run = await generate(whole);
  t.is(run.code, 0, run.stderr);
  const want = await releaseRowBytes(whole);
  t.is(want.length, ITEMS - 1);

  for (const count of [2, 3]) {
    const parts = Array.from({ length: count }, (_, index) => join(work, `of-${count}`, `part-${index}`));
    for (const [index, part] of parts.entries()) {
      const r = await generate(part, '--shard', `${index}/${count}`);
      t.is(r.code, 0, r.stderr);
    }
    const merged = join(work, `of-${count}`, 'merged');
    const m = await advoodWithEnv(env, 'release', 'merge', ...parts, '--out', merged);
    t.is(m.code, 0, m.stderr);
    const got = await releaseRowBytes(merged);
    t.is(got.length, want.length, `${count} parts: row count`);
    // The ids of rows whose bytes differ in any column (a diff of whole rows would print every image).
    const differing = want.flatMap((row, i) => (got[i] === row ? [] : [(JSON.parse(row) as { id: string }).id]));
    t.deepEqual(differing, [], `${count} parts: every row, every column, the same bytes`);
    t.deepEqual(manifestOf(merged).errors, manifestOf(whole).errors, `${count} parts: the same skipped item`);
    t.deepEqual(manifestOf(merged).counts.itemsConsumed, ITEMS);
  }
});
