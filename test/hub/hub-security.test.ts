/**
 * A Hub that misbehaves (test/helpers/evil-hub.ts in front of the mock Hub) can neither write nor read outside the
 * Hugging Face cache, poison it, grow a download without bound, page for ever nor make advood wait for ever:
 * each attack ends in one line naming the repository, file or URL, and nothing outside the cache root changes.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/core/errors.js';
import { downloadSnapshot } from '../../src/hub/hub-download.js';
import { resolveHubDataset } from '../../src/hub/hub-dataset.js';
import { timedFetch } from '../../src/hub/hub-timeouts.js';
import { startEvilHub, type Tamper } from '../helpers/evil-hub.js';
import { startMockHub } from '../helpers/mock-hub.js';
import { advoodWithEnv } from '../helpers/run-cli.js';

// Short limits, so that a silent Hub costs this file seconds (src/hub/hub-timeouts.ts reads them per request).
process.env.HF_HUB_ETAG_TIMEOUT = '1';
process.env.HF_HUB_DOWNLOAD_TIMEOUT = '1';

/** A temp folder holding the cache root and, beside it, a canary file the attacks aim at. */
function arena(t: { teardown: (fn: () => void) => void }) {
  const top = mkdtempSync(join(tmpdir(), 'advood-evil-'));
  t.teardown(() => rmSync(top, { recursive: true, force: true }));
  const cacheRoot = join(top, 'deep', 'hub');
  mkdirSync(cacheRoot, { recursive: true });
  const canary = join(top, 'secret.txt');
  writeFileSync(canary, 'SECRET-CONTENT-42\n');
  /** Everything in `top` outside the cache root, to compare before and after an attack. */
  const outside = () => readdirSync(top, { recursive: true }).map(String).filter((p) => !p.startsWith(join('deep', 'hub'))).sort();
  return { top, cacheRoot, canary, outside };
}

async function hubWith(t: { teardown: (fn: () => void | Promise<void>) => void }, tamper: Tamper) {
  const hub = await startMockHub();
  const commit = hub.createRepo('org/data', { files: { 'sub/notes.txt': 'n'.repeat(6000), 'sub/more.txt': 'more\n' } });
  const evil = await startEvilHub(hub.url, tamper);
  t.teardown(async () => {
    await evil.close();
    await hub.close();
  });
  return { hub, evil, commit };
}

const isResolve = (url = '') => url.includes('/resolve/');
const isTree = (url = '') => url.includes('/tree/');

test('an X-Repo-Commit of ../../home is refused; nothing outside the cache is written or linked', async (t) => {
  const { cacheRoot, canary, outside } = arena(t);
  const { evil } = await hubWith(t, (req, answer) => (isResolve(req.url) ? { ...answer, headers: { ...answer.headers, 'x-repo-commit': '../../..' } } : answer));
  const before = outside();
  for (const run of [
    () => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }),
    () => downloadSnapshot({ repo: 'org/data', type: 'dataset', revision: 'main', files: ['sub/notes.txt'] }, { endpoint: evil.url, cacheRoot }),
  ]) {
    const error = await t.throwsAsync(run, { instanceOf: UserError });
    t.regex(error!.message, /X-Repo-Commit .*"\.\.\/\.\.\/\.\." is not a 40-hex commit id/);
  }
  t.deepEqual(outside(), before);
  t.is(readFileSync(canary, 'utf8'), 'SECRET-CONTENT-42\n');
});

test('a revision holding .. is refused online and offline, and no file outside is read or shown', async (t) => {
  const { cacheRoot } = arena(t);
  const { evil } = await hubWith(t, (_req, answer) => answer);
  for (const offline of [false, true]) {
    if (offline) process.env.HF_HUB_OFFLINE = '1';
    try {
      const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data@..%2F..%2F..%2F..%2Fsecret.txt', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
      t.regex(error!.message, /revision "\.\.\/\.\.\/\.\.\/\.\.\/secret\.txt" holds '\.\.'/);
      t.notRegex(error!.message, /SECRET-CONTENT/);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
  }
  await t.throwsAsync(() => downloadSnapshot({ repo: 'org/data', revision: 'a/../../x', files: ['x'] }, { endpoint: evil.url, cacheRoot }), { instanceOf: UserError, message: /holds '\.\.'/ });
});

for (const [label, path] of [
  ['a NUL byte', 'sub/no\u0000tes.txt'],
  ['..', 'sub/../../../secret.txt'],
  ['an absolute path', '/etc/passwd'],
  ['a backslash', 'sub\\..\\x'],
] as const) {
  test(`a listing entry with ${label} is one line naming the entry, nothing written`, async (t) => {
    const { cacheRoot, outside } = arena(t);
    const { evil } = await hubWith(t, (req, answer) => {
      if (!isTree(req.url)) return answer;
      const entries = JSON.parse(answer.body.toString()) as { path: string }[];
      entries[0]!.path = path;
      return { ...answer, body: Buffer.from(JSON.stringify(entries)), headers: { ...answer.headers, 'content-length': String(Buffer.byteLength(JSON.stringify(entries))) } };
    });
    const before = outside();
    const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
    t.regex(error!.message, /^hf:\/\/datasets\/org\/data\/sub: the Hub's listing of commit [0-9a-f]{40}: listed file: path /);
    t.false(error!.message.includes('\n'));
    t.deepEqual(outside(), before);
  });
}

test('through the CLI, a crafted listing is exit 2 and one line, not an internal error', async (t) => {
  const { cacheRoot } = arena(t);
  const { evil } = await hubWith(t, (req, answer) => {
    if (!isTree(req.url)) return answer;
    const entries = JSON.parse(answer.body.toString()) as { path: string }[];
    entries[0]!.path = 'sub/a\u0000b';
    const body = Buffer.from(JSON.stringify(entries));
    return { ...answer, body, headers: { ...answer.headers, 'content-length': String(body.length) } };
  });
  const result = await advoodWithEnv({ ...process.env, HF_ENDPOINT: evil.url, HF_HUB_CACHE: cacheRoot }, 'features', '--target', 'mobilenet-v2', '--data', 'hf://datasets/org/data/sub', '--out', join(cacheRoot, '..', 'f.arrow'));
  t.is(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('advood:'));
  t.is(lines.length, 1, result.stderr);
  t.regex(lines[0]!, /NUL or control character/);
});

test('a file served with other bytes than the listing names is never linked; its bytes are deleted', async (t) => {
  const { cacheRoot } = arena(t);
  // The listing and the download disagree: the listing's oid is replaced by a well-formed other hash.
  const { evil } = await hubWith(t, (req, answer) => {
    if (!isTree(req.url)) return answer;
    const entries = JSON.parse(answer.body.toString()) as { path: string; oid: string }[];
    for (const entry of entries) if (entry.path.endsWith('notes.txt')) entry.oid = 'f'.repeat(40);
    const body = Buffer.from(JSON.stringify(entries));
    return { ...answer, body, headers: { ...answer.headers, 'content-length': String(body.length) } };
  });
  const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
  // The listing gave hash and size, so no HEAD was asked: the bytes themselves are held to the listing.
  t.regex(error!.message, /sub\/notes\.txt: downloaded bytes have git sha1 [0-9a-f]{40}, but the listing of commit [0-9a-f]{40} gives f{40}; the bytes were deleted/);
  const repoDir = join(cacheRoot, 'datasets--org--data');
  const snapshots = join(repoDir, 'snapshots');
  const linked = existsSync(snapshots) ? readdirSync(snapshots, { recursive: true }).map(String) : [];
  t.false(linked.some((p) => p.endsWith('notes.txt')), linked.join(', '));
});

test('bytes that do not match the announced hash are deleted and nothing is linked', async (t) => {
  const { cacheRoot } = arena(t);
  const { evil } = await hubWith(t, (req, answer) => (isResolve(req.url) && req.method === 'GET' && req.url!.endsWith('notes.txt') ? { ...answer, body: Buffer.from('x'.repeat(6000)) } : answer));
  const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
  t.regex(error!.message, /sub\/notes\.txt: downloaded bytes have git sha1 [0-9a-f]{40}, but the listing of commit [0-9a-f]{40} gives [0-9a-f]{40}; the bytes were deleted/);
  const all = readdirSync(join(cacheRoot, 'datasets--org--data'), { recursive: true }).map(String);
  t.false(all.some((p) => p.endsWith('notes.txt') || p.endsWith('.incomplete')), all.join(', '));
});

test('a body longer than announced is cut at the announced size and leaves no .incomplete file', async (t) => {
  const { cacheRoot } = arena(t);
  const { evil } = await hubWith(t, (req, answer, res) => {
    if (!(isResolve(req.url) && req.method === 'GET' && req.url!.endsWith('notes.txt'))) return answer;
    const { 'content-length': _dropped, ...headers } = answer.headers;
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(1 << 20, 120);
    let sent = 0;
    const pump = () => {
      while (sent < 200 && res.write(chunk)) sent++;
      if (sent < 200) res.once('drain', pump);
      else res.end();
    };
    res.on('close', () => (sent = 200));
    pump();
    return 'handled';
  });
  const start = Date.now();
  const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
  t.regex(error!.message, /sub\/notes\.txt: the server sent more than the 6000 bytes it announced; the download was stopped and deleted/);
  t.true(Date.now() - start < 10_000);
  const all = readdirSync(join(cacheRoot, 'datasets--org--data'), { recursive: true }).map(String);
  t.false(all.some((p) => p.endsWith('.incomplete') || p.endsWith('notes.txt')), all.join(', '));
});

test('a listing whose Link points back at a page already sent is refused', async (t) => {
  const { cacheRoot } = arena(t);
  const holder: { url?: string } = {};
  const { evil } = await hubWith(t, (req, answer) => (isTree(req.url) ? { ...answer, headers: { ...answer.headers, link: `<${holder.url}${req.url}>; rel="next"` } } : answer));
  holder.url = evil.url;
  const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot }), { instanceOf: UserError });
  t.regex(error!.message, /links back to a page it already sent; refusing an endless pagination/);
});

test('an endless pagination stops at the page limit', async (t) => {
  let served = 0;
  const fetchPage = timedFetch(async () => {
    served++;
    return new Response('[]', { status: 200 });
  }, 3);
  for (let page = 0; page < 3; page++) await fetchPage(`http://hub/api/datasets/o/n/tree/main?cursor=${page}`);
  await t.throwsAsync(() => fetchPage('http://hub/api/datasets/o/n/tree/main?cursor=3'), { instanceOf: UserError, message: /runs past 3 pages/ });
  t.is(served, 3);
});

test('a silent Hub is given up on after HF_HUB_ETAG_TIMEOUT: one line without a cache, the cached copy with one', async (t) => {
  const { cacheRoot } = arena(t);
  let silent = false;
  const { evil, commit } = await hubWith(t, (_req, answer) => (silent ? 'silence' : answer));
  silent = true;
  const start = Date.now();
  const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot, retry: { attempts: 1 } }), { instanceOf: UserError });
  t.regex(error!.message, /not in the Hugging Face cache .* unreachable/);
  t.true(Date.now() - start < 8000, `${Date.now() - start} ms`);
  silent = false;
  await resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot });
  silent = true;
  const logs: string[] = [];
  const cached = await resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot, retry: { attempts: 1 }, log: (m) => logs.push(m) });
  t.true(cached.offline);
  t.is(cached.commit, commit);
  t.true(logs.some((m) => /using the cached commit/.test(m)), logs.join('\n'));
});

test('redirects: to another origin the token is not sent and the bytes are still checked; a loop or a file: URL is one line and links nothing', async (t) => {
  const { cacheRoot, outside } = arena(t);
  const before = outside();
  const seen: (string | undefined)[] = [];
  const cdn = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-length': '6000' }).end('n'.repeat(6000));
  });
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => cdn.close(() => resolve())));
  let location = (_self: string) => `http://127.0.0.1:${(cdn.address() as AddressInfo).port}/blob/notes`;
  const { evil, hub } = await hubWith(t, (req, answer) =>
    isResolve(req.url) && req.method === 'GET' && req.url!.endsWith('notes.txt') ? { status: 302, headers: { location: location(req.url!) }, body: Buffer.alloc(0) } : answer,
  );
  const resolved = await resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot, token: hub.token });
  t.is(readFileSync(join(resolved.localDir, 'notes.txt'), 'utf8'), 'n'.repeat(6000));
  t.deepEqual(seen, [undefined], 'the CDN on another origin never saw the token');

  for (const [target, message] of [
    [(self: string) => self, /sub\/more\.txt|sub\/notes\.txt/],
    [() => 'file:///etc/passwd', /sub\/notes\.txt/],
  ] as const) {
    const freshCache = join(cacheRoot, '..', `hub-${seen.length}-${message.source.length}`);
    location = target;
    const error = await t.throwsAsync(() => resolveHubDataset('hf://datasets/org/data/sub', { endpoint: evil.url, cacheRoot: freshCache, retry: { attempts: 1 } }), { instanceOf: UserError });
    t.regex(error!.message, message);
    const all = existsSync(freshCache) ? readdirSync(freshCache, { recursive: true }).map(String) : [];
    t.false(all.some((p) => p.endsWith('notes.txt') || p.endsWith('.incomplete')), all.join(', '));
  }
  t.deepEqual(outside().filter((p) => !p.startsWith(join('deep', 'hub-'))), before);
});
