/**
 * The mock Hub answers @huggingface/hub the way huggingface.co does, so that the push and download tests built
 * on it test advood and not the mock: uploads (regular, basic LFS, multipart LFS), listings, revisions, errors.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { commit, createRepo, datasetInfo, downloadFile, listFiles, pathsInfo, whoAmI, type HubApiError } from '@huggingface/hub';
import { startMockHub } from '../helpers/mock-hub.js';

const repo = (name: string) => ({ type: 'dataset' as const, name });

test('uploads regular, basic-LFS and multipart-LFS files in one commit and serves them back', async (t) => {
  const hub = await startMockHub({ multipartThresholdBytes: 64 * 1024, partBytes: 16 * 1024, treePageSize: 2 });
  t.teardown(() => hub.close());
  const common = { hubUrl: hub.url, accessToken: hub.token, useXet: false } as const;
  t.is((await whoAmI({ hubUrl: hub.url, accessToken: hub.token })).name, hub.user);
  await createRepo({ ...common, repo: repo(`${hub.user}/a`) });
  const small = randomBytes(1000);
  const large = randomBytes(100 * 1024 + 7);
  const result = await commit({
    ...common,
    repo: repo(`${hub.user}/a`),
    title: 'first',
    operations: [
      { operation: 'addOrUpdate', path: 'README.md', content: new Blob(['# hello\n']) },
      { operation: 'addOrUpdate', path: 'data/small.parquet', content: new Blob([new Uint8Array(small)]) },
      { operation: 'addOrUpdate', path: 'data/large.parquet', content: new Blob([new Uint8Array(large)]) },
    ],
  });
  t.regex(result!.commit.oid, /^[0-9a-f]{40}$/);
  t.is(hub.head(`${hub.user}/a`), result!.commit.oid);
  t.true(hub.requests.some((r) => /\/part\/\d+$/.test(r.url)), 'the large file went multipart');
  t.deepEqual(hub.file(`${hub.user}/a`, 'data/large.parquet'), large);

  // The tree is paginated (page size 2) with a Link header; listFiles follows it.
  const listed = [];
  for await (const entry of listFiles({ ...common, repo: repo(`${hub.user}/a`), recursive: true })) listed.push(entry);
  t.deepEqual(listed.filter((e) => e.type === 'file').map((e) => e.path).sort(), ['.gitattributes', 'README.md', 'data/large.parquet', 'data/small.parquet']);
  t.is(listed.find((e) => e.path === 'data/small.parquet')!.lfs!.oid.length, 64);
  t.true(hub.requests.filter((r) => r.url.includes('/tree/')).length >= 3);

  const info = await pathsInfo({ ...common, repo: repo(`${hub.user}/a`), paths: ['README.md', 'missing'] });
  t.deepEqual(info.map((i) => i.path), ['README.md']);
  const sha = (await datasetInfo({ ...common, name: `${hub.user}/a`, additionalFields: ['sha'] })) as { sha?: string };
  t.is(sha.sha, result!.commit.oid);
  const blob = await downloadFile({ ...common, repo: repo(`${hub.user}/a`), path: 'data/small.parquet' });
  t.deepEqual(Buffer.from(await blob!.arrayBuffer()), small);
});

test('answers a bad token 401, a missing repo 404, an existing repo 409, a moved branch 412 and injected faults', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const common = { hubUrl: hub.url, accessToken: hub.token } as const;
  const status = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as HubApiError).statusCode;
  t.is(await status(whoAmI({ hubUrl: hub.url, accessToken: 'hf_wrong' })), 401);
  t.is(await status(datasetInfo({ ...common, name: `${hub.user}/none` })), 404);
  hub.createRepo(`${hub.user}/b`);
  t.is(await status(createRepo({ ...common, repo: repo(`${hub.user}/b`) })), 409);
  const parent = hub.head(`${hub.user}/b`)!;
  hub.commitFiles(`${hub.user}/b`, { 'other.txt': 'someone else' });
  const op = { operation: 'addOrUpdate' as const, path: 'x.txt', content: new Blob(['x']) };
  t.is(await status(commit({ ...common, repo: repo(`${hub.user}/b`), title: 't', parentCommit: parent, operations: [op] })), 412);
  const fault = hub.inject({ method: 'POST', path: /\/commit\//, status: 429, headers: { 'Retry-After': '0' }, times: 2 });
  t.is(await status(commit({ ...common, repo: repo(`${hub.user}/b`), title: 't', operations: [op] })), 429);
  t.is(fault.fired, 1);
  t.deepEqual(hub.paths(`${hub.user}/b`), ['.gitattributes', 'other.txt']);
});

test('resolve serves Range requests and announces the LFS sha256 on the redirect', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const bytes = randomBytes(5000);
  const commitSha = hub.createRepo('org/c', { files: { 'data/x.parquet': bytes, 'notes.txt': 'hello' } });
  const head = await fetch(`${hub.url}/datasets/org/c/resolve/main/data/x.parquet`, { method: 'HEAD', redirect: 'manual' });
  t.is(head.status, 302);
  t.is(head.headers.get('x-repo-commit'), commitSha);
  t.is(head.headers.get('x-linked-size'), '5000');
  const ranged = await fetch(`${hub.url}/datasets/org/c/resolve/${commitSha}/data/x.parquet`, { headers: { Range: 'bytes=4000-' } });
  t.is(ranged.status, 206);
  t.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(4000));
  const text = await fetch(`${hub.url}/datasets/org/c/resolve/main/notes.txt`);
  t.is(await text.text(), 'hello');
  t.regex(text.headers.get('etag')!, /^"[0-9a-f]{40}"$/);
});
