/**
 * What a scheduler does to a task, done to the real `advood generate` (bin/advood.mjs): SIGTERM and SIGINT mid-run
 * end it cleanly (exit 143 / 130, one line, the journal keeps the batches before the one in flight, no lock left)
 * and the same command resumes to the uninterrupted bytes; a rerun of a finished run is a verified no-op success;
 * a different configuration is one line; a task resubmitted alone (a one-task Slurm array) is told its --shard.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LOCK_FILE } from '../../src/core/output-lock.js';
import { JOURNAL_FILE, type ReleaseJournal } from '../../src/release/write/release-journal.js';
import { releaseRowBytes } from '../helpers/release-row-bytes.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'advood-generate-requeue-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const ITEMS = 8;
const BATCH = 2;

const ood = join(work, 'ood');
mkdirSync(ood, { recursive: true });
const clipart = join(repo, 'datasets', 'demo', 'openclipart');
for (const name of readdirSync(clipart).filter((f) => f.endsWith('.png')).sort().slice(0, ITEMS)) copyFileSync(join(clipart, name), join(ood, name));

type Event = { event: string; done?: number; resumed?: boolean };
interface Run {
  code: number | null;
  events: Event[];
  stderr: string;
}

/** `advood generate … --out dir --json`; `signalWhen` may send the child a signal as progress lines arrive. */
function generate(out: string, options: { extra?: string[]; env?: NodeJS.ProcessEnv; signalWhen?: (events: readonly Event[]) => NodeJS.Signals | null } = {}): Promise<Run> {
  const args = [
    CLI_PATH, 'generate', '--backend', TEST_BACKEND,
    '--id', join(repo, 'datasets', 'demo', 'fashion-mnist-train'), '--id-n', '20', '--ood', ood,
    '--attack', 'demo-lowfreq', '--input-size', '32', '--steps', '3', '--threshold', '1', '--batch', String(BATCH), '--seed', '1',
    '--json', '--out', out, ...(options.extra ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ADVOOD_CACHE: join(work, 'cache'), ...options.env } });
  const events: Event[] = [];
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as Event);
    const signal = sent ? null : options.signalWhen?.(events);
    if (signal) sent = child.kill(signal);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, events, stderr }));
  });
}

const batchLines = (events: readonly Event[]) => events.filter((e) => e.event === 'progress' && !e.resumed);
const failureLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('advood: '));

let reference: string[];
const whole = join(work, 'whole');
test.before(async () => {
  const run = await generate(whole);
  if (run.code !== 0) throw new Error(run.stderr);
  reference = await releaseRowBytes(whole);
});

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} after the first batch: exit ${code}, one line, journal kept, lock released; the same command resumes to the same rows`, async (t) => {
    const out = join(work, signal);
    const stopped = await generate(out, { signalWhen: (events) => (batchLines(events).length === 1 ? signal : null) });
    t.is(stopped.code, code, stopped.stderr);
    t.deepEqual(failureLines(stopped.stderr), [`advood: generate interrupted by ${signal}; the batch in flight was dropped and every batch before it is kept: rerun the same command to resume`]);
    t.false(existsSync(join(out, LOCK_FILE)), 'the lock is released');
    const journal = JSON.parse(readFileSync(join(out, JOURNAL_FILE), 'utf8')) as ReleaseJournal;
    const written = batchLines(stopped.events).at(-1)!.done!;
    t.is(journal.tail.itemsConsumed, written, 'the journal holds exactly the batches reported written');
    t.true(written < ITEMS, 'it stopped before the end');

    const resumed = await generate(out);
    t.is(resumed.code, 0, resumed.stderr);
    t.is(resumed.events.find((e) => e.resumed)?.done, written);
    t.deepEqual(await releaseRowBytes(out), reference);
  });
}

test('rerunning a finished run succeeds without writing; another configuration is refused with one line', async (t) => {
  const before = Object.fromEntries(readdirSync(whole).map((f) => [f, statSync(join(whole, f)).mtimeMs]));
  const again = await generate(whole);
  t.is(again.code, 0, again.stderr);
  t.regex(JSON.stringify(again.events), /already holds this run's finished release \(8 rows\), verified; nothing to do/);
  t.like(again.events.at(-1), { event: 'summary', alreadyComplete: true, rows: 0 });
  t.deepEqual(Object.fromEntries(readdirSync(whole).map((f) => [f, statSync(join(whole, f)).mtimeMs])), before, 'nothing was rewritten');

  const other = await generate(whole, { extra: ['--lr', '0.02'] });
  t.is(other.code, 2);
  t.deepEqual(failureLines(other.stderr).length, 1, other.stderr);
  t.regex(failureLines(other.stderr)[0]!, /already holds a finished release of a different configuration \(run hash .* → .*\); choose another output directory$/);
});

test('a task resubmitted alone (a one-task Slurm array) is refused with the --shard that resumes its part, which then does', async (t) => {
  const out = join(work, 'part-1');
  const stopped = await generate(out, { extra: ['--shard', '1/2'], signalWhen: (events) => (batchLines(events).length === 1 ? 'SIGTERM' : null) });
  t.is(stopped.code, 143, stopped.stderr);
  // sbatch --array=1 …: task 1 is the only task of its array.
  const alone = { SLURM_JOB_ID: '91', SLURM_ARRAY_JOB_ID: '91', SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '1', SLURM_ARRAY_TASK_COUNT: '1' };
  const refused = await generate(out, { env: alone });
  t.is(refused.code, 2);
  t.deepEqual(failureLines(refused.stderr), [
    `advood: ${out} holds an interrupted run with a different configuration (source part {"index":1,"count":2} → null); this folder is part 1/2: rerun with --shard 1/2 to continue it`,
  ]);
  const resumed = await generate(out, { env: alone, extra: ['--shard', '1/2'] });
  t.is(resumed.code, 0, resumed.stderr);
  t.deepEqual(await releaseRowBytes(out), reference.slice(ITEMS / 2), 'part 1/2 is the second half of the whole run');
  // Requeued once more after it finished (its sealed manifest stores the part with sorted keys): a no-op success.
  const again = await generate(out, { env: alone, extra: ['--shard', '1/2'] });
  t.is(again.code, 0, again.stderr);
  t.like(again.events.at(-1), { event: 'summary', alreadyComplete: true });
});
