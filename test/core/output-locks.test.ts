/**
 * One writer per output folder, for every command that writes (evaluate, features, release export, experiment):
 * a second run into an --out that a live run holds is refused with one line naming the folder and the holder's
 * pid; an --out that is (inside) a finished release is refused before anything is written, and the release still
 * verifies; a lock left inside a finished release (a run killed after sealing its manifest) is stale, and is
 * removed by the readers, `release verify` saying so, instead of failing every later read of the release.
 */
import test, { type ExecutionContext } from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { UserError } from '../../src/core/errors.js';
import { acquireOutputLock, LOCK_FILE, LOCK_LEASE_MS, type LockOwner, lockVerdict, schedulerTask } from '../../src/core/output-lock.js';
import { preprocessFor } from '../../src/data/preprocess.js';
import { generateRelease } from '../../src/pipeline/generate.js';
import { type EvaluateOptions, runEvaluation } from '../../src/pipeline/evaluate.js';
import { type ExperimentConfig, runExperiment } from '../../src/pipeline/experiment.js';
import { writeFeatures } from '../../src/pipeline/features.js';
import { exporterNamed } from '../../src/release/export/exporters.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { openImageSource } from '../../src/sources/open-source.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';

const root = mkdtempSync(join(tmpdir(), 'advood-output-locks-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 32;
const release = join(root, 'release');
let backend: BackendReport;
let encoder: ReturnType<typeof fakeEncoder>;
test.after.always(() => encoder?.dispose());

test.before(async () => {
  backend = await initTestBackend();
  encoder = fakeEncoder(SIZE);
  await writeImages(join(root, 'id', 'Sneaker'), 4, 1, 0.3);
  await writeImages(join(root, 'id', 'Bag'), 4, 2, 0.7);
  await writeImages(join(root, 'id-test', 'Sneaker'), 2, 4, 0.3);
  await writeImages(join(root, 'id-test', 'Bag'), 2, 5, 0.7);
  await writeImages(join(root, 'ood', 'clipart'), 3, 3, 0.5);
  await generateRelease({
    encoder,
    id: join(root, 'id'),
    ood: join(root, 'ood'),
    attack: 'paper-smooth',
    overrides: { steps: 2, batch: 3, 'target.strategy': 'prototype' },
    seed: 1,
    out: release,
    backend,
    command: 'advood generate (output-locks test)',
  });
});

let copies = 0;
/** A fresh copy of the finished release. */
function releaseCopy(): string {
  const dir = join(root, `release-copy-${copies++}`);
  cpSync(release, dir, { recursive: true });
  return dir;
}

let outs = 0;
const freshOut = (name: string) => join(root, `${name}-${outs++}`);

function evaluateOptions(out: string, extra: Partial<EvaluateOptions> = {}): EvaluateOptions {
  return {
    encoder,
    idTrain: join(root, 'id'),
    idTest: join(root, 'id-test'),
    ood: [`adv=${release}`],
    detectors: ['knn'],
    out,
    batch: 4,
    bootstrap: { resamples: 0, seed: 0 },
    gallery: 0,
    ...extra,
  };
}

function experimentConfig(): ExperimentConfig {
  const ref = (dir: string) => ({ source: join(root, dir), size: null });
  return {
    name: 'locks',
    origin: 'output-locks.test.ts',
    target: 'mobilenet-v2',
    variant: null,
    inputSize: SIZE,
    seed: 1,
    data: { idTrain: ref('id'), idTest: ref('id-test'), ood: [{ name: 'ood', ...ref('ood') }], attacked: 'ood' },
    skipped: [],
    attacks: [{ preset: 'paper-smooth', overrides: { steps: 1, batch: 3 } }],
    detectors: ['knn'],
    bootstrap: { resamples: 0, seed: 0 },
    adaptive: null,
  };
}

/** Every command that writes an output, as a library call; `lock` is what its --out names (a folder, or a file). */
const COMMANDS: { name: string; lock: 'folder' | 'file'; run: (out: string) => Promise<unknown> }[] = [
  { name: 'evaluate', lock: 'folder', run: (out) => runEvaluation(evaluateOptions(out)) },
  {
    name: 'features',
    lock: 'file',
    run: async (out) => writeFeatures(encoder, await openImageSource(join(root, 'ood')), out, { preprocess: preprocessFor(encoder), batchSize: 4, cache: false }),
  },
  { name: 'release export --to imagefolder', lock: 'folder', run: (out) => exporterNamed('imagefolder').run(release, out) },
  { name: 'release export --to parquet', lock: 'folder', run: (out) => exporterNamed('parquet').run(release, out) },
  { name: 'experiment', lock: 'folder', run: (out) => runExperiment({ config: experimentConfig(), out, backend, command: 'advood experiment (output-locks test)' }) },
];

/** Another process holding the lock of `path` through acquireOutputLock, alive until stopped. */
async function holdLock(kind: 'folder' | 'file', path: string): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'fixtures', 'hold-output-lock-child.ts'), kind, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const said = await Promise.race([once(child.stdout!, 'data').then(([chunk]) => String(chunk)), once(child, 'exit').then(() => 'nothing (it exited)')]);
  if (said !== 'held\n') throw new Error(`the lock holder said ${said}`);
  return {
    pid: child.pid!,
    stop: async () => {
      const exited = once(child, 'exit');
      child.stdin!.end();
      await exited;
    },
  };
}

/** The pid of a process that has exited: what a lock left by a killed run holds. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return child.pid!;
}

/** A refusal: one UserError line naming `path`. */
async function refusedNaming(t: ExecutionContext, run: Promise<unknown>, path: string, reason: RegExp): Promise<void> {
  const error = await t.throwsAsync(run, { instanceOf: UserError });
  t.notRegex(error!.message, /\n/);
  t.true(error!.message.includes(path), error!.message);
  t.regex(error!.message, reason);
}

for (const command of COMMANDS) {
  test(`${command.name}: a second writer into an --out a live run holds is refused with one line naming it and the pid; once the holder is gone it runs`, async (t) => {
    const out = command.lock === 'file' ? join(freshOut(command.name.replace(/\W+/g, '-')), 'features.arrow') : freshOut(command.name.replace(/\W+/g, '-'));
    const holder = await holdLock(command.lock, out);
    try {
      await refusedNaming(t, command.run(out), out, new RegExp(`is in use by another advood test-holder \\(pid ${holder.pid} on `));
      if (command.lock === 'folder') t.deepEqual(readdirSync(out), [LOCK_FILE], 'the refused run wrote nothing');
      else t.false(existsSync(out), 'the refused run wrote nothing');
    } finally {
      await holder.stop();
    }
    await command.run(out);
    t.true(existsSync(out));
    if (command.lock === 'folder') t.false(readdirSync(out).includes(LOCK_FILE), 'the run dropped its lock');
  });
}

test("a folder locked by this very process is refused (a pipeline's own sub-writer), while its sub-folders lock on their own", (t) => {
  const out = freshOut('nested');
  const lock = acquireOutputLock(out, 'advood experiment');
  try {
    const error = t.throws(() => acquireOutputLock(out, 'advood evaluate'), { instanceOf: UserError });
    t.regex(error!.message, new RegExp(`^${out} is in use by another advood experiment in this same process \\(pid ${process.pid}\\)`));
    acquireOutputLock(join(out, 'evaluation'), 'advood evaluate').release();
  } finally {
    lock.release();
  }
  t.false(existsSync(join(out, LOCK_FILE)));
});

for (const command of COMMANDS) {
  test(`${command.name}: an --out that is or lies inside a finished release is refused before anything is written; the release still verifies`, async (t) => {
    const target = releaseCopy();
    const before = readdirSync(target).sort();
    const outs = command.lock === 'file' ? [join(target, 'features.arrow')] : [target, join(target, 'sub')];
    for (const out of outs) await refusedNaming(t, command.run(out), out, /(is|is inside) the release .*; write elsewhere/);
    t.deepEqual(readdirSync(target).sort(), before);
    t.deepEqual((await verifyRelease(target)).problems, []);
  });
}

test('generate may write its own release, but not into a folder inside another release', async (t) => {
  const target = releaseCopy();
  const out = join(target, 'nested');
  const run = generateRelease({ encoder, id: join(root, 'id'), ood: join(root, 'ood'), attack: 'paper-smooth', seed: 1, out, backend, command: 'advood generate (nested)' });
  await refusedNaming(t, run, out, /is inside the release .*; write elsewhere/);
  t.false(existsSync(out));
  t.deepEqual((await verifyRelease(target)).problems, []);
});

test('advood evaluate --out <release> is one line (exit 2) before any weights load, and the release still verifies', async (t) => {
  const target = releaseCopy();
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const args = ['evaluate', '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', target, '--out', target];
    t.is(await main(args), 2);
  } finally {
    process.stderr.write = original;
    process.exitCode = undefined;
  }
  t.regex(written.join(''), /^advood: --out .* is the release .*; write elsewhere[^\n]*\n$/);
  t.deepEqual((await verifyRelease(target)).problems, []);
});

/** Leaves the lock of a run killed after it sealed the release's manifest. */
async function leaveStaleLock(dir: string): Promise<number> {
  const pid = await deadPid();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname() }) + '\n');
  return pid;
}

test('a finished release with a stale .advood.lock verifies: release verify removes it and says so; evaluate reads it', async (t) => {
  const dir = releaseCopy();
  const pid = await leaveStaleLock(dir);
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    t.is(await main(['release', 'verify', dir]), 0);
  } finally {
    process.stdout.write = original;
    process.exitCode = undefined;
  }
  t.regex(written.join(''), new RegExp(`note: removed a stale \\.advood\\.lock left by a run killed after it finished \\(pid ${pid}\\)\\n.*: OK \\(`));
  t.false(existsSync(join(dir, LOCK_FILE)));

  const other = releaseCopy();
  await leaveStaleLock(other);
  const { result } = await runEvaluation(evaluateOptions(freshOut('eval-stale'), { ood: [`adv=${other}`] }));
  t.true(result.sets.some((s) => s.name === 'adv'));
  t.false(existsSync(join(other, LOCK_FILE)));
});

test('a lock a live process holds inside a sealed release is ignored with a note, not removed and not a failure', async (t) => {
  const dir = releaseCopy();
  const holder = await holdLock('folder', dir);
  try {
    const report = await verifyRelease(dir);
    t.deepEqual(report.problems, []);
    t.deepEqual(report.notes, [`ignored ${LOCK_FILE} of pid ${holder.pid}, still running: the manifest is sealed, so that writer has finished`]);
    t.true(existsSync(join(dir, LOCK_FILE)));
  } finally {
    await holder.stop();
  }
});

test('evaluate --adaptive reuses its finished adaptive release even when a killed run left its lock there', async (t) => {
  const out = freshOut('adaptive');
  const stages: string[] = [];
  const evaluate = () =>
    runEvaluation(
      evaluateOptions(out, {
        ood: [`clipart=${join(root, 'ood')}`, `adv=${release}`],
        adaptive: { backend, size: { steps: 1 } },
        onProgress: (event) => event.kind === 'stage' && stages.push(event.message),
      }),
    );
  await evaluate();
  const [adaptive] = readdirSync(join(out, 'adaptive'));
  await leaveStaleLock(join(out, 'adaptive', adaptive!));
  stages.length = 0;
  const { result } = await evaluate();
  t.true(stages.some((s) => s.includes('reusing the finished release')), stages.join('\n'));
  t.true(result.sets.some((s) => s.name === 'adaptive-knn-1'));
  t.false(existsSync(join(out, 'adaptive', adaptive!, LOCK_FILE)));
});

/** A lock file as another advood wrote it, with its heartbeat (mtime) `ageMs` ago. */
function plantLock(dir: string, owner: Partial<LockOwner> & { pid: number; host: string }, ageMs: number): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  writeFileSync(path, JSON.stringify(owner) + '\n');
  const beat = new Date(Date.now() - ageMs);
  utimesSync(path, beat, beat);
}

const SLURM_TASK_2 = { SLURM_ARRAY_JOB_ID: '55', SLURM_ARRAY_TASK_ID: '2', SLURM_JOB_ID: '57' };

test('a lock from another host is taken over by a rerun of the same Slurm array task, not by another task', (t) => {
  const dir = freshOut('slurm-requeue');
  const owner = { pid: 4242, host: 'node-17', what: 'advood generate', task: schedulerTask(SLURM_TASK_2), leaseMs: LOCK_LEASE_MS };
  t.is(owner.task, 'slurm:55_2.batch.0');
  plantLock(dir, owner, 1000);
  const other = t.throws(() => acquireOutputLock(dir, 'advood generate', { env: { ...SLURM_TASK_2, SLURM_ARRAY_TASK_ID: '3' } }), { instanceOf: UserError });
  t.regex(other!.message, /is in use by another advood generate \(pid 4242 on node-17, heartbeat 1 s ago; taken over once its heartbeat is older than 10 min\); wait for it/);
  t.notRegex(other!.message, /\n/);
  // The requeued task (Slurm runs one instance of a job at a time) takes it, and its own lock names it.
  const lock = acquireOutputLock(dir, 'advood generate', { env: SLURM_TASK_2 });
  const taken = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;
  t.is(taken.pid, process.pid);
  t.is(taken.task, 'slurm:55_2.batch.0');
  lock.release();
  t.false(existsSync(join(dir, LOCK_FILE)));
});

test('a lock from another host is taken over once its heartbeat is older than its lease; a lock without a lease never', (t) => {
  const dir = freshOut('lease');
  plantLock(dir, { pid: 4242, host: 'node-17', leaseMs: LOCK_LEASE_MS }, LOCK_LEASE_MS - 60_000);
  t.throws(() => acquireOutputLock(dir, 'advood generate', { env: {} }), { message: /heartbeat 540 s ago/ });
  plantLock(dir, { pid: 4242, host: 'node-17', leaseMs: LOCK_LEASE_MS }, LOCK_LEASE_MS + 60_000);
  acquireOutputLock(dir, 'advood generate', { env: {} }).release();
  // Written by a version without a heartbeat: its age proves nothing.
  plantLock(dir, { pid: 4242, host: 'node-17' }, 24 * 3600_000);
  t.throws(() => acquireOutputLock(dir, 'advood generate', { env: {} }), { message: /pid 4242 on node-17, heartbeat 86400 s ago\)/ });
});

test('lockVerdict: a pid counts only in its own pid space; a Kubernetes retry of the same index takes over', (t) => {
  const me: LockOwner = { pid: 7, host: 'advood-generate-3', pidSpace: 'boot-a/pid:[2]', task: 'k8s:advood-generate-3#3', leaseMs: LOCK_LEASE_MS };
  const alive = () => true;
  const now = Date.now();
  // The evicted pod's process had the same pid 7 in its own pid namespace: neither "this process" nor alive.
  t.deepEqual(lockVerdict({ ...me, pidSpace: 'boot-a/pid:[1]' }, me, now, now, alive), { stale: true, why: '' });
  t.false(lockVerdict({ ...me, pidSpace: 'boot-a/pid:[1]', task: 'k8s:advood-generate-4#4' }, me, now, now, alive).stale);
  t.false(lockVerdict({ ...me, pid: 8 }, me, now, now, alive).stale, 'same pid space, live pid: held');
  t.true(lockVerdict({ ...me, pid: 8 }, me, now, now, () => false).stale, 'same pid space, dead pid: stale');
});

test('the heartbeat beats while the main thread is busy', async (t) => {
  const dir = freshOut('heartbeat');
  const lock = acquireOutputLock(dir, 'advood generate', { heartbeatMs: 20 });
  try {
    const path = join(dir, LOCK_FILE);
    const old = new Date(Date.now() - 3600_000);
    // The worker thread takes a moment to start (longer on a loaded machine): wait for its first beat.
    utimesSync(path, old, old);
    for (let waited = 0; statSync(path).mtimeMs === old.getTime() && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    utimesSync(path, old, old);
    const busyUntil = Date.now() + 1000;
    while (Date.now() < busyUntil); // a synchronous attack step holds the event loop like this
    t.true(Date.now() - statSync(path).mtimeMs < 1000, `mtime ${new Date(statSync(path).mtimeMs).toISOString()}`);
  } finally {
    lock.release();
  }
});
