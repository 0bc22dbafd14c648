import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { digestFile } from '../../src/core/digest.js';
import { JOURNAL_FILE, type ReleaseJournal } from '../../src/release/write/release-journal.js';
import type { ReleaseManifest } from '../../src/release/release-manifest.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { FIXTURE_PARAMS_HASH, generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const run = promisify(execFile);
const CHILD = join(import.meta.dirname, '..', 'fixtures', 'release-generate-child.ts');
// One item per batch, so item 3 (and every 7th after it) is a batch with an error and no row; ~6 rows per part.
const ARGS = { total: 30, batch: 1, shardBytes: 20000 };

interface ChildResult {
  killed: boolean;
  resumeFrom: number | null;
}

/** Runs the stand-in generator; `crashAt` makes it kill -9 itself at the n-th occurrence of a step. */
async function child(dir: string, crashAt?: { step: string; count: number }): Promise<ChildResult> {
  try {
    const { stdout } = await run(process.execPath, ['--import=tsx', CHILD, JSON.stringify({ dir, ...ARGS, crashAt })], { cwd: join(import.meta.dirname, '..', '..') });
    return { killed: false, resumeFrom: JSON.parse(stdout.split('\n')[0]!).resumeFrom };
  } catch (error) {
    const e = error as { signal?: string; stdout?: string; stderr?: string };
    if (e.signal !== 'SIGKILL') throw new Error(`child failed: ${e.stderr}`);
    const first = (e.stdout ?? '').split('\n')[0];
    return { killed: true, resumeFrom: first ? JSON.parse(first).resumeFrom : null };
  }
}

async function dataDigests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((f) => f.startsWith('data-')).sort()) out[name] = (await digestFile(join(dir, name))).sha256;
  return out;
}

function journalOf(dir: string): ReleaseJournal {
  return JSON.parse(readFileSync(join(dir, JOURNAL_FILE), 'utf8')) as ReleaseJournal;
}

const root = mkdtempSync(join(tmpdir(), 'advood-resume-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let reference: Promise<{ dir: string; manifest: ReleaseManifest; digests: Record<string, string> }> | undefined;
/** The same run, uninterrupted (made once, shared by the tests). */
function uninterrupted() {
  reference ??= (async () => {
    const dir = join(root, 'uninterrupted');
    const manifest = await generateFixtureRelease({ dir, ...ARGS });
    return { dir, manifest, digests: await dataDigests(dir) };
  })();
  return reference;
}

async function assertSameAsUninterrupted(t: ExecutionContext, dir: string): Promise<void> {
  const ref = await uninterrupted();
  t.deepEqual(await dataDigests(dir), ref.digests, 'byte-identical data shards');
  t.deepEqual(readdirSync(dir).sort(), readdirSync(ref.dir).sort(), 'no journal or temp file left');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
  t.deepEqual(manifest.errors, ref.manifest.errors, 'each failed item recorded once');
  t.deepEqual(manifest.counts, ref.manifest.counts);
  const ids: string[] = [];
  for await (const row of (await openRelease(dir)).rows()) ids.push(row.id);
  t.is(new Set(ids).size, ids.length);
  t.is(ids.length, 30 - 4, 'items 3, 10, 17 and 24 fail, no other is lost');
  t.true((await verifyRelease(dir)).ok);
}

test('kill -9 at every kind of step, then the same command: resumes at the last journaled batch, byte-identical shards', async (t) => {
  const ref = await uninterrupted();
  t.true(ref.manifest.shards.length >= 3, 'the run spans several shards');

  // One run killed again and again, each time at a different kind of moment, resumed by rerunning it.
  // Counts are per run; `next` is where the following run must resume (items 0–6 fill part 0, 7–13 part 1, …).
  const dir = join(root, 'interrupted');
  const kills: { step: string; count: number; next: number; damage?: 'torn-tail' | 'lost-prefix' }[] = [
    // Run from 0: the 3rd batch is on disk but not journaled; the rerun drops it and redoes only that batch.
    { step: 'batch-written', count: 3, next: 2 },
    // Run from 2: items 2 and 3 journaled (3 failed: an error pending in the open part); a torn batch follows.
    { step: 'batch-journaled', count: 2, next: 4, damage: 'torn-tail' },
    // Run from 4: part 0 full and renamed, its commit not journaled; the rerun renames it back and commits it.
    { step: 'part-renamed', count: 1, next: 7 },
    // Run from 7: that commit happens while the writer opens; killed right after it, before printing.
    { step: 'journal-written', count: 1, next: 7 },
    // Run from 7: items 7 and 8 journaled, then the disk loses journaled bytes: the part is redone from 7.
    { step: 'after-batch', count: 2, next: 7, damage: 'lost-prefix' },
    // Run from 7: items 7–10 journaled, mid-part.
    { step: 'batch-journaled', count: 4, next: 11 },
    { step: 'finalizing-started', count: 1, next: 30 }, // all parts committed, none renamed
    { step: 'shard-renamed', count: 2, next: 30 }, // two parts already have final names
    { step: 'metadata-written', count: 1, next: 30 }, // everything written but the journal not yet removed
  ];
  let expected = 0;
  for (const kill of kills) {
    const result = await child(dir, kill);
    t.true(result.killed, `killed at ${kill.step} #${kill.count}`);
    if (result.resumeFrom !== null) t.is(result.resumeFrom, expected, `the run before the kill at ${kill.step} #${kill.count} resumed at the last journaled batch`);
    expected = kill.next;

    const journal = journalOf(dir);
    const temp = join(dir, `.part-${String(journal.parts.length).padStart(5, '0')}.arrow.tmp`);
    if (kill.step === 'batch-written' || kill.step === 'batch-journaled' || kill.step === 'after-batch') {
      // A mid-part kill: the journal vouches for the batches in the open part, which the rerun keeps.
      t.truthy(journal.tail.open, `an open part is journaled at ${kill.step}`);
      t.true(journal.tail.itemsConsumed > (journal.parts.at(-1)?.itemsConsumed ?? 0), 'progress inside the open part is journaled');
    }
    if (kill.damage === 'torn-tail') {
      // A batch torn by the kill: bytes after the journaled length that do not make a whole message.
      appendFileSync(temp, Buffer.alloc(333, 0x5a));
    }
    if (kill.damage === 'lost-prefix') truncateSync(temp, journal.tail.open!.size - 100);
    if (!kill.damage) t.is(journal.tail.itemsConsumed, kill.next, 'the journal says where the rerun starts');
  }
  const finish = await child(dir);
  t.false(finish.killed);
  t.is(finish.resumeFrom, 30, 'after a kill in close, the rerun has nothing left to generate');
  await assertSameAsUninterrupted(t, dir);
});

test('a format-1 journal (part-granular) is migrated and resumed; an unknown format or a foreign open-part path is refused', async (t) => {
  // Rewrites the journal as format 1 wrote it: no checkpoint, and the run's end under `finalizing`.
  const toV1 = (dir: string) => {
    const { tail, finalizing, ...rest } = journalOf(dir);
    t.is(tail.open, null, 'format 1 had no open part to record');
    const v1 = { ...rest, format: 'advood-release-progress/1', finalizing: finalizing ? { itemsConsumed: tail.itemsConsumed, tailErrors: tail.errors } : null };
    writeFileSync(join(dir, JOURNAL_FILE), JSON.stringify(v1));
  };

  const open = join(root, 'v1-open');
  t.true((await child(open, { step: 'journal-written', count: 2 })).killed);
  toV1(open);
  const resumed = await child(open);
  t.is(resumed.resumeFrom, 14, 'resumes after the last committed part');
  await assertSameAsUninterrupted(t, open);

  const finalizing = join(root, 'v1-finalizing');
  t.true((await child(finalizing, { step: 'shard-renamed', count: 1 })).killed);
  toV1(finalizing);
  t.is((await child(finalizing)).resumeFrom, 30);
  await assertSameAsUninterrupted(t, finalizing);

  const future = join(root, 'future');
  t.true((await child(future, { step: 'batch-journaled', count: 2 })).killed);
  const journal = journalOf(future);
  writeFileSync(join(future, JOURNAL_FILE), JSON.stringify({ ...journal, tail: { ...journal.tail, open: { ...journal.tail.open, file: '../elsewhere.tmp' } } }));
  await t.throwsAsync(generateFixtureRelease({ dir: future, ...ARGS }), { message: /the open part is recorded as "\.\.\/elsewhere\.tmp", expected \.part-00000\.arrow\.tmp/ });
  writeFileSync(join(future, JOURNAL_FILE), JSON.stringify({ ...journal, format: 'advood-release-progress/3' }));
  await t.throwsAsync(generateFixtureRelease({ dir: future, ...ARGS }), { message: /progress journal format "advood-release-progress\/3" is not one this advood reads/ });
});

test('a resume with different parameters is refused, naming what changed', async (t) => {
  const dir = join(root, 'changed');
  const first = await child(dir, { step: 'journal-written', count: 1 });
  t.true(first.killed);
  await t.throwsAsync(generateFixtureRelease({ dir, ...ARGS, paramsHash: FIXTURE_PARAMS_HASH.replace('f1x', 'abc') }), {
    message: /interrupted run with a different configuration \(run hash f1x7.* → abc7/,
  });
  await t.throwsAsync(generateFixtureRelease({ dir, ...ARGS, shardBytes: 9000 }), { message: /shard size 20000 → 9000/ });
});

test('a committed part that changed on disk stops the resume; a finished release is not overwritten', async (t) => {
  const dir = join(root, 'tampered');
  t.true((await child(dir, { step: 'journal-written', count: 1 })).killed);
  const part = readdirSync(dir).find((f) => /^part-\d{5}\.arrow$/.test(f))!;
  const bytes = readFileSync(join(dir, part));
  bytes[100]! ^= 0xff;
  writeFileSync(join(dir, part), bytes);
  await t.throwsAsync(generateFixtureRelease({ dir, ...ARGS }), { message: new RegExp(`${part}: committed part was modified`) });

  const done = join(root, 'done');
  await generateFixtureRelease({ dir: done, ...ARGS });
  await t.throwsAsync(generateFixtureRelease({ dir: done, ...ARGS }), { message: /already holds a finished release/ });
});
