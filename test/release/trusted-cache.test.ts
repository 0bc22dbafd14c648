/**
 * Cache poisoning: a release is verified before any reader uses it, and what caches key on is the digest of
 * the bytes verify read, never the manifest's claim about itself. Copy a release, damage the copy, use it:
 * the copy is refused, and the genuine release is unaffected.
 */
import test from 'ava';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openReleaseImageSource } from '../../src/release/read/release-image-source.js';
import { exportImageFolder } from '../../src/release/export/imagefolder-export.js';
import { UserError } from '../../src/core/errors.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const root = mkdtempSync(join(tmpdir(), 'advood-trusted-cache-'));
const genuine = join(root, 'genuine');
const other = join(root, 'other-run');
let copies = 0;
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test.before(async () => {
  await generateFixtureRelease({ dir: genuine, total: 12, batch: 4, shardBytes: 1e9 });
  // Another run with the same layout: its shard is a different, equally well-formed Arrow stream.
  await generateFixtureRelease({ dir: other, total: 13, batch: 4, shardBytes: 1e9 });
});

function copyOf(dir: string): string {
  const copy = join(root, `copy-${copies++}`);
  cpSync(dir, copy, { recursive: true });
  return copy;
}

const shardOf = (dir: string) => join(dir, readdirSync(dir).find((name) => name.startsWith('data-'))!);

test('an intact copy is accepted and shares the genuine release fingerprint (its cache is reused)', async (t) => {
  const a = await openReleaseImageSource(genuine, 'image', 'a');
  const b = await openReleaseImageSource(copyOf(genuine), 'image', 'b');
  t.is(a.fingerprint, b.fingerprint);
  t.not(a.fingerprint, (await openReleaseImageSource(other, 'image', 'c')).fingerprint);
});

test("a copy with another run's shard swapped in is refused before use, naming the shard", async (t) => {
  const copy = copyOf(genuine);
  cpSync(shardOf(other), shardOf(copy));
  const error = await t.throwsAsync(openReleaseImageSource(copy, 'image', 'swapped'), { instanceOf: UserError });
  t.regex(error!.message, /does not verify \(data-00000-of-00001\.arrow: (size|sha256) .*\); not evaluating it/);
});

test('a copy with a 0-byte or truncated shard is refused; the genuine release still opens with all its rows', async (t) => {
  const empty = copyOf(genuine);
  writeFileSync(shardOf(empty), '');
  await t.throwsAsync(openReleaseImageSource(empty, 'image', 'empty'), { instanceOf: UserError, message: /does not verify/ });
  const truncated = copyOf(genuine);
  writeFileSync(shardOf(truncated), Buffer.alloc(100));
  await t.throwsAsync(openReleaseImageSource(truncated, 'cleanImage', 'truncated'), { instanceOf: UserError, message: /does not verify/ });
  const source = await openReleaseImageSource(genuine, 'image', 'genuine');
  t.is(source.items.length, source.release.length);
  t.true(source.items.length > 0);
});

test('export refuses a release that fails verification, whoever calls it', async (t) => {
  const copy = copyOf(genuine);
  writeFileSync(shardOf(copy), '');
  await t.throwsAsync(exportImageFolder(copy, join(root, 'export-of-bad')), { instanceOf: UserError, message: /does not verify .*; not exporting it/ });
});
