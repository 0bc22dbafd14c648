/**
 * `pushReleaseToHub` against the mock Hub (test/helpers/mock-hub.ts): the first push, a re-push that uploads
 * nothing, and each way a push can fail (token, missing repo, existing repo, moved branch, missing release file,
 * rate limit, server error, a file changed under the push), each one line and never reported as done.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import { pushReleaseToHub, type HubPushOptions, type PushFileEvent } from '../../src/publish/hub-push.js';
import { resolveHubDataset } from '../../src/hub/hub-dataset.js';
import { readManifest } from '../../src/release/release-manifest.js';
import { exportParquet, parquetExportCard } from '../../src/release/export/parquet-export.js';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';
import { startMockHub, type MockHub } from '../helpers/mock-hub.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function setup(t: { teardown: (fn: () => void | Promise<void>) => void }, hubOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'advood-push-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const releaseDir = join(root, 'release');
  await generateFixtureRelease({ dir: releaseDir, total: 13, batch: 4, shardBytes: 12000 });
  const hub = await startMockHub(hubOptions);
  t.teardown(() => hub.close());
  const events: PushFileEvent[] = [];
  const options = (extra: Partial<HubPushOptions> = {}): HubPushOptions => ({
    releaseDir,
    repo: `${hub.user}/fixture`,
    token: hub.token,
    endpoint: hub.url,
    retry: { baseDelayMs: 1 },
    onFile: (e) => events.push(e),
    ...extra,
  });
  return { root, releaseDir, hub, events, options };
}

const pushError = async (t: { throwsAsync: (p: Promise<unknown>, e: object) => Promise<Error | undefined> }, promise: Promise<unknown>) =>
  (await t.throwsAsync(promise, { instanceOf: UserError }))!.message;

function assertNothingCommitted(t: { is: (a: unknown, b: unknown) => void; deepEqual: (a: unknown, b: unknown) => void }, hub: MockHub, repo: string, head: string | undefined) {
  t.is(hub.head(repo), head);
  t.deepEqual(hub.requests.filter((r) => /\/commit\//.test(r.url) && r.status === 200), []);
}

test('the first push creates the repo with data/, release/ and the card; a re-push uploads nothing', async (t) => {
  const { root, releaseDir, hub, events, options } = await setup(t, { multipartThresholdBytes: 8 * 1024, partBytes: 4 * 1024 });
  const result = await pushReleaseToHub(options({ filesPerCommit: 3 }));
  const repo = `${hub.user}/fixture`;
  t.is(result.url, `${hub.url}/datasets/${repo}`);
  t.is(hub.head(repo), result.commit);
  const { manifest } = readManifest(releaseDir);
  const expected = [
    '.gitattributes',
    'README.md',
    'data/train-00000-of-00002.parquet',
    'data/train-00001-of-00002.parquet',
    'release/manifest.json',
    ...manifest.files.map((f) => `release/${f.path}`),
  ].sort();
  t.deepEqual(hub.paths(repo), expected);
  // The release is byte-exact under release/, checked against the manifest's sha256.
  for (const f of manifest.files) t.is(sha256(hub.file(repo, `release/${f.path}`)!), f.sha256);
  t.deepEqual(hub.file(repo, 'release/manifest.json'), readFileSync(join(releaseDir, 'manifest.json')));
  // The card's configs point at the Parquet files; it came last, in the last of the commits of ≤ 3 files.
  t.regex(hub.file(repo, 'README.md')!.toString(), /configs:\n- config_name: default\n {2}data_files:\n {2}- split: train\n {4}path: "data\/train-\*"/);
  // …and tells readers to load it by this repository's name.
  t.true(hub.file(repo, 'README.md')!.toString().includes(`ds = load_dataset("${repo}", split="train")`));
  t.true(hub.file(repo, 'README.md')!.toString().includes(`--ood adv=hf://datasets/${repo}`));
  t.is(result.commits.length, Math.ceil(9 / 3));
  t.deepEqual(result.uploaded.at(-1), 'README.md');
  t.true(hub.requests.some((r) => /\/part\/\d+$/.test(r.url)), 'a shard larger than 8 KiB went up multipart');
  t.deepEqual(events.filter((e) => e.state === 'uploaded').map((e) => e.path).sort(), expected.filter((p) => p !== '.gitattributes'));

  // Downloaded back through hf://, the pushed release/ is the release byte for byte.
  const cacheRoot = join(root, 'hf-cache');
  const downloaded = await resolveHubDataset(`hf://datasets/${repo}/release`, { endpoint: hub.url, token: hub.token, cacheRoot });
  t.is(downloaded.commit, result.commit);
  for (const f of manifest.files) t.is(sha256(readFileSync(join(downloaded.localDir, f.path))), f.sha256);
  t.deepEqual(readFileSync(join(downloaded.localDir, 'manifest.json')), readFileSync(join(releaseDir, 'manifest.json')));
  // It verifies where it lies in the cache, its files links into the cache's blobs/; other links stay refused.
  t.deepEqual((await verifyRelease(downloaded.localDir, { linksInto: downloaded.blobsDir })).problems, []);
  t.regex((await verifyRelease(downloaded.localDir)).problems[0]!.problem, /is a symlink; a release holds regular files only/);
  t.regex((await verifyRelease(downloaded.localDir, { linksInto: join(root, 'release') })).problems[0]!.problem, /is a symlink/);

  const before = hub.requests.length;
  events.length = 0;
  const again = await pushReleaseToHub(options());
  t.is(again.commit, result.commit);
  t.deepEqual(again.uploaded, []);
  t.deepEqual(again.commits, []);
  t.deepEqual(hub.uploadRequests().filter((r) => hub.requests.indexOf(r) >= before), []);
  t.false(hub.requests.slice(before).some((r) => r.url.includes('/preupload/') || r.url.includes('lfs/objects/batch')));
  t.is(events.filter((e) => e.state === 'unchanged').length, expected.length - 1);
});

test('a re-push after the release changed uploads the changed files and deletes shards that are gone', async (t) => {
  const { root, hub, options } = await setup(t);
  const repo = `${hub.user}/fixture`;
  await pushReleaseToHub(options());
  // A stale shard from an earlier, larger push: data/ and release/ belong to the push, so it goes.
  hub.commitFiles(repo, { 'data/train-00002-of-00003.parquet': Buffer.from('PAR1 stale') });
  const smaller = join(root, 'smaller');
  await generateFixtureRelease({ dir: smaller, total: 13, batch: 4, shardBytes: 1 << 20 });
  const result = await pushReleaseToHub(options({ releaseDir: smaller, revision: 'v2' }));
  t.is(result.url, `${hub.url}/datasets/${repo}/tree/v2`);
  t.true(result.deleted.includes('data/train-00002-of-00003.parquet'));
  t.true(result.deleted.includes('data/train-00001-of-00002.parquet'));
  t.deepEqual(hub.paths(repo, 'v2').filter((p) => p.startsWith('data/')), ['data/train-00000-of-00001.parquet']);
  t.true(hub.paths(repo, 'main').includes('data/train-00001-of-00002.parquet'), 'main is untouched by a push to v2');
});

test('a bad token, a repo the token cannot see (409), a 404 and a moved branch (412) are one line; nothing is committed', async (t) => {
  const { hub, options } = await setup(t);
  const repo = `${hub.user}/fixture`;
  t.regex(await pushError(t, pushReleaseToHub(options({ token: 'hf_not_valid' }))), /^pushing to .*fixture@main on http:\/\/127\.0\.0\.1:\d+: the Hub refused the token \(HTTP 401: Invalid credentials in Authorization header\); check --token \/ HF_TOKEN$/);
  t.deepEqual(hub.paths(repo), []);

  hub.createRepo(repo, { private: true });
  const initial = hub.head(repo);
  hub.inject({ method: 'GET', path: /\/api\/datasets\/[^/]+\/fixture\/revision\/main/, status: 404, body: { error: 'Repository not found' } });
  t.regex(await pushError(t, pushReleaseToHub(options())), /the repository already exists but this token cannot see it \(HTTP 409: You already created this dataset repo\)$/);
  assertNothingCommitted(t, hub, repo, initial);

  hub.inject({ method: 'POST', path: /\/preupload\//, status: 404, body: { error: 'Repository not found' } });
  t.regex(await pushError(t, pushReleaseToHub(options())), /: not found \(HTTP 404: Repository not found\); check the repository name and revision$/);
  assertNothingCommitted(t, hub, repo, initial);

  let moved = '';
  hub.inject({ method: 'POST', path: /\/commit\//, before: () => (moved = hub.commitFiles(repo, { 'notes.txt': 'someone else' })) });
  t.regex(await pushError(t, pushReleaseToHub(options())), /'main' moved while pushing \(HTTP 412: someone else committed\); rerun to push on top of the new head$/);
  t.is(hub.head(repo), moved, 'only the other commit landed');
  t.false(hub.paths(repo).some((p) => p.startsWith('data/')));
});

test('a release with a missing file is refused before any request', async (t) => {
  const { releaseDir, hub, options } = await setup(t);
  unlinkSync(join(releaseDir, 'state.json'));
  t.regex(await pushError(t, pushReleaseToHub(options())), /does not verify \(state\.json: .*\); not pushing it$/);
  t.deepEqual(hub.requests, []);
});

test('429 twice then success is retried (honouring Retry-After); a lasting 5xx fails after the retries', async (t) => {
  const { hub, options } = await setup(t);
  const repo = `${hub.user}/fixture`;
  const logs: string[] = [];
  const limited = hub.inject({ method: 'POST', path: /\/commit\//, status: 429, times: 2, headers: { 'Retry-After': '0' } });
  const result = await pushReleaseToHub(options({ log: (m) => logs.push(m) }));
  t.is(limited.fired, 2);
  t.is(hub.head(repo), result.commit);
  t.is(logs.filter((m) => /HTTP 429; retry \d of 4 in 0\.0 s/.test(m)).length, 2);

  // The card gone from the Hub: the next push has something to upload.
  hub.commitFiles(repo, {}, { deletes: ['README.md'] });
  const head = hub.head(repo);
  const down = hub.inject({ method: 'POST', path: /\/preupload\//, status: 502, times: 100 });
  t.regex(await pushError(t, pushReleaseToHub(options())), /the Hub answered HTTP 502: mock fault 502 after retries; rerun later$/);
  t.is(down.fired, 5);
  t.is(hub.head(repo), head, 'nothing committed');
});

test('a file changed under the push fails before its commit exists', async (t) => {
  const { root, hub, options } = await setup(t);
  const repo = `${hub.user}/fixture`;
  const parquet = join(`${root}/release-parquet`, 'data', 'train-00000-of-00002.parquet');
  hub.inject({
    method: 'POST',
    path: /\/preupload\//,
    before: () => {
      const bytes = readFileSync(parquet);
      bytes[bytes.length - 20] ^= 0xff; // same size, other content: only a hash sees it
      writeFileSync(parquet, bytes);
    },
  });
  const message = await pushError(t, pushReleaseToHub(options()));
  t.regex(message, /release-parquet\/data\/train-00000-of-00002\.parquet changed while it was being pushed \(sha256 [0-9a-f]{64} when read, [0-9a-f]{64} now\); it was not committed/);
  t.true(hub.paths(repo).every((p) => p === '.gitattributes'));
  t.deepEqual(hub.requests.filter((r) => r.url.startsWith('/lfs-upload/')), []);
});

test("a foreign Parquet export in the release's folder (its files named as Q's, Q's card rendered for its sizes) is refused naming the first row that differs; nothing is sent", async (t) => {
  const { root, releaseDir, hub, options } = await setup(t);
  // Release P: the same ids and images as Q, another preset hash in every row; exported where Q's export goes.
  const other = join(root, 'other-release');
  await generateFixtureRelease({ dir: other, total: 13, batch: 4, shardBytes: 12000, paramsHash: 'cd'.repeat(32) });
  const exportDir = join(root, 'release-parquet');
  await exportParquet(other, exportDir);
  const { manifest } = readManifest(releaseDir);
  const dataFiles = readdirSync(join(exportDir, 'data')).map((name) => join(exportDir, 'data', name));
  writeFileSync(join(exportDir, 'README.md'), parquetExportCard(manifest, dataFiles.reduce((sum, path) => sum + statSync(path).size, 0)));
  t.regex(
    await pushError(t, pushReleaseToHub(options())),
    /release-parquet\/data\/train-00000-of-00002\.parquet row 0: '[^']+' has another params_hash than the release's row; not this release's export; delete it, or run `advood release export .* --to parquet --out .*release-parquet --overwrite`$/,
  );
  t.deepEqual(hub.requests, []);

  // Q's own export with one byte of one image changed (the size, so the card, kept): the image is what differs.
  rmSync(exportDir, { recursive: true });
  await exportParquet(releaseDir, exportDir);
  const second = join(exportDir, 'data', 'train-00001-of-00002.parquet');
  const image = (tableFromIPC(readParquet(readFileSync(second)).intoIPCStream()).getChild('image')!.get(0) as { bytes: Uint8Array }).bytes;
  const tampered = readFileSync(second);
  const middle = Buffer.from(image.subarray(image.length / 2, image.length / 2 + 16)); // inside its IDAT, unlike any other row's
  const at = tampered.indexOf(middle);
  t.true(at > 0 && tampered.indexOf(middle, at + 1) < 0, 'the slice is found once in the file');
  tampered[at + 8] ^= 0x01;
  writeFileSync(second, tampered);
  t.regex(await pushError(t, pushReleaseToHub(options())), /train-00001-of-00002\.parquet(: cannot be read as this release's Parquet export| row 0: '[^']+' has another image than the release's row)/);
  t.deepEqual(hub.requests, []);
});

test('a failure after some commits landed says how many did and that the repo is incomplete', async (t) => {
  const { hub, options } = await setup(t);
  const repo = `${hub.user}/fixture`;
  const second = hub.inject({
    method: 'POST',
    path: /\/commit\//,
    times: 2,
    before: () => {
      if (second.fired === 2) hub.commitFiles(repo, { 'notes.txt': 'someone else' });
    },
  });
  const message = await pushError(t, pushReleaseToHub(options({ filesPerCommit: 4 })));
  t.regex(message, /'main' moved while pushing \(HTTP 412: someone else committed\); rerun to push on top of the new head; 1 commit\(s\) of this push had landed \(last [0-9a-f]{40}\), so the repository is incomplete: rerun the push to finish$/);
  t.false(hub.paths(repo).includes('README.md'), 'the card, last, never landed');
  // Rerun: only what is missing goes up.
  const rerun = await pushReleaseToHub(options({ filesPerCommit: 4 }));
  t.is(rerun.uploaded.length, 9 - 4);
  t.true(hub.paths(repo).includes('README.md'));
});
