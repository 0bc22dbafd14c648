import test from 'ava';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { downloadSnapshot, findCachedSnapshot, resolveHubFiles } from '../../src/hub/hub-download.js';
import { clipFamily } from '../../src/models/clip/clip-family.js';
import { tinyArchitecture, writeTinyClip } from '../helpers/tiny-clip.js';
import { initTestBackend } from '../helpers/test-backend.js';

const COMMIT = 'c'.repeat(40);
const work = mkdtempSync(join(tmpdir(), 'advood-hub-'));
const repoFiles = join(work, 'remote');
writeTinyClip(repoFiles, 'open_clip', 'gelu');
const FILES = ['open_clip_config.json', 'open_clip_model.safetensors', 'merges.txt'];

interface ServerState {
  requests: Array<{ method: string; path: string; range?: string }>;
  /** Cut the connection after this many body bytes, once. */
  dropAfter: number | null;
  /** Announce a wrong sha256 for the weights. */
  lie: boolean;
}

function gitBlobSha1(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A minimal Hub: HEAD gives X-Repo-Commit + ETag (X-Linked-Etag for the LFS weights), GET honours Range. */
async function startHub(state: ServerState): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((req, res) => {
    const match = /^\/org\/tiny-clip\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    state.requests.push({ method: req.method!, path: req.url!, range: req.headers.range });
    if (!match || !FILES.includes(match[1])) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(join(repoFiles, match[1]));
    const lfs = match[1].endsWith('.safetensors');
    const sha = lfs ? createHash('sha256').update(body).digest('hex') : gitBlobSha1(body);
    const headers: Record<string, string> = { 'X-Repo-Commit': COMMIT };
    if (lfs) {
      headers['X-Linked-Etag'] = `"${state.lie ? 'f'.repeat(64) : sha}"`;
      headers['X-Linked-Size'] = String(body.length);
    } else headers.ETag = `"${sha}"`;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': String(body.length) }).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': String(slice.length) });
    if (lfs && state.dropAfter !== null) {
      const cut = state.dropAfter;
      state.dropAfter = null;
      res.write(slice.subarray(0, cut), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test.after.always(() => rmSync(work, { recursive: true, force: true }));

const spec = { repo: 'org/tiny-clip', revision: 'main', files: FILES };

test.serial('download: interrupted transfer resumes with Range, lands in the huggingface_hub cache layout', async (t) => {
  const state: ServerState = { requests: [], dropAfter: 5000, lie: false };
  const { server, endpoint } = await startHub(state);
  const cacheRoot = join(work, 'cache-resume');
  try {
    const logs: string[] = [];
    const snapshot = await downloadSnapshot(spec, { endpoint, cacheRoot, log: (m) => logs.push(m) });
    const repo = join(cacheRoot, 'models--org--tiny-clip');
    t.is(snapshot, join(repo, 'snapshots', COMMIT));
    t.is(readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
    const weights = readFileSync(join(repoFiles, 'open_clip_model.safetensors'));
    const sha = createHash('sha256').update(weights).digest('hex');
    const link = join(snapshot, 'open_clip_model.safetensors');
    t.true(lstatSync(link).isSymbolicLink());
    t.is(readlinkSync(link), join('..', '..', 'blobs', sha));
    t.deepEqual(readFileSync(link), weights);
    t.false(readdirSync(join(repo, 'blobs')).some((f) => f.endsWith('.incomplete')));
    const resumed = state.requests.find((r) => r.method === 'GET' && r.range === 'bytes=5000-');
    t.truthy(resumed, 'second GET asked for the rest with Range');
    t.true(logs.some((l) => /resuming at byte 5000/.test(l)));
    // Cached now: found without the network, and resolveHubFiles makes no request.
    t.is(findCachedSnapshot(spec, cacheRoot), snapshot);
    const count = state.requests.length;
    t.is(await resolveHubFiles(spec, { endpoint, cacheRoot }), snapshot);
    t.is(state.requests.length, count);
  } finally {
    server.close();
  }
});

test.serial('download: a sha256 mismatch is refused and leaves no blob behind', async (t) => {
  const state: ServerState = { requests: [], dropAfter: null, lie: true };
  const { server, endpoint } = await startHub(state);
  const cacheRoot = join(work, 'cache-lie');
  try {
    const error = await t.throwsAsync(downloadSnapshot(spec, { endpoint, cacheRoot }), { instanceOf: UserError });
    t.regex(error!.message, /org\/tiny-clip\/open_clip_model\.safetensors: downloaded bytes have sha256 [0-9a-f]{64}, but the hub announced f{64}/);
    const blobs = join(cacheRoot, 'models--org--tiny-clip', 'blobs');
    t.false(readdirSync(blobs).some((f) => f.startsWith('f'.repeat(64))));
    t.is(findCachedSnapshot(spec, cacheRoot), null);
  } finally {
    server.close();
  }
});

test.serial('a target naming a hub repo loads through HF_HOME and HF_ENDPOINT; missing files are a UserError', async (t) => {
  const backend = await initTestBackend();
  const state: ServerState = { requests: [], dropAfter: null, lie: false };
  const { server, endpoint } = await startHub(state);
  const saved = { home: process.env.HF_HOME, endpoint: process.env.HF_ENDPOINT, cache: process.env.HF_HUB_CACHE };
  process.env.HF_HOME = join(work, 'hf-home');
  process.env.HF_ENDPOINT = endpoint;
  delete process.env.HF_HUB_CACHE;
  try {
    const { mean, std, ...architecture } = tinyArchitecture('gelu');
    const config = { name: 'tiny', family: 'clip', description: '', origin: 'test', hub: spec, layout: 'open_clip', architecture, mean, std };
    const encoder = await clipFamily.load(clipFamily.validate(config), { backend });
    t.is(encoder.embedDim, 64);
    encoder.dispose();
    t.true(existsSync(join(work, 'hf-home', 'hub', 'models--org--tiny-clip', 'snapshots', COMMIT, 'merges.txt')));
    const missing = { ...config, hub: { ...spec, files: ['nope.safetensors'] } };
    await t.throwsAsync(clipFamily.load(clipFamily.validate(missing), { backend }), { instanceOf: UserError, message: /org\/tiny-clip\/nope\.safetensors: not found at revision 'main'/ });
  } finally {
    server.close();
    for (const [key, value] of [['HF_HOME', saved.home], ['HF_ENDPOINT', saved.endpoint], ['HF_HUB_CACHE', saved.cache]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});
