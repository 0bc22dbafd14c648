/**
 * Model and dataset file downloads against the mock Hub, as huggingface_hub makes them: HF_TOKEN sent for gated
 * repos (and a missing one named in one line), 429/5xx answers retried with the listing's backoff, no HEAD for a
 * file whose hash and size the listing already gave, and the bytes reported as they arrive.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import type { DownloadProgress } from '../../src/hub/download-progress.js';
import { resolveHubDataset } from '../../src/hub/hub-dataset.js';
import { downloadSnapshot } from '../../src/hub/hub-download.js';
import { startMockHub } from '../helpers/mock-hub.js';

function tempCache(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'advood-hf-dl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `body` with HF_TOKEN set to `token` (or unset), restoring it afterwards. */
async function withToken<T>(token: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = process.env.HF_TOKEN;
  if (token === undefined) delete process.env.HF_TOKEN;
  else process.env.HF_TOKEN = token;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.HF_TOKEN;
    else process.env.HF_TOKEN = saved;
  }
}

const quickRetry = { baseDelayMs: 1, sleep: async () => {} };

test.serial('a gated model: without HF_TOKEN one line naming it, with HF_TOKEN the files arrive', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const weights = randomBytes(4000);
  hub.createRepo('org/gated-clip', { type: 'model', gated: true, files: { 'config.json': '{}', 'model.safetensors': weights } });
  const spec = { repo: 'org/gated-clip', revision: 'main', files: ['config.json', 'model.safetensors'] };

  const cacheRoot = tempCache(t);
  const refused = await withToken(undefined, () => t.throwsAsync(() => downloadSnapshot(spec, { endpoint: hub.url, cacheRoot }), { instanceOf: UserError }));
  t.regex(refused!.message, /^org\/gated-clip\/config\.json: the Hub asks for a token \(HTTP 401\): the repository is gated or private; set HF_TOKEN/);
  const wrong = await withToken('hf_not-the-one', () => t.throwsAsync(() => downloadSnapshot(spec, { endpoint: hub.url, cacheRoot }), { instanceOf: UserError }));
  t.regex(wrong!.message, /refused HF_TOKEN \(HTTP 401\)/);

  const snapshot = await withToken(hub.token, () => downloadSnapshot(spec, { endpoint: hub.url, cacheRoot }));
  t.deepEqual(readFileSync(join(snapshot, 'model.safetensors')), weights);
});

test.serial('429 and 5xx answers to HEAD and GET are retried with backoff, and a lasting 503 is one line', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const weights = randomBytes(3000);
  hub.createRepo('org/clip', { type: 'model', files: { 'model.safetensors': weights } });
  const spec = { repo: 'org/clip', revision: 'main', files: ['model.safetensors'] };
  const head = hub.inject({ method: 'HEAD', path: /\/resolve\//, status: 429, times: 1, headers: { 'retry-after': '0' } });
  const get = hub.inject({ method: 'GET', path: /\/resolve\//, status: 503, times: 2 });
  const logs: string[] = [];
  const snapshot = await downloadSnapshot(spec, { endpoint: hub.url, cacheRoot: tempCache(t), retry: quickRetry, log: (m) => logs.push(m) });
  t.deepEqual(readFileSync(join(snapshot, 'model.safetensors')), weights);
  t.is(head.fired, 1);
  t.is(get.fired, 2);
  t.is(logs.filter((m) => /HTTP (429|503); retry/.test(m)).length, 3, logs.join('\n'));

  hub.inject({ method: 'GET', path: /\/resolve\//, status: 503, times: 100 });
  const error = await t.throwsAsync(() => downloadSnapshot(spec, { endpoint: hub.url, cacheRoot: tempCache(t), retry: { ...quickRetry, attempts: 3 } }), { instanceOf: UserError });
  t.regex(error!.message, /^org\/clip\/model\.safetensors: GET answered HTTP 503 after retries; rerun to resume$/);
});

test.serial('a dataset is fetched with one GET per file and no HEAD, its bytes reported up to each file size', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const files = { 'data/test-00000-of-00002.parquet': randomBytes(70_000), 'data/test-00001-of-00002.parquet': randomBytes(5000), 'README.md': '# card\n' };
  hub.createRepo('org/ood', { files });
  const events: DownloadProgress[] = [];
  const resolved = await resolveHubDataset('hf://datasets/org/ood', { endpoint: hub.url, cacheRoot: tempCache(t), onProgress: (e) => events.push(e) });
  const resolves = hub.requests.filter((r) => r.url.includes('/resolve/'));
  t.deepEqual(resolves.filter((r) => r.method === 'HEAD'), [], 'the listing gave hash and size: no HEAD');
  t.is(resolves.filter((r) => r.method === 'GET').length, 4, 'one GET per file (.gitattributes included)');
  for (const [path, content] of Object.entries(files)) {
    t.is(readFileSync(join(resolved.localDir, path)).length, Buffer.from(content).length);
    const last = events.filter((e) => e.file === path).at(-1);
    t.deepEqual(last, { file: path, bytes: Buffer.from(content).length, totalBytes: Buffer.from(content).length });
  }
});
