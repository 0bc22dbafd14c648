/**
 * hf://datasets/… against the mock Hub: pinned to a commit, downloaded into huggingface_hub's cache layout and
 * hash-checked, reused without the network, and a moved branch or a missing repo reported in one line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import { resolveHubDataset } from '../../src/hub/hub-dataset.js';
import { formatHubDatasetUri, parseHubDatasetUri } from '../../src/hub/hub-dataset-uri.js';
import { startMockHub } from '../helpers/mock-hub.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function tempCache(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'advood-hf-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('parses hf://datasets URIs with revisions, special refs and folders', (t) => {
  t.deepEqual(parseHubDatasetUri('hf://datasets/org/name'), { repo: 'org/name', revision: 'main', subdir: '' });
  t.deepEqual(parseHubDatasetUri('hf://datasets/org/name@v1.0/data/train/'), { repo: 'org/name', revision: 'v1.0', subdir: 'data/train' });
  t.deepEqual(parseHubDatasetUri('hf://datasets/org/name@refs/convert/parquet/default'), { repo: 'org/name', revision: 'refs/convert/parquet', subdir: 'default' });
  t.deepEqual(parseHubDatasetUri('hf://datasets/org/name@feature%2Fx'), { repo: 'org/name', revision: 'feature/x', subdir: '' });
  t.is(formatHubDatasetUri(parseHubDatasetUri('hf://datasets/org/name@feature%2Fx/sub')), 'hf://datasets/org/name@feature%2Fx/sub');
  for (const bad of ['hf://datasets/org', 'hf://models/org/name', 'hf://datasets/org/name@', 'hf://datasets/org/name/../x', 'hf://datasets/../name']) {
    const error = t.throws(() => parseHubDatasetUri(bad), { instanceOf: UserError });
    t.regex(error.message, /expected hf:\/\/datasets\/OWNER\/NAME/);
  }
});

test.serial('downloads a folder pinned to a commit, checks hashes, reuses it offline and when the Hub is gone', async (t) => {
  const hub = await startMockHub();
  const cacheRoot = tempCache(t);
  const parquet = randomBytes(3000);
  const commit = hub.createRepo('org/data', { files: { 'sub/train.parquet': parquet, 'sub/notes.txt': 'notes\n', 'other.txt': 'not wanted' } });
  const logs: string[] = [];
  const options = { endpoint: hub.url, cacheRoot, log: (m: string) => logs.push(m) };

  const first = await resolveHubDataset('hf://datasets/org/data/sub', options);
  t.is(first.commit, commit);
  t.false(first.offline);
  t.deepEqual(readdirSync(first.localDir).sort(), ['notes.txt', 'train.parquet']);
  t.deepEqual(readFileSync(join(first.localDir, 'train.parquet')), parquet);
  // huggingface_hub's layout: the snapshot links to a blob named by the content's sha256; refs/main holds the commit.
  const repoDir = join(cacheRoot, 'datasets--org--data');
  t.true(lstatSync(join(first.localDir, 'train.parquet')).isSymbolicLink());
  t.is(readlinkSync(join(first.localDir, 'train.parquet')), join('..', '..', '..', 'blobs', sha256(parquet)));
  t.is(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), commit);
  t.false(readdirSync(join(repoDir, 'snapshots', commit)).includes('other.txt'));

  // Again: the revision is asked for (has it moved?), nothing is listed or transferred.
  const before = hub.requests.length;
  const again = await resolveHubDataset('hf://datasets/org/data/sub', options);
  t.is(again.localDir, first.localDir);
  t.deepEqual(hub.requests.slice(before).map((r) => r.url.split('?')[0]), [`/api/datasets/org/data/revision/main`]);

  process.env.HF_HUB_OFFLINE = '1';
  try {
    const offline = await resolveHubDataset('hf://datasets/org/data/sub', options);
    t.true(offline.offline);
    t.is(offline.commit, commit);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }

  await hub.close();
  const gone = await resolveHubDataset('hf://datasets/org/data/sub', options);
  t.true(gone.offline);
  t.is(gone.localDir, first.localDir);
  t.true(logs.some((m) => /unreachable/.test(m)));
  // A folder never downloaded cannot be served from the cache.
  const error = await t.throwsAsync(resolveHubDataset('hf://datasets/org/data', options), { instanceOf: UserError });
  t.regex(error.message, /no complete copy of commit [0-9a-f]{40}.*unreachable/);
});

test('a moved branch is read at its new commit, refused when a run pinned the old one', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const cacheRoot = tempCache(t);
  const logs: string[] = [];
  const options = { endpoint: hub.url, cacheRoot, log: (m: string) => logs.push(m) };
  const old = hub.createRepo('org/moving', { files: { 'a.txt': 'one' } });
  await resolveHubDataset('hf://datasets/org/moving', options);
  const moved = hub.commitFiles('org/moving', { 'a.txt': 'two' });
  const error = await t.throwsAsync(resolveHubDataset('hf://datasets/org/moving', { ...options, expectedCommit: old }), { instanceOf: UserError });
  t.is(error.message, `hf://datasets/org/moving: 'main' now points at commit ${moved}, not the pinned ${old}; use hf://datasets/org/moving@${old} to read the pinned data`);
  const now = await resolveHubDataset('hf://datasets/org/moving', options);
  t.is(now.commit, moved);
  t.is(readFileSync(join(now.localDir, 'a.txt'), 'utf8'), 'two');
  t.true(logs.some((m) => m.includes(`moved from ${old} to ${moved}`)));
  const pinned = await resolveHubDataset(`hf://datasets/org/moving@${old}`, options);
  t.is(readFileSync(join(pinned.localDir, 'a.txt'), 'utf8'), 'one');
});

test('a missing repo, revision or folder, a bad token and a 5xx are one line each', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const cacheRoot = tempCache(t);
  hub.createRepo('org/there', { files: { 'a.txt': 'a' } });
  const options = { endpoint: hub.url, cacheRoot, retry: { baseDelayMs: 1 } };
  const message = async (uri: string, extra = {}) => (await t.throwsAsync(resolveHubDataset(uri, { ...options, ...extra }), { instanceOf: UserError })).message;
  t.regex(await message('hf://datasets/org/none'), /^reading org\/none@main on http:\/\/127\.0\.0\.1:\d+: not found \(HTTP 404: Repository not found\)/);
  t.regex(await message('hf://datasets/org/there@nobranch'), /not found \(HTTP 404: Invalid rev id: nobranch\)/);
  t.regex(await message('hf://datasets/org/there/nofolder'), /no repository, revision or folder 'nofolder'/);
  t.regex(await message('hf://datasets/org/there', { token: 'hf_wrong' }), /refused the token \(HTTP 401/);
  const fault = hub.inject({ path: /\/revision\//, status: 503, times: 5 });
  t.regex(await message('hf://datasets/org/there'), /HTTP 503.*after retries; rerun later/);
  t.is(fault.fired, 5, 'five tries in all');
  // With a complete copy in the cache, a failing Hub is answered from it, as huggingface_hub does.
  await resolveHubDataset('hf://datasets/org/there', options);
  hub.inject({ path: /\/revision\//, status: 503 });
  const logs: string[] = [];
  const cached = await resolveHubDataset('hf://datasets/org/there', { ...options, retry: { attempts: 1 }, log: (m) => logs.push(m) });
  t.true(cached.offline);
  t.true(logs.some((m) => /answered HTTP 503; using the cached commit/.test(m)));
  for (const m of [await message('hf://datasets/org/none')]) t.false(m.includes('\n'));
});
