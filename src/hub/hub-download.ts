/**
 * Files of model and dataset repositories on the Hugging Face Hub, in huggingface_hub's own cache layout so
 * that advood and Python share one copy:
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub)
 *     models--org--name/  (datasets--org--name/ for dataset repos)
 *       blobs/<etag>                          file contents, named by sha256 (LFS) or git blob sha1
 *       snapshots/<commit>/<file> → ../../blobs/<etag>
 *       refs/<revision>                       the commit a branch or tag pointed at
 *
 * Downloads respect $HF_ENDPOINT and $HF_TOKEN (gated models), resume partial files with HTTP Range, retry 429
 * and 5xx answers with the listing's backoff (src/hub/retrying-fetch.ts), verify the hash the server announces
 * (X-Linked-Etag / ETag) and move the blob into place atomically. HF_HUB_OFFLINE=1 forbids them. A file whose
 * hash and size a listing already gave, at a commit, is fetched without a HEAD first, as huggingface_hub does
 * with the paths-info it already holds.
 *
 * Everything the Hub says is data, never a path (src/core/untrusted-names.ts): the commit must be 40 hex digits,
 * the ETag a content hash or a plain token, file names plain relative paths, and every place written or linked is
 * proven inside the cache root. A body is capped at its announced size, and a blob is linked into snapshots/
 * only once its size and hash match what was announced and, where a listing gave one, the listed hash: wrong
 * bytes are deleted, never left where huggingface_hub (which shares the cache) would read them. Every request
 * is bounded in time (src/hub/hub-timeouts.ts).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, openSync, closeSync, writeSync, ftruncateSync, copyFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { hubContentHashes } from './content-hash.js';
import { UserError, errorMessage } from '../core/errors.js';
import { COMMIT_SHA, assertInside, checkCommitSha, checkRelativePath, checkRevision, resolveInside } from '../core/untrusted-names.js';
import type { DownloadProgress } from './download-progress.js';
import { hubEndpoint, hubReadToken } from './hub-endpoint.js';
import { networkReason } from './hub-error-line.js';
import { HubTimeoutError, downloadIdleTimeoutMs, timedFetch, timeoutLine } from './hub-timeouts.js';
import { retryingFetch, type RetryPolicy } from './retrying-fetch.js';

export type HubRepoType = 'model' | 'dataset';

export interface HubFiles {
  /** "org/name". */
  repo: string;
  /** Default 'model'. */
  type?: HubRepoType;
  /** Branch, tag or 40-hex commit. */
  revision: string;
  /** Paths inside the repository. */
  files: readonly string[];
  /**
   * What a listing gave for each file: its hash (sha256 for LFS, git blob sha1 otherwise), checked before the
   * file is linked into the snapshot, so that a server answering a listing and a download differently poisons
   * nothing, and its size. With both, at a commit revision, the file needs no HEAD.
   */
  listed?: Readonly<Record<string, ListedBlob>>;
}

export interface ListedBlob {
  oid: string;
  size: number;
}

export interface DownloadOptions {
  /** Defaults to $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Defaults to hubCacheRoot(). */
  cacheRoot?: string;
  log?: (message: string) => void;
  /** Attempts per file when the connection drops mid-transfer. */
  maxAttempts?: number;
  /** Sent as a Bearer token (private or gated repositories); default $HF_TOKEN when it is an hf_ token. */
  token?: string;
  /** Backoff for 429 and 5xx answers (the listing's policy by default). */
  retry?: RetryPolicy;
  /** Bytes received per file, for a progress bar with an ETA. */
  onProgress?: (event: DownloadProgress) => void;
  /** What the user can do instead of downloading (e.g. "pass --weights DIR"), added to network errors. */
  fallbackHint?: string;
}

export { COMMIT_SHA };
const COMMIT = COMMIT_SHA;
const SHA256 = /^[0-9a-f]{64}$/;

/** A hash the Hub names a file by: the sha256 of an LFS file's content, or a regular file's git blob sha1. */
export function isHubContentHash(value: unknown): value is string {
  return typeof value === 'string' && (SHA256.test(value) || COMMIT.test(value));
}
const REPO = /^[\w.-]+\/[\w.-]+$/;

export function hubCacheRoot(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  return join(process.env.HF_HOME ?? join(homedir(), '.cache', 'huggingface'), 'hub');
}

/** The repository's folder in the cache: `models--org--name` or `datasets--org--name`, as huggingface_hub names it. */
export function hubRepoDir(root: string, repo: string, type: HubRepoType = 'model'): string {
  if (!REPO.test(repo) || repo.includes('..')) throw new UserError(`hub repository '${repo}' is not of the form org/name`);
  return join(root, `${type}s--${repo.replace('/', '--')}`);
}

/** Where a file is served: models at /org/name, datasets at /datasets/org/name. */
export function hubResolveUrl(endpoint: string, spec: Pick<HubFiles, 'repo' | 'type' | 'revision'>, file: string): string {
  const prefix = spec.type === 'dataset' ? 'datasets/' : '';
  return `${endpoint}/${prefix}${spec.repo}/resolve/${encodeURIComponent(spec.revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export function checkFileName(file: string): void {
  checkRelativePath(file, 'hub file name');
}

/** The snapshot directory holding every requested file, or null when the cache lacks any of them. */
export function findCachedSnapshot(spec: HubFiles, cacheRoot = hubCacheRoot()): string | null {
  const dir = hubRepoDir(cacheRoot, spec.repo, spec.type);
  const commit = COMMIT.test(spec.revision) ? spec.revision : readRef(dir, spec.revision);
  if (!commit) return null;
  const snapshot = join(dir, 'snapshots', commit);
  return spec.files.every((f) => existsSync(resolveInside(snapshot, f, `${spec.repo}: cached file`, dir))) ? snapshot : null;
}

interface RemoteHead {
  etag: string;
  commit: string;
  size: number | null;
  /** Who named the hash: the server's HEAD, or the listing of the commit. */
  announcedBy: string;
}

function normaliseEtag(value: string | null): string | null {
  return value ? value.replace(/^W\//, '').replace(/"/g, '').trim() : null;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** 401 without a token, 401 with one and 403 mean three different things to fix. */
function refusedLine(spec: HubFiles, file: string, status: number, token: string | undefined): string {
  const where = `${spec.repo}/${file}`;
  const page = `${hubEndpoint()}/${spec.type === 'dataset' ? 'datasets/' : ''}${spec.repo}`;
  if (status === 401 && !token) return `${where}: the Hub asks for a token (HTTP 401): the repository is gated or private; set HF_TOKEN to a read token of an account with access (${page})`;
  if (status === 401) return `${where}: the Hub refused HF_TOKEN (HTTP 401); check the token`;
  return `${where}: HF_TOKEN has no access to this repository (HTTP 403); accept its conditions at ${page}`;
}

async function headRemote(url: string, spec: HubFiles, file: string, hint: string, token: string | undefined, http: typeof fetch): Promise<RemoteHead> {
  let target = url;
  for (let hop = 0; hop < 5; hop++) {
    let response: Response;
    try {
      response = await http(target, { method: 'HEAD', redirect: 'manual', headers: authHeaders(token) });
    } catch (error) {
      if (error instanceof HubTimeoutError) throw new UserError(`${spec.repo}/${file}: ${timeoutLine(target, 'metadata')}${hint}`);
      throw new UserError(`${spec.repo}/${file}: cannot reach ${target} (${errorMessage(error)}); set HF_ENDPOINT${hint}`);
    }
    const location = response.headers.get('location');
    // Follow relative redirects (renamed repos); an absolute one points at the CDN, and the metadata we need
    // (X-Linked-Etag, X-Repo-Commit) is on this response already.
    if (response.status >= 300 && response.status < 400 && location && location.startsWith('/')) {
      target = new URL(location, target).toString();
      continue;
    }
    if (response.status === 401 || response.status === 403) throw new UserError(refusedLine(spec, file, response.status, token));
    if (response.status === 404) throw new UserError(`${spec.repo}/${file}: not found at revision '${spec.revision}' (HTTP 404)`);
    if (response.status >= 400) throw new UserError(`${spec.repo}/${file}: HEAD ${target} answered HTTP ${response.status}${response.status === 429 || response.status >= 500 ? ' after retries; rerun later' : ''}`);
    const etag = normaliseEtag(response.headers.get('x-linked-etag')) ?? normaliseEtag(response.headers.get('etag'));
    const commit = response.headers.get('x-repo-commit') ?? (COMMIT.test(spec.revision) ? spec.revision : null);
    if (!etag || !commit) throw new UserError(`${spec.repo}/${file}: the server sent no ETag or X-Repo-Commit; is ${url} a Hugging Face hub?`);
    // The ETag names a blob file and the commit a snapshot folder: neither may be anything but a plain token.
    if (!/^[\w-][\w.-]{0,127}$/.test(etag) || etag.includes('..')) throw new UserError(`${spec.repo}/${file}: unusable ETag ${JSON.stringify(etag)}`);
    checkCommitSha(commit, `${spec.repo}/${file}: X-Repo-Commit from ${target}`);
    if (COMMIT.test(spec.revision) && commit !== spec.revision) {
      throw new UserError(`${spec.repo}/${file}: asked for commit ${spec.revision}, the server answered for ${commit}`);
    }
    const sizeText = response.headers.get('x-linked-size') ?? response.headers.get('content-length');
    const size = sizeText && /^\d{1,15}$/.test(sizeText.trim()) ? Number(sizeText) : null;
    return { etag, commit, size, announcedBy: 'the hub announced' };
  }
  throw new UserError(`${spec.repo}/${file}: too many redirects from ${url}`);
}

/** What a HEAD would have said, from the listing: at a commit, the listed hash is the ETag and names the blob. */
function remoteFromListing(spec: HubFiles, file: string): RemoteHead | null {
  const listed = spec.listed?.[file];
  if (!listed || !COMMIT.test(spec.revision)) return null;
  if (!isHubContentHash(listed.oid) || !Number.isSafeInteger(listed.size) || listed.size < 0) {
    throw new UserError(`${spec.repo}/${file}: the listing gives hash ${JSON.stringify(listed.oid)} and size ${JSON.stringify(listed.size)}; refused`);
  }
  return { etag: listed.oid, commit: spec.revision, size: listed.size, announcedBy: `the listing of commit ${spec.revision} gives` };
}

/** Aborted when no answer has come within `ms`; cleared once the headers are in (the body has its own idle limit). */
class ConnectTimeout extends Error {}

function connectBounded(ms: number): typeof fetch {
  return async (input, init) => {
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new ConnectTimeout()), ms);
    try {
      return await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, connect.signal]) : connect.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}

/** GETs `url` into `partial`, resuming from its current length; returns when the body is complete. */
interface Transfer {
  spec: HubFiles;
  file: string;
  attempts: number;
  token: string | undefined;
  /** Retries 429/5xx; each try bounded by the download timeout until its headers arrive. */
  http: typeof fetch;
  log?: (m: string) => void;
  onProgress?: (event: DownloadProgress) => void;
}

async function fetchResuming(url: string, partial: string, expectedSize: number | null, transfer: Transfer): Promise<void> {
  const { attempts, token, log } = transfer;
  const label = `${transfer.spec.repo}/${transfer.file}`;
  let lastError: unknown = null;
  const idleMs = downloadIdleTimeoutMs();
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    if (expectedSize !== null && have === expectedSize) return;
    if (expectedSize !== null && have > expectedSize) ftruncateSync(openSync(partial, 'r+'), 0);
    const headers: Record<string, string> = { ...authHeaders(token), ...(have > 0 && (expectedSize === null || have < expectedSize) ? { Range: `bytes=${have}-` } : {}) };
    const fd = openSync(partial, 'a');
    // The connection and headers are bounded per try inside `http` (so a 429's wait is not cut short); this
    // controller bounds every pause between body chunks.
    const controller = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const stillAlive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error('idle')), idleMs);
    };
    try {
      const response = await transfer.http(url, { headers, redirect: 'follow', signal: controller.signal });
      stillAlive();
      // Without a HEAD, the GET's own X-Repo-Commit (when it has one) must name the commit asked for.
      const servedCommit = response.headers.get('x-repo-commit');
      if (servedCommit !== null && COMMIT.test(transfer.spec.revision)) {
        checkCommitSha(servedCommit, `${label}: X-Repo-Commit from ${url}`);
        if (servedCommit !== transfer.spec.revision) throw new UserError(`${label}: asked for commit ${transfer.spec.revision}, the server answered for ${servedCommit}`);
      }
      if (response.status === 416) {
        // Our partial file is longer than the remote one: start over.
        ftruncateSync(fd, 0);
        continue;
      }
      if (response.status === 401 || response.status === 403) throw new UserError(refusedLine(transfer.spec, transfer.file, response.status, token));
      if (response.status === 404) throw new UserError(`${label}: not found at revision '${transfer.spec.revision}' (HTTP 404)`);
      if (!response.ok || !response.body) throw new UserError(`${label}: GET answered HTTP ${response.status}${response.status === 429 || response.status >= 500 ? ' after retries; rerun to resume' : ''}`);
      let written = have;
      if (have > 0 && response.status !== 206) {
        ftruncateSync(fd, 0); // The server ignored Range and sends everything.
        written = 0;
        log?.(`${label}: server does not resume; restarting`);
      } else if (have > 0) {
        log?.(`${label}: resuming at byte ${have}`);
      }
      for await (const chunk of response.body) {
        stillAlive();
        const bytes = chunk as Uint8Array;
        // A body longer than announced is cut at the announced size: it can never fill the disk.
        if (expectedSize !== null && written + bytes.length > expectedSize) {
          controller.abort(new Error('oversized'));
          ftruncateSync(fd, 0);
          throw new UserError(`${label}: the server sent more than the ${expectedSize} bytes it announced; the download was stopped and deleted`);
        }
        writeSync(fd, bytes);
        written += bytes.length;
        transfer.onProgress?.({ file: transfer.file, bytes: written, totalBytes: expectedSize });
      }
      const size = statSync(partial).size;
      if (expectedSize === null || size === expectedSize) return;
      lastError = new Error(`got ${size} of ${expectedSize} bytes`);
    } catch (error) {
      if (error instanceof UserError) throw error;
      if (error instanceof ConnectTimeout || (controller.signal.aborted && (controller.signal.reason as Error)?.message === 'idle')) {
        lastError = new Error(`no data for ${idleMs / 1000} s`);
        log?.(`${label}: ${timeoutLine(url, 'download')}; attempt ${attempt} of ${attempts}`);
        continue;
      }
      lastError = error;
      log?.(`${label}: transfer interrupted (${errorMessage(error)}); attempt ${attempt} of ${attempts}`);
    } finally {
      clearTimeout(idle);
      closeSync(fd);
    }
  }
  throw new UserError(`${label}: download failed after ${attempts} attempts (${networkReason(lastError)}); rerun to resume`);
}

/**
 * refs/<revision> holds the commit a branch or tag pointed at when last resolved, as huggingface_hub records it
 * (a revision with slashes is a path under refs/, as there). The revision passes git's ref rules first, so it can
 * name nothing outside refs/.
 */
export function writeRef(repoDir: string, revision: string, commit: string): void {
  const ref = refPath(repoDir, revision);
  checkCommitSha(commit, `${repoDir}: commit for '${revision}'`);
  mkdirSync(dirname(ref), { recursive: true });
  assertInside(repoDir, ref, `refs/${revision}`);
  writeFileSync(ref, commit);
}

function refPath(repoDir: string, revision: string): string {
  checkRevision(revision, `${repoDir}: revision`);
  return resolveInside(join(repoDir, 'refs'), revision, `${repoDir}: revision`);
}

/** The recorded commit, or null when none is recorded or the record is not a commit id (never its content). */
export function readRef(repoDir: string, revision: string): string | null {
  const ref = refPath(repoDir, revision);
  if (!existsSync(ref) || !statSync(ref).isFile() || statSync(ref).size > 64) return null;
  const commit = readFileSync(ref, 'utf8').trim();
  return COMMIT.test(commit) ? commit : null;
}

function linkIntoSnapshot(root: string, blob: string, target: string): void {
  assertInside(root, blob, 'blob');
  mkdirSync(dirname(target), { recursive: true });
  assertInside(root, target, 'snapshot file');
  rmSync(target, { force: true });
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target); // Filesystems without symlinks: huggingface_hub copies too.
  }
}

/** Downloads whatever the cache lacks and returns the snapshot directory. */
export async function downloadSnapshot(spec: HubFiles, options: DownloadOptions = {}): Promise<string> {
  const hint = options.fallbackHint ? `; ${options.fallbackHint}` : '';
  if (process.env.HF_HUB_OFFLINE === '1') {
    throw new UserError(`${spec.repo}@${spec.revision}: not in the Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading${hint}`);
  }
  const root = options.cacheRoot ?? hubCacheRoot();
  const endpoint = options.endpoint ?? hubEndpoint();
  const dir = hubRepoDir(root, spec.repo, spec.type);
  const token = options.token ?? hubReadToken();
  const retry: RetryPolicy = { retryNetworkErrors: false, log: options.log, ...options.retry };
  const metadata = retryingFetch(retry, timedFetch());
  const bodies = retryingFetch(retry, connectBounded(downloadIdleTimeoutMs()));
  let snapshot: string | null = null;
  if (!COMMIT.test(spec.revision)) checkRevision(spec.revision, `${spec.repo}: revision`);
  for (const file of spec.files) {
    checkFileName(file);
    const label = `${spec.repo}/${file}`;
    const url = hubResolveUrl(endpoint, spec, file);
    const remote = remoteFromListing(spec, file) ?? (await headRemote(url, spec, file, hint, token, metadata));
    snapshot = join(dir, 'snapshots', remote.commit);
    const listed = spec.listed?.[file]?.oid;
    if (listed !== undefined && listed !== remote.etag) {
      throw new UserError(`${label}: the Hub announces hash ${remote.etag}, but the listing of commit ${remote.commit} gives ${listed}; nothing was downloaded`);
    }
    const blob = assertInside(root, join(dir, 'blobs', remote.etag), label);
    if (!existsSync(blob)) {
      mkdirSync(dirname(blob), { recursive: true });
      // A name of this process's own: a second run or another tool never appends to it, and it never outlives a failure.
      const partial = `${blob}.${process.pid}.${randomBytes(4).toString('hex')}.incomplete`;
      // With a progress sink the bytes are drawn as a bar; without one, a line says what is coming.
      if (!options.onProgress) options.log?.(`downloading ${label}${remote.size ? ` (${(remote.size / 1024 ** 2).toFixed(1)} MiB)` : ''}`);
      try {
        await fetchResuming(url, partial, remote.size, { spec, file, attempts: options.maxAttempts ?? 5, token, http: bodies, log: options.log, onProgress: options.onProgress });
        const isSha256 = SHA256.test(remote.etag);
        const isGitSha1 = COMMIT.test(remote.etag);
        if (isSha256 || isGitSha1) {
          const hashes = await hubContentHashes(partial);
          const actual = isSha256 ? hashes.sha256 : hashes.gitSha1;
          if (actual !== remote.etag) {
            throw new UserError(`${label}: downloaded bytes have ${isSha256 ? 'sha256' : 'git sha1'} ${actual}, but ${remote.announcedBy} ${remote.etag}; the bytes were deleted and nothing was linked, rerun to retry`);
          }
        } else if (listed !== undefined) {
          throw new UserError(`${label}: the server's ETag is not a content hash, so the listed hash ${listed} cannot be checked; refused`);
        } else {
          options.log?.(`${label}: the server's ETag is not a content hash; integrity not verified`);
        }
        renameSync(partial, blob); // Same directory, so atomic: a blob either is complete or absent.
      } finally {
        rmSync(partial, { force: true });
      }
    }
    linkIntoSnapshot(root, blob, resolveInside(snapshot, file, label, dir));
    if (!COMMIT.test(spec.revision)) writeRef(dir, spec.revision, remote.commit);
  }
  if (!snapshot) throw new UserError(`${spec.repo}: no files requested`);
  return snapshot;
}

/** The cached snapshot if complete, else a download into the cache. */
export async function resolveHubFiles(spec: HubFiles, options: DownloadOptions = {}): Promise<string> {
  return findCachedSnapshot(spec, options.cacheRoot ?? hubCacheRoot()) ?? downloadSnapshot(spec, options);
}
