/**
 * Writes never follow a planted symlink, temp files are exclusive and random, exports and merges keep out of
 * folders that are not theirs.
 */
import test from 'ava';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSafely } from '../../src/core/safe-write.js';
import { exportImageFolder } from '../../src/release/export/imagefolder-export.js';
import { exportParquet } from '../../src/release/export/parquet-export.js';
import { JOURNAL_FILE } from '../../src/release/write/release-journal.js';
import { canonicalManifestText, type ReleaseManifest, sealManifest } from '../../src/release/release-manifest.js';
import { mergeReleases } from '../../src/release/write/release-merge.js';
import { rewriteCard } from '../../src/release/write/release-metadata.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { UserError } from '../../src/core/errors.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const root = mkdtempSync(join(tmpdir(), 'advood-safe-writes-'));
const release = join(root, 'release');
const ARGS = { total: 9, batch: 3, shardBytes: 1e9 };
let n = 0;
test.after.always(() => rmSync(root, { recursive: true, force: true }));
test.before(async () => {
  await generateFixtureRelease({ dir: release, ...ARGS });
});

/** A file outside every output folder that a planted symlink points at; it must keep its content. */
function victim(): string {
  const path = join(root, `victim-${n++}.txt`);
  writeFileSync(path, 'precious');
  return path;
}

test("generate's progress journal is not written through a symlink planted at its temp name", async (t) => {
  const out = join(root, 'planted-journal');
  mkdirSync(out);
  const target = victim();
  symlinkSync(target, join(out, `.${JOURNAL_FILE}.tmp`));
  await generateFixtureRelease({ dir: out, ...ARGS });
  t.is(readFileSync(target, 'utf8'), 'precious');
  t.deepEqual((await verifyRelease(out)).problems, []);
});

test('a progress journal that is itself a symlink is refused, not followed', async (t) => {
  const out = join(root, 'symlinked-journal');
  mkdirSync(out);
  const target = victim();
  symlinkSync(target, join(out, JOURNAL_FILE));
  await t.throwsAsync(generateFixtureRelease({ dir: out, ...ARGS }), { instanceOf: UserError, message: /is not a regular file \(a symlink\?\); refusing/ });
  t.is(readFileSync(target, 'utf8'), 'precious');
});

test("release card does not write through a symlink planted at .README.md.tmp", async (t) => {
  const dir = join(root, 'planted-card');
  cpSync(release, dir, { recursive: true });
  const target = victim();
  symlinkSync(target, join(dir, '.README.md.tmp'));
  // The planted link is an extra file, so verify (and with it the card) refuses the release as it stands.
  await t.throwsAsync(rewriteCard(dir), { instanceOf: UserError, message: /\.README\.md\.tmp: is in the release directory but not in the manifest/ });
  t.is(readFileSync(target, 'utf8'), 'precious');
});

test('writeFileSafely replaces a symlink at the target itself, never the file it points to, and leaves no temp file', (t) => {
  const dir = join(root, 'replace-link');
  mkdirSync(dir);
  const target = victim();
  symlinkSync(target, join(dir, 'out.json'));
  writeFileSafely(join(dir, 'out.json'), '{}\n');
  t.is(readFileSync(target, 'utf8'), 'precious');
  t.is(readFileSync(join(dir, 'out.json'), 'utf8'), '{}\n');
  t.deepEqual(readdirSync(dir), ['out.json']);
});

test('export refuses a non-empty output folder unless --overwrite, and leaves its files alone', async (t) => {
  for (const [name, exporter] of [['parquet', exportParquet], ['imagefolder', exportImageFolder]] as const) {
    const out = join(root, `export-${name}`);
    mkdirSync(out);
    writeFileSync(join(out, 'README.md'), 'mine');
    await t.throwsAsync(exporter(release, out), { instanceOf: UserError, message: /is not empty \(README\.md\); pass --overwrite/ });
    t.is(readFileSync(join(out, 'README.md'), 'utf8'), 'mine');
    await exporter(release, out, { overwrite: true });
    t.true(readdirSync(out).length > 1);
  }
});

test('merge refuses an output equal to or inside an input release, before writing anything', async (t) => {
  const a = join(root, 'part-a');
  const b = join(root, 'part-b');
  await generateFixtureRelease({ dir: a, ...ARGS, shard: '0/2' });
  await generateFixtureRelease({ dir: b, ...ARGS, shard: '1/2' });
  const before = readdirSync(a).sort();
  await t.throwsAsync(mergeReleases([a, b], join(a, 'merged'), 'merge'), { instanceOf: UserError, message: /is inside the input release/ });
  await t.throwsAsync(mergeReleases([a, b], b, 'merge'), { instanceOf: UserError, message: /is the input release/ });
  symlinkSync(a, join(root, 'alias-of-a'));
  await t.throwsAsync(mergeReleases([a, b], join(root, 'alias-of-a', 'merged'), 'merge'), { instanceOf: UserError, message: /inside the input release/ });
  t.deepEqual(readdirSync(a).sort(), before);
  t.true((await verifyRelease(a)).ok);
  t.false(existsSync(join(a, 'merged')));
  const merged = join(root, 'merged');
  await mergeReleases([a, b], merged, 'merge');
  t.deepEqual((await verifyRelease(merged)).problems, []);
});

test('merge refuses a part whose manifest was edited and resealed to contradict its rows', async (t) => {
  const a = join(root, 'resealed-a');
  const b = join(root, 'resealed-b');
  await generateFixtureRelease({ dir: a, ...ARGS, shard: '0/2' });
  await generateFixtureRelease({ dir: b, ...ARGS, shard: '1/2' });
  const manifestPath = join(b, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ReleaseManifest;
  const { manifestSha256: _, ...rest } = { ...manifest, seed: manifest.seed + 1 };
  writeFileSync(manifestPath, canonicalManifestText(sealManifest(rest)));
  await t.throwsAsync(mergeReleases([a, b], join(root, 'resealed-merged'), 'merge'), {
    instanceOf: UserError,
    message: /resealed-b does not verify[^]*seed \d+, the manifest says \d+/,
  });
  t.false(existsSync(join(root, 'resealed-merged')));
});
