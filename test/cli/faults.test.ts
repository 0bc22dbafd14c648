/**
 * Faults a hostile or unlucky user meets, through the real CLI in a child process: each ends as one line
 * (`advood: …`) with a documented exit code and no stack trace, or as a skipped, named item.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeFailure } from '../../src/cli/error-boundary.js';
import { generateSummaryLine } from '../../src/cli/generate.js';
import { acquireOutputLock, LOCK_FILE } from '../../src/core/output-lock.js';
import type { ReleaseManifest } from '../../src/release/release-manifest.js';
import { UserError } from '../../src/core/errors.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';
import { advoodWithEnv, type CliResult } from '../helpers/run-cli.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const repo = join(import.meta.dirname, '..', '..');
const demo = join(repo, 'datasets', 'demo');
const work = mkdtempSync(join(tmpdir(), 'advood-cli-faults-'));
const env = { ADVOOD_CACHE: join(work, 'cache') };
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => advoodWithEnv(env, ...args);

/** The failure is exactly one `advood:` line, with no stack and no dump of the wasm module's source. */
function oneLine(t: ExecutionContext, result: CliResult, code: number, message: RegExp): void {
  t.is(result.code, code, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('advood: '));
  t.is(lines.length, 1, result.stderr);
  t.regex(lines[0] ?? '', message);
  t.notRegex(result.stderr, /\n\s+at /);
  t.notRegex(result.stderr, /var Module|WasmBackendModule/);
}

/** Two good images plus the filesystem's hazards, all with image names. */
function hazardFolder(): string {
  const dir = join(work, 'hazards');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(demo, 'fashion-mnist-test', 'bag', 't10k-00018.png'), join(dir, 'a-good.png'));
  copyFileSync(join(demo, 'fashion-mnist-test', 'coat', 't10k-00010.png'), join(dir, 'b-good.png'));
  symlinkSync(join(work, 'nowhere.png'), join(dir, 'dangling.png'));
  symlinkSync('loop.png', join(dir, 'loop.png'));
  symlinkSync('/dev/zero', join(dir, 'zero.png'));
  return dir;
}

test('features: a dangling symlink, a symlink loop, a FIFO and a link to /dev/zero are skipped and named; the run finishes', async (t) => {
  const data = hazardFolder();
  await promisify(execFile)('mkfifo', [join(data, 'fifo.png')]);
  const out = join(work, 'hazards.arrow');
  const result = await cli('features', '--backend', TEST_BACKEND, '--data', data, '--out', out, '--input-size', '32', '--json');
  t.is(result.code, 0, result.stderr);
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
  const skipped = Object.fromEntries(events.filter((e) => e.event === 'skipped').map((e) => [e.id, e.reason]));
  t.deepEqual(Object.keys(skipped).sort(), ['dangling.png', 'fifo.png', 'loop.png', 'zero.png']);
  t.regex(skipped['dangling.png']!, /file not found/);
  t.regex(skipped['loop.png']!, /symlink loop/);
  t.regex(skipped['fifo.png']!, /FIFO.*skipped without reading/);
  t.regex(skipped['zero.png']!, /a device.*skipped without reading/);
  t.like(events.at(-1), { event: 'done', rows: 2, skipped: 4 });
});

test('features --out naming a folder: one line, and no stray temp file beside it', async (t) => {
  const out = join(work, 'features-out-dir');
  mkdirSync(out);
  const result = await cli('features', '--backend', TEST_BACKEND, '--data', join(demo, 'textures'), '--out', out, '--input-size', '32');
  oneLine(t, result, 2, new RegExp(`${out}: is a directory; name a file to write`));
  t.deepEqual(readdirSync(work).filter((name) => name.startsWith('features-out-dir')), ['features-out-dir']);
  t.deepEqual(readdirSync(out), []);
});

const GENERATE = ['generate', '--backend', TEST_BACKEND, '--id', join(demo, 'fashion-mnist-train'), '--id-n', '8', '--ood', join(demo, 'textures'), '--n', '2', '--attack', 'demo-lowfreq', '--input-size', '32', '--steps', '1'];

test('generate --out naming an existing file: one line, before any work', async (t) => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'mine');
  oneLine(t, await cli(...GENERATE, '--out', file), 2, /--out .*a-file exists and is not a folder/);
});

test('generate refused by validation (--dct-k 1000) writes nothing; the corrected command then runs', async (t) => {
  const out = join(work, 'dct');
  oneLine(t, await cli(...GENERATE, '--set', 'constraints.lowResolution=null', '--dct-k', '1000', '--out', out), 2, /dctLowPass\.k 1000 exceeds the input size 32×32/);
  t.false(existsSync(join(out, 'progress.json')));
  const corrected = await cli(...GENERATE, '--set', 'constraints.lowResolution=null', '--dct-k', '4', '--out', out);
  t.is(corrected.code, 0, corrected.stderr);
  t.true(existsSync(join(out, 'manifest.json')));
  t.false(existsSync(join(out, LOCK_FILE)), 'the lock goes with the run');
});

test('generate on an --out another live run holds: one line naming the holder', async (t) => {
  const out = join(work, 'locked');
  mkdirSync(out);
  // This test process is alive: its lock is held.
  writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname() }));
  oneLine(t, await cli(...GENERATE, '--out', out), 2, new RegExp(`is in use by another advood generate \\(pid ${process.pid}`));
});

test('a lock whose process is gone is taken over; a live one is refused', (t) => {
  const dir = join(work, 'stale-lock');
  mkdirSync(dir);
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
  const lock = acquireOutputLock(dir, 'test');
  t.throws(() => acquireOutputLock(dir, 'test'), { instanceOf: UserError, message: /in use by another test/ });
  lock.release();
  t.false(existsSync(join(dir, LOCK_FILE)));
  acquireOutputLock(dir, 'test').release();
});

test('--debug and ADVOOD_DEBUG=1 add the stack; without them there is none', async (t) => {
  const out = join(work, 'debug-out-dir');
  mkdirSync(out);
  const args = ['features', '--backend', TEST_BACKEND, '--data', join(demo, 'textures'), '--out', out, '--input-size', '32'];
  t.regex((await cli(...args, '--debug')).stderr, /is a directory[^\n]*\n(.*\n)*\s+at /);
  t.regex((await advoodWithEnv({ ...env, ADVOOD_DEBUG: '1' }, ...args)).stderr, /\n\s+at /);
});

for (const kind of ['exception', 'rejection']) {
  test(`${kind === "exception" ? "an" : "a"} ${kind} escaping every await after the wasm backend loaded ends as one line (exit 70), not the wasm module's rethrow`, async (t) => {
    const child = join(repo, 'test', 'fixtures', 'uncaught-after-wasm-child.ts');
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, kind], { cwd: repo }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    t.true((JSON.parse(result.stdout.split('\n')[0]!) as { handlers: number }).handlers >= 2, 'the wasm module added its handler');
    oneLine(t, result, 70, new RegExp(`^advood: internal error: escaped ${kind} \\(a bug in advood; rerun with --debug for the stack\\)$`));
  });
}

test('filesystem errors reaching the boundary: one line naming the file, exit 3, the run resumable', (t) => {
  const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', syscall: 'write', path: '/out/progress.json' });
  t.deepEqual(describeFailure(full), {
    line: '/out/progress.json: no space left on the device (write); fix it and rerun the same command (an interrupted generate resumes)',
    code: 3,
  });
  t.is(describeFailure(new UserError('bad flag')).code, 2);
});

test('generate --no-clean-image works, and the progress line gives success as the summary does (a percentage)', async (t) => {
  const out = join(work, 'no-clean');
  const result = await cli(...GENERATE, '--no-clean-image', '--out', out);
  t.is(result.code, 0, result.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { schema: { includeCleanImage: boolean } };
  t.false(manifest.schema.includeCleanImage);
  t.regex(result.stderr, /generate \d+\/\d+ .* success \d+\.\d %/);
  const shown = [...result.stderr.matchAll(/success (\S+)( %)?/g)];
  t.true(shown.length >= 3);
  t.true(shown.every((m) => m[2] === ' %'), JSON.stringify(shown.map((m) => m[0])));
  t.regex(result.stderr, /generate: \d+ rows .* success \d+\.\d %/);
});

test('generate --shard -1/2: one line about the --shard value, not "Unknown argument"', async (t) => {
  oneLine(t, await cli(...GENERATE, '--shard', '-1/2', '--out', join(work, 'shard')), 2, /--shard "-1\/2": expected i\/n/);
});

test('the summary of a rerun that only had to close the release has no NaN medians', (t) => {
  const median = { cosBefore: Number.NaN, cosAfter: Number.NaN, psnr: Number.NaN, linf: Number.NaN, lowFreqEnergy: Number.NaN, steps: Number.NaN };
  const manifest = { counts: { rows: 7, errors: 1, itemsConsumed: 8, shards: 1 } } as ReleaseManifest;
  const line = generateSummaryLine({ rows: 0, skipped: 0, successRate: 0, median, manifest, alreadyComplete: false }, '/out');
  t.is(line, 'generate: nothing left to attack; finished the release in /out (7 rows, 1 skipped)');
  t.notRegex(line, /NaN/);
});

/** One release for the per-command faults, and broken copies of it. */
const release = join(work, 'release');
test.before(async () => {
  await generateFixtureRelease({ dir: release, total: 6, batch: 3, shardBytes: 1e9 });
});

function brokenCopy(name: string): string {
  const dir = join(work, name);
  cpSync(release, dir, { recursive: true });
  const shard = readdirSync(dir).find((f) => f.startsWith('data-'))!;
  writeFileSync(join(dir, shard), readFileSync(join(dir, shard)).subarray(0, 100));
  return dir;
}

// A fault in each command ends as one line without a stack.
const PER_COMMAND: [string, () => string[], number, RegExp][] = [
  ['evaluate on a release with a truncated shard', () => ['evaluate', '--backend', TEST_BACKEND, '--id-train', join(demo, 'fashion-mnist-train'), '--id-test', join(demo, 'fashion-mnist-test'), '--ood', brokenCopy('truncated'), '--out', join(work, 'eval')], 2, /truncated does not verify \(data-00000-of-00001\.arrow: size 100 bytes.*; not evaluating it$/],
  ['release card on a release that fails verify', () => ['release', 'card', brokenCopy('card-broken')], 2, /card-broken does not verify .*; not re-sealing it/],
  ['release export into a non-empty folder', () => {
    const out = join(work, 'export-full');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'keep.txt'), 'mine');
    return ['release', 'export', release, '--to', 'parquet', '--out', out];
  }, 2, /export-full is not empty \(keep\.txt\); pass --overwrite/],
  ['release merge into one of its inputs', () => ['release', 'merge', release, brokenCopy('merge-b'), '--out', join(release, 'merged')], 2, /is inside the input release/],
  ['release verify of a folder that is not a release', () => ['release', 'verify', join(work, 'nowhere-release')], 1, /manifest\.json: cannot read the release manifest/],
  ['experiment with a __proto__ key in its config', () => {
    const config = join(work, 'experiment.json');
    writeFileSync(config, '{"name": "x", "__proto__": {"polluted": true}}');
    return ['experiment', config];
  }, 2, /experiment\.json: not a readable JSON experiment config \(key "__proto__" at the top level is not allowed/],
  ['demo with --out under a file', () => {
    writeFileSync(join(work, 'demo-file'), 'mine');
    return ['demo', '--quick', '--backend', TEST_BACKEND, '--out', join(work, 'demo-file', 'sub')];
  }, 2, /demo-file\/sub.*: part of its path is a file, not a folder/],
];

for (const [name, args, code, message] of PER_COMMAND) {
  test(`one line, no stack: ${name}`, async (t) => {
    const result = await cli(...args());
    if (code === 1) {
      t.is(result.code, 1);
      t.regex(result.stderr, message);
      t.notRegex(result.stderr, /\n\s+at /);
    } else oneLine(t, result, code, message);
  });
}
