/**
 * Faults on the output side of `advood generate`, through the real CLI: two runs racing for one --out, and a
 * disk that fills up mid-run. Each ends as one line; the work already done stays, and the same command
 * finishes the release.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestFile } from '../../src/core/digest.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { advoodWithEnv, type CliResult } from '../helpers/run-cli.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const repo = join(import.meta.dirname, '..', '..');
const demo = join(repo, 'datasets', 'demo');
const work = mkdtempSync(join(tmpdir(), 'advood-output-faults-'));
const env = { ADVOOD_CACHE: join(work, 'cache') };
const GENERATE = ['generate', '--backend', TEST_BACKEND, '--id', join(demo, 'fashion-mnist-train'), '--id-n', '8', '--ood', join(demo, 'textures'), '--attack', 'demo-lowfreq', '--input-size', '32', '--steps', '1', '--batch', '2'];
const cli = (...args: string[]) => advoodWithEnv(env, ...args);

function failureLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('advood: '));
}

test('two generate runs on one --out: one writes the release, the other stops with one line; the release verifies', async (t) => {
  const out = join(work, 'raced');
  const results = await Promise.all([cli(...GENERATE, '--n', '6', '--out', out), cli(...GENERATE, '--n', '6', '--out', out)]);
  const [ok, refused] = results[0]!.code === 0 ? results : [results[1]!, results[0]!];
  t.is(ok!.code, 0, ok!.stderr);
  t.is(refused!.code, 2, refused!.stderr);
  t.is(failureLines(refused!).length, 1, refused!.stderr);
  // Whichever way the race went: the other run held the lock, or had already finished the release.
  t.regex(failureLines(refused!)[0]!, /is in use by another advood generate|already holds a finished release/);
  t.notRegex(refused!.stderr, /\n\s+at /);
  t.deepEqual((await verifyRelease(out)).problems, []);
});

/** A tiny tmpfs to fill up; only where this process may mount (root in a container or on a CI runner). */
const disk = join(work, 'disk');
let mountable = false;
try {
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24k', 'tmpfs', disk], { stdio: 'ignore' });
  mountable = true;
} catch {
  mountable = false;
}
test.after.always(() => {
  if (mountable) execFileSync('umount', [disk], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
});

(mountable ? test : test.skip)('a full disk mid-run: one line naming the file (exit 3); with room again the same command resumes and finishes', async (t) => {
  const out = join(disk, 'release');
  const full = await cli(...GENERATE, '--n', '12', '--out', out);
  t.is(full.code, 3, full.stderr);
  t.is(failureLines(full).length, 1, full.stderr);
  t.regex(failureLines(full)[0]!, /^advood: .*: no space left on the device \(\w+\); fix it and rerun the same command/);
  t.notRegex(full.stderr, /\n\s+at /);
  execFileSync('mount', ['-o', 'remount,size=4m', disk]);
  const resumed = await cli(...GENERATE, '--n', '12', '--out', out, '--json');
  t.is(resumed.code, 0, resumed.stderr);
  t.deepEqual((await verifyRelease(out)).problems, []);
  // The same bytes as a run that never met a full disk.
  const reference = join(work, 'reference');
  t.is((await cli(...GENERATE, '--n', '12', '--out', reference)).code, 0);
  t.deepEqual(await shardDigests(out), await shardDigests(reference));
});

async function shardDigests(dir: string): Promise<string[]> {
  const names = readdirSync(dir).filter((name) => name.startsWith('data-')).sort();
  return Promise.all(names.map(async (name) => `${name} ${(await digestFile(join(dir, name))).sha256}`));
}

test('generate over an OOD folder with a dangling symlink, a symlink loop and a link to /dev/zero: each is skipped and recorded, the run finishes', async (t) => {
  const ood = join(work, 'hazards');
  mkdirSync(ood);
  for (const name of readdirSync(join(demo, 'textures')).filter((f) => f.endsWith('.png')).sort().slice(0, 2)) copyFileSync(join(demo, 'textures', name), join(ood, name));
  symlinkSync(join(work, 'nowhere.png'), join(ood, 'x-dangling.png'));
  symlinkSync('y-loop.png', join(ood, 'y-loop.png'));
  symlinkSync('/dev/zero', join(ood, 'z-zero.png'));
  const out = join(work, 'hazard-release');
  const args = GENERATE.map((arg) => (arg === join(demo, 'textures') ? ood : arg));
  const result = await cli(...args, '--out', out);
  t.is(result.code, 0, result.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { counts: { rows: number }; errors: { item: string; reason: string }[] };
  t.is(manifest.counts.rows, 2);
  t.deepEqual(manifest.errors.map((e) => e.item), ['x-dangling.png', 'y-loop.png', 'z-zero.png'].map((name) => join(ood, name)));
  t.regex(manifest.errors[2]!.reason, /a device, not an image file; skipped without reading it/);
});
