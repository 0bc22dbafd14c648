/**
 * End to end: the real `advood generate` (bin/advood.mjs) as a child process, killed with SIGKILL at several
 * moments and rerun with the same command until it finishes, must leave the same release as one uninterrupted
 * run — byte-identical data shards, the same row and error counts, every row once — and each rerun must resume
 * at the last journaled batch, inside the open part, rather than redo it.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { digestFile } from '../../src/core/digest.js';
import { JOURNAL_FILE, type ReleaseJournal } from '../../src/release/write/release-journal.js';
import type { ReleaseManifest } from '../../src/release/release-manifest.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const repo = join(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'advood.mjs');
const work = mkdtempSync(join(tmpdir(), 'advood-generate-resume-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const BATCH = 4;
const ITEMS = 20;
const BROKEN = 'animals--fish_e_broken.png';

/**
 * The OOD source: the first 19 openclipart images and, sorted among them (5th), a file that is no image, so a
 * skipped item sits inside the open part when it is killed. 20 items in 5 batches of 4, all in one part.
 */
function oodSource(): string {
  const dir = join(work, 'ood');
  mkdirSync(dir, { recursive: true });
  const clipart = join(repo, 'datasets', 'demo', 'openclipart');
  for (const name of readdirSync(clipart).filter((f) => f.endsWith('.png')).sort().slice(0, ITEMS - 1)) copyFileSync(join(clipart, name), join(dir, name));
  writeFileSync(join(dir, BROKEN), 'not a png at all');
  return dir;
}

type Event = { event: string; done?: number; resumed?: boolean } & Record<string, unknown>;

interface Run {
  killed: boolean;
  code: number | null;
  events: Event[];
  stderr: string;
}

/** Progress lines for batches this run wrote (a resumed run first reports where it resumed, marked `resumed`). */
const batchLines = (events: readonly Event[]) => events.filter((e) => e.event === 'progress' && !e.resumed);

/** Runs `advood generate … --out dir`; `killWhen` sees each JSON line as it arrives and may SIGKILL the child. */
function generate(ood: string, out: string, killWhen: (events: readonly Event[]) => boolean = () => false): Promise<Run> {
  const args = [
    cli, 'generate', '--backend', TEST_BACKEND,
    '--id', join(repo, 'datasets', 'demo', 'fashion-mnist-train'), '--id-n', '40',
    '--ood', ood, '--n', String(ITEMS),
    '--attack', 'demo-lowfreq', '--input-size', '32', '--steps', '3', '--batch', String(BATCH), '--seed', '1',
    '--json', '--out', out,
  ];
  const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ADVOOD_CACHE: join(work, 'cache') } });
  const events: Event[] = [];
  let stderr = '';
  let killed = false;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as Event);
    if (!killed && killWhen(events)) killed = child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ killed: signal === 'SIGKILL', code, events, stderr }));
  });
}

async function dataDigests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((f) => /^data-.*\.arrow$/.test(f)).sort()) out[name] = (await digestFile(join(dir, name))).sha256;
  return out;
}

async function rowIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const row of (await openRelease(dir)).rows()) ids.push(row.id);
  return ids;
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
const journalOf = (dir: string) => JSON.parse(readFileSync(join(dir, JOURNAL_FILE), 'utf8')) as ReleaseJournal;

test('advood generate killed with SIGKILL again and again resumes mid-part and ends byte-identical to an uninterrupted run', async (t) => {
  const ood = oodSource();
  // The uninterrupted run also fills the weight and ID-feature caches the interrupted runs share.
  const reference = join(work, 'uninterrupted');
  const whole = await generate(ood, reference);
  t.is(whole.code, 0, whole.stderr);
  t.is(batchLines(whole.events).length, ITEMS / BATCH);

  const dir = join(work, 'interrupted');
  const kills: { name: string; when: (events: readonly Event[]) => boolean }[] = [
    { name: 'at start, before the release is opened', when: (events) => events.length === 1 },
    { name: 'after the first batch', when: (events) => batchLines(events).length === 1 },
    { name: 'at the start of a resumed run', when: (events) => events.length === 1 },
    { name: 'after the second batch of a resumed run', when: (events) => batchLines(events).length === 2 },
  ];
  let journaled = 0;
  for (const kill of kills) {
    const run = await generate(ood, dir, kill.when);
    t.true(run.killed, `killed ${kill.name} (${run.stderr})`);
    const resumed = run.events.find((e) => e.event === 'progress' && e.resumed);
    const written = batchLines(run.events);
    if (resumed) t.is(resumed.done, journaled, `the run killed ${kill.name} resumed at the last journaled batch`);
    if (written.length > 0) t.is(written[0]!.done, journaled + BATCH, 'and did not redo a journaled batch');
    if (existsSync(join(dir, JOURNAL_FILE))) {
      const journal = journalOf(dir);
      t.true(journal.tail.itemsConsumed >= journaled + BATCH * written.length, 'every reported batch is journaled');
      journaled = journal.tail.itemsConsumed;
    }
  }
  const journal = journalOf(dir);
  t.is(journal.parts.length, 0, 'nothing committed yet: all progress sits in the open part');
  t.truthy(journal.tail.open);
  t.true(journaled >= 3 * BATCH, 'three batches journaled by the killed runs');
  t.deepEqual(journal.tail.errors.map((e) => e.item.endsWith(BROKEN)), [true], 'the skipped item is journaled with the open part');

  const finish = await generate(ood, dir);
  t.is(finish.code, 0, finish.stderr);
  t.is(finish.events.find((e) => e.event === 'progress' && e.resumed)?.done, journaled, 'the last run resumed mid-part');
  t.is(batchLines(finish.events).length, (ITEMS - journaled) / BATCH, 'and wrote only the batches left');

  const digests = await dataDigests(dir);
  t.true(Object.keys(digests).length > 0);
  t.deepEqual(digests, await dataDigests(reference), 'byte-identical data shards');
  t.deepEqual(readdirSync(dir).sort(), readdirSync(reference).sort(), 'no journal or temp file left');
  const [got, want] = [manifestOf(dir), manifestOf(reference)];
  t.deepEqual(got.counts, want.counts);
  t.deepEqual(got.counts, { rows: ITEMS - 1, errors: 1, itemsConsumed: ITEMS, shards: 1 });
  t.deepEqual(got.errors, want.errors);
  const ids = await rowIds(dir);
  t.is(new Set(ids).size, ids.length, 'no row id repeated');
  t.deepEqual(ids, await rowIds(reference), 'no row missing, in the same order');
});
