import test from 'ava';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { UserError } from '../../src/core/errors.js';
import { canonicalManifestText, sealManifest, type ReleaseManifest } from '../../src/release/release-manifest.js';
import { rewriteCard } from '../../src/release/write/release-metadata.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const root = mkdtempSync(join(tmpdir(), 'advood-verify-'));
const pristine = join(root, 'pristine');
let copies = 0;

test.before(async () => {
  await generateFixtureRelease({ dir: pristine, total: 16, batch: 4, shardBytes: 6000 });
});

function copy(): string {
  const dir = join(root, `copy-${copies++}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at]! ^= 0x01;
  writeFileSync(path, bytes);
}

test('the pristine release verifies', async (t) => {
  const report = await verifyRelease(pristine);
  t.deepEqual(report.problems, []);
  t.true(report.ok);
  t.is(report.filesChecked, readdirSync(pristine).length - 1);
});

test('a single flipped byte in any file, manifest included, is caught and the file named', async (t) => {
  const files = readdirSync(pristine);
  t.true(files.filter((f) => f.endsWith('.arrow')).length >= 2);
  for (const file of files) {
    const size = readFileSync(join(pristine, file)).length;
    for (const at of [0, Math.floor(size / 2), size - 1]) {
      const dir = copy();
      flipByte(join(dir, file), at);
      const report = await verifyRelease(dir);
      t.false(report.ok, `${file} byte ${at}`);
      t.true(report.problems.some((p) => p.file === file), `${file} byte ${at}: ${JSON.stringify(report.problems)}`);
    }
  }
});

test('a missing or an extra shard is caught', async (t) => {
  const missing = copy();
  const second = readdirSync(missing).filter((f) => f.startsWith('data-')).sort()[1]!;
  rmSync(join(missing, second));
  const missingReport = await verifyRelease(missing);
  t.false(missingReport.ok);
  t.true(missingReport.problems.some((p) => /^data-00001-of-\d{5}\.arrow$/.test(p.file) && p.file === second && /cannot be read/.test(p.problem)));

  const extra = copy();
  cpSync(join(extra, readdirSync(extra).find((f) => f.startsWith('data-00000'))!), join(extra, 'data-00099-of-00099.arrow'));
  const extraReport = await verifyRelease(extra);
  t.false(extraReport.ok);
  t.deepEqual(extraReport.problems, [{ file: 'data-00099-of-00099.arrow', problem: 'is in the release directory but not in the manifest (extra file)' }]);
});

test('`advood release verify` exits 1 and names the bad file; 0 when intact', async (t) => {
  const dir = copy();
  flipByte(join(dir, 'state.json'), 5);
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    t.is(await main(['release', 'verify', dir]), 1);
  } finally {
    process.stderr.write = original;
    process.exitCode = undefined;
  }
  t.regex(written.join(''), /state\.json: sha256 [0-9a-f]{64} does not match/);
  t.is(await main(['release', 'verify', pristine, '--json']), 0);
  process.exitCode = undefined;
});

/** Rewrites the manifest (resealed, so only the traversal itself is wrong). */
function tamperManifest(dir: string, change: (m: ReleaseManifest) => void): void {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
  change(manifest);
  const { manifestSha256: _, ...rest } = manifest;
  writeFileSync(join(dir, 'manifest.json'), canonicalManifestText(sealManifest(rest)));
}

test('path traversal in state.json or manifest.json is refused by the reader and by verify', async (t) => {
  const viaState = copy();
  const state = JSON.parse(readFileSync(join(viaState, 'state.json'), 'utf8'));
  state._data_files[0].filename = '../pristine/data-00000-of-00001.arrow';
  const stateText = JSON.stringify(state, null, 2);
  writeFileSync(join(viaState, 'state.json'), stateText);
  // Resealed with the edited state.json's digest, so the reader's own name check is what refuses it.
  tamperManifest(viaState, (m) => {
    const entry = m.files.find((f) => f.path === 'state.json')!;
    entry.sha256 = createHash('sha256').update(stateText).digest('hex');
    entry.size = Buffer.byteLength(stateText);
  });
  await t.throwsAsync(openRelease(viaState), { message: /not a plain file name inside the release; refusing/ });

  const viaManifest = copy();
  tamperManifest(viaManifest, (m) => {
    m.shards[0]!.filename = '/etc/passwd';
  });
  await t.throwsAsync(openRelease(viaManifest), { message: /"\/etc\/passwd" is not a plain file name/ });

  const viaFiles = copy();
  tamperManifest(viaFiles, (m) => {
    m.files[0]!.path = '../../outside.txt';
  });
  const report = await verifyRelease(viaFiles);
  t.false(report.ok);
  t.true(report.problems.some((p) => p.file === '../../outside.txt' && /refusing to follow/.test(p.problem)));
});

test('`advood release card` rebuilds an edited card and reseals the manifest so the release verifies again', async (t) => {
  const dir = copy();
  const card = join(dir, 'README.md');
  const original = readFileSync(card, 'utf8');
  writeFileSync(card, original.replace('## Limitations', '## Edited by hand'));
  t.false((await verifyRelease(dir)).ok);
  t.is(await main(['release', 'card', dir, '--json']), 0);
  t.is(readFileSync(card, 'utf8'), original);
  t.deepEqual((await verifyRelease(dir)).problems, []);
});

/**
 * What an attacker with a text editor does: edit files, then recompute every listed sha256 and size and
 * reseal the manifest, so that every byte check passes and only the meaning is wrong.
 */
function editAndReseal(dir: string, edit: (m: ReleaseManifest) => void = () => {}): void {
  tamperManifest(dir, (m) => {
    edit(m);
    for (const file of m.files) {
      const bytes = readFileSync(join(dir, file.path));
      file.size = bytes.length;
      file.sha256 = createHash('sha256').update(bytes).digest('hex');
    }
  });
}

test('verify: dataset_info.json claiming 999 examples for the shards\' rows is caught, though resealed', async (t) => {
  const dir = copy();
  const info = JSON.parse(readFileSync(join(dir, 'dataset_info.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'dataset_info.json'), JSON.stringify({ ...info, splits: { train: { name: 'train', num_examples: 999 } } }, null, 2));
  editAndReseal(dir);
  const report = await verifyRelease(dir);
  t.false(report.ok);
  t.deepEqual(report.problems, [{ file: 'dataset_info.json', problem: `splits claim train: 999 examples, the shards hold ${report.rowsChecked} rows` }]);
});

test('verify: a stale state.json _fingerprint is caught, though resealed', async (t) => {
  const dir = copy();
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { _fingerprint: string };
  const stale = state._fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...state, _fingerprint: stale }, null, 2));
  editAndReseal(dir);
  const report = await verifyRelease(dir);
  t.false(report.ok);
  t.is(report.problems.length, 1);
  t.regex(report.problems[0]!.problem, new RegExp(`^_fingerprint ${stale} is not the shards' \\([0-9a-f]{16}\\); stale or edited$`));
});

test("verify: rows whose seed, model or weights contradict the manifest are caught, naming a row, though resealed", async (t) => {
  const dir = copy();
  editAndReseal(dir, (m) => {
    m.seed = 8;
    m.model = { id: 'another-encoder', weightsSha256: m.model.weightsSha256 };
  });
  const report = await verifyRelease(dir);
  t.false(report.ok);
  const shards = report.problems.filter((p) => p.file.startsWith('data-'));
  t.true(shards.some((p) => /^row "fixture\/\d+": seed 1099511627783, the manifest says 8 .*contradict the manifest's provenance$/.test(p.problem)), JSON.stringify(shards));
  t.true(shards.some((p) => /targetModel "fixture-encoder", the manifest says "another-encoder"/.test(p.problem)));
});

test('verify: a shard that is a symlink to an identical file outside the release is caught and not followed', async (t) => {
  const dir = copy();
  const shard = readdirSync(dir).find((f) => f.startsWith('data-00000'))!;
  const outside = join(root, `outside-${shard}`);
  cpSync(join(dir, shard), outside);
  rmSync(join(dir, shard));
  symlinkSync(outside, join(dir, shard));
  const report = await verifyRelease(dir);
  t.false(report.ok);
  t.true(report.problems.some((p) => p.file === shard && /is a symlink; a release holds regular files only/.test(p.problem)), JSON.stringify(report.problems));
});

test('`advood release card` refuses to reseal a release that fails verification, and leaves it as it was', async (t) => {
  const dir = copy();
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { _fingerprint: string };
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...state, _fingerprint: '0123456789abcdef' }, null, 2));
  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
  await t.throwsAsync(rewriteCard(dir), { instanceOf: UserError, message: /does not verify \(state\.json: sha256 .*; not re-sealing it/ });
  t.is(readFileSync(join(dir, 'manifest.json'), 'utf8'), manifest);
  t.false((await verifyRelease(dir)).ok);
});
