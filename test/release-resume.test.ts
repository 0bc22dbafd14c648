import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { digestFile } from '../src/release/file-digest.js';
import type { ReleaseManifest } from '../src/release/release-manifest.js';
import { openRelease } from '../src/release/release-reader.js';
import { verifyRelease } from '../src/release/release-verify.js';
import { FIXTURE_PARAMS_HASH, generateFixtureRelease } from './fixtures/release-fixture-rows.js';

const run = promisify(execFile);
const CHILD = join(import.meta.dirname, 'fixtures', 'release-generate-child.ts');
const ARGS = { total: 30, batch: 3, shardBytes: 12000 };

interface ChildResult {
  killed: boolean;
  resumeFrom: number | null;
}

/** Runs the stand-in generator; `crashAt` makes it kill -9 itself at the n-th occurrence of a step. */
async function child(dir: string, crashAt?: { step: string; count: number }): Promise<ChildResult> {
  try {
    const { stdout } = await run(process.execPath, ['--import=tsx', CHILD, JSON.stringify({ dir, ...ARGS, crashAt })], { cwd: join(import.meta.dirname, '..') });
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

const root = mkdtempSync(join(tmpdir(), 'advood-resume-'));

test('kill -9 at every kind of step, then the same command: byte-identical shards, no row lost or repeated', async (t) => {
  const reference = join(root, 'uninterrupted');
  const referenceManifest = await generateFixtureRelease({ dir: reference, ...ARGS });
  t.true(referenceManifest.shards.length >= 3, 'the run spans several shards');

  // One run killed again and again, each time at a different kind of moment, resumed by rerunning it.
  const dir = join(root, 'interrupted');
  const kills = [
    { step: 'batch-written', count: 2 }, // inside the first part, before it is committed
    { step: 'part-renamed', count: 1 }, // part renamed but not yet in the journal
    { step: 'journal-written', count: 1 }, // right after a commit
    { step: 'after-batch', count: 1 }, // between batches, the first batch of a new part written
    { step: 'finalizing-started', count: 1 }, // all parts committed, none renamed
    { step: 'shard-renamed', count: 2 }, // half the parts already have final names
    { step: 'metadata-written', count: 1 }, // everything written but the journal not yet removed
  ];
  let lastResume = -1;
  for (const crashAt of kills) {
    const result = await child(dir, crashAt);
    t.true(result.killed, `killed at ${crashAt.step}`);
    if (result.resumeFrom !== null) {
      t.true(result.resumeFrom >= lastResume, 'progress is never lost');
      lastResume = result.resumeFrom;
    }
    if (crashAt.step === 'after-batch') {
      // Simulate a torn write as well: the half-written part loses its tail.
      const temp = readdirSync(dir).find((f) => f.startsWith('.part-'));
      t.truthy(temp, 'an open part exists between batches');
      truncateSync(join(dir, temp!), 700);
    }
  }
  const finish = await child(dir);
  t.false(finish.killed);
  t.is(finish.resumeFrom, 30, 'after a kill in close, the rerun has nothing left to generate');

  t.deepEqual(await dataDigests(dir), await dataDigests(reference));
  t.deepEqual(readdirSync(dir).sort(), readdirSync(reference).sort(), 'no journal or temp file left');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReleaseManifest;
  t.deepEqual(manifest.errors, referenceManifest.errors, 'each failed item recorded once');
  t.deepEqual(manifest.counts, referenceManifest.counts);
  const ids: string[] = [];
  for await (const row of (await openRelease(dir)).rows()) ids.push(row.id);
  t.is(new Set(ids).size, ids.length);
  t.is(ids.length, 30 - 4, 'items 3, 10, 17 and 24 fail');
  t.true((await verifyRelease(dir)).ok);
});

test('a resume with different parameters is refused, naming what changed', async (t) => {
  const dir = join(root, 'changed');
  const first = await child(dir, { step: 'journal-written', count: 1 });
  t.true(first.killed);
  await t.throwsAsync(generateFixtureRelease({ dir, ...ARGS, paramsHash: FIXTURE_PARAMS_HASH.replace('f1x', 'abc') }), {
    message: /interrupted run with a different configuration \(params hash f1x7.* → abc7/,
  });
  await t.throwsAsync(generateFixtureRelease({ dir, ...ARGS, shardBytes: 9000 }), { message: /shard size 12000 → 9000/ });
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
