/**
 * advood on a real Slurm (test/helpers/slurm-cluster.ts: a single-node cluster on 127.0.0.1): the array job of
 * examples/slurm-generate-array.sh — the script itself, parametrised by its environment variables — on tiny
 * inputs, with one task requeued mid-run and one requeued after it finished, then examples/slurm-merge.sh with an
 * afterok dependency. Every task must end COMPLETED, the requeued ones having resumed (mid-part) and checked
 * their finished part, and the merged release must hold the unsharded run's rows byte for byte. Skips with one
 * line where Slurm cannot start.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseManifest } from '../../src/release/release-manifest.js';
import { JOURNAL_FILE, type ReleaseJournal } from '../../src/release/write/release-journal.js';
import { releaseRowBytes } from '../helpers/release-row-bytes.js';
import { advoodWithEnv, CLI_PATH } from '../helpers/run-cli.js';
import { type SlurmCluster, startSlurmCluster } from '../helpers/slurm-cluster.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'advood-slurm-'));
const started = await startSlurmCluster(join(work, 'slurm'));
const cluster: SlurmCluster | null = typeof started === 'string' ? null : started;
if (typeof started === 'string') console.log(`# Slurm array test skipped: ${started}`);
test.after.always(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

const ITEMS = 13;
const BATCH = 2;
const TASKS = 4;
/** 13 items are 7 batches of 2; 4 tasks get whole batches 1, 2, 2, 2 (shard-spec.ts): 2, 4, 4 and 3 items. */
const PART_ROWS = [2, 4, 4, 3];
/**
 * Every step runs (threshold 1 never stops early), so that a batch takes a moment (~1.7 s on wasm, measured at 0.6 s
 * for 12 steps) and the requeue lands between task 1's two batches.
 */
const STEPS = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives a value; on time-out, fails with the queue, `context()` and the daemons' logs. */
async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, context = () => '', everyMs = 100): Promise<T> {
  for (const start = Date.now(); Date.now() - start < timeoutMs; await sleep(everyMs)) {
    const value = await probe();
    if (value) return value;
  }
  const queue = (await cluster?.command('squeue', ['-a', '-o', '%i %T %r %E']).catch(String)) ?? '';
  throw new Error(`timed out waiting for ${what}\n${queue}\n${context()}\n${cluster?.logs() ?? ''}`);
}

function oodSource(): string {
  const dir = join(work, 'ood');
  mkdirSync(dir, { recursive: true });
  const clipart = join(repo, 'datasets', 'demo', 'openclipart');
  for (const name of readdirSync(clipart).filter((f) => f.endsWith('.png')).sort().slice(0, ITEMS)) copyFileSync(join(clipart, name), join(dir, name));
  return dir;
}

const journalOf = (dir: string) => (existsSync(join(dir, JOURNAL_FILE)) ? (JSON.parse(readFileSync(join(dir, JOURNAL_FILE), 'utf8')) as ReleaseJournal) : null);
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
const part = (outRoot: string, task: number) => join(outRoot, `part-${String(task).padStart(2, '0')}`);

(cluster ? test.serial : test.skip)(`the example array on Slurm, requeued mid-run and after a task finished, merges to the unsharded rows${cluster ? '' : ` (skipped: ${started as string})`}`, async (t) => {
  const slurm = cluster!;
  t.timeout(360_000);
  const began = Date.now();
  const ood = oodSource();
  const outRoot = join(work, 'releases');
  const logs = join(work, 'logs');
  mkdirSync(logs, { recursive: true });
  const generateFlags = ['--backend', TEST_BACKEND, '--id-n', '20', '--input-size', '32', '--steps', String(STEPS), '--threshold', '1', '--batch', String(BATCH)];
  const env = {
    ADVOOD_CACHE: join(work, 'cache'),
    ID_SOURCE: join(repo, 'datasets', 'demo', 'fashion-mnist-train'),
    OOD_SOURCE: ood,
    OUT_ROOT: outRoot,
    TARGET: 'mobilenet-v2',
    ATTACK: 'demo-lowfreq',
    SEED: '1',
    ADVOOD: `${process.execPath} ${CLI_PATH}`,
    ADVOOD_GENERATE_ARGS: generateFlags.join(' '),
    // One thread per task, as --cpus-per-task=1 grants: two native tasks each spreading over both CPUs took longer
    // (the whole test: 55 s against 43 s with one thread each, on a shared 2-CPU machine). The unsharded run
    // gets the same setting.
    TF_NUM_INTRAOP_THREADS: '1',
    TF_NUM_INTEROP_THREADS: '1',
  };

  // The unsharded run, as one job would make it (it also fills the weight and feature caches the tasks share).
  const whole = join(work, 'whole');
  const reference = await advoodWithEnv(env, 'generate', '--target', 'mobilenet-v2', '--id', env.ID_SOURCE, '--ood', ood, '--attack', 'demo-lowfreq', '--seed', '1', ...generateFlags, '--out', whole);
  t.is(reference.code, 0, reference.stderr);

  // The example's resources are for a real cluster: this node has 2 CPUs. Appended logs keep every run of a task.
  const submit = ['--parsable', `--chdir=${work}`, '--cpus-per-task=1', '--mem=100M', '--open-mode=append'];
  const array = (await slurm.command('sbatch', [...submit, `--array=0-${TASKS - 1}`, `--output=${logs}/task-%a.out`, join(repo, 'examples', 'slurm-generate-array.sh')], env)).trim().split(';')[0]!;
  const task = (i: number) => `${array}_${i}`;
  const log = (name: string) => (existsSync(join(logs, name)) ? readFileSync(join(logs, name), 'utf8') : '(no log)');
  const taskLogs = () => [...Array.from({ length: TASKS }, (_, i) => `task-${i}.out`), 'merge.out'].map((name) => `== ${name}\n${log(name)}`).join('\n');

  // Task 1 (two batches) is requeued once its first batch is journaled, before it finishes.
  const midRun = await until('task 1 to journal its first batch', () => {
    const journal = journalOf(part(outRoot, 1));
    return journal !== null && journal.tail.itemsConsumed > 0 && journal.tail.itemsConsumed < PART_ROWS[1]! && journal.tail.itemsConsumed;
  }, 180_000, taskLogs, 20);
  await slurm.requeue(task(1));

  // Task 0 is requeued once Slurm reports it finished.
  await until('task 0 to complete', async () => (await slurm.job(task(0))).JobState === 'COMPLETED', 180_000, taskLogs);
  await slurm.requeue(task(0));

  const merge = (await slurm.command('sbatch', [...submit, `--dependency=afterok:${array}`, `--output=${logs}/merge.out`, join(repo, 'examples', 'slurm-merge.sh')], env)).trim().split(';')[0]!;
  const mergeState = await until('the merge job to end', async () => {
    const state = (await slurm.job(merge)).JobState;
    return state && !['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING'].includes(state) && state;
  }, 180_000, taskLogs);
  const wall = (Date.now() - began) / 1000;
  t.is(mergeState, 'COMPLETED', `merge ${mergeState}:\n${taskLogs()}\n${slurm.logs()}`);

  for (let i = 0; i < TASKS; i++) {
    const job = await slurm.job(task(i));
    t.like(job, { JobState: 'COMPLETED', ExitCode: '0:0', Restarts: i <= 1 ? '1' : '0' }, `task ${i}:\n${log(`task-${i}.out`)}`);
    t.is(manifestOf(part(outRoot, i)).counts.rows, PART_ROWS[i], `task ${i}'s part`);
  }
  const resumedAt = log('task-1.out').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { resumed?: boolean; done?: number }).find((e) => e.resumed)?.done;
  t.true(resumedAt !== undefined && resumedAt >= midRun, `task 1 resumed at ${resumedAt}, after the ${midRun} items journaled before its requeue`);
  t.regex(log('task-0.out'), /already holds this run's finished release \(2 rows\), verified; nothing to do/);
  t.regex(log('merge.out'), /: OK \(/);

  const merged = join(outRoot, 'merged');
  const want = await releaseRowBytes(whole);
  const got = await releaseRowBytes(merged);
  t.is(got.length, ITEMS);
  t.deepEqual(want.flatMap((row, i) => (got[i] === row ? [] : [(JSON.parse(row) as { id: string }).id])), [], 'rows whose bytes differ from the unsharded run');
  t.deepEqual(manifestOf(merged).counts.rows, manifestOf(whole).counts.rows);
  t.deepEqual(manifestOf(merged).errors, manifestOf(whole).errors);
  t.log(`${TEST_BACKEND}: ${TASKS} parts (${PART_ROWS.join(' + ')} rows), 2 requeues (task 1 after ${midRun} items, task 0 after it finished), merged ${got.length} rows = the unsharded rows byte for byte, in ${wall.toFixed(1)} s`);
});
