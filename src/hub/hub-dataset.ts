/**
 * `hf://datasets/OWNER/NAME[@REV][/SUBDIR]` → a local folder: the revision is pinned to a commit sha (the
 * revision endpoint), the files under SUBDIR at that commit are listed (tree API), the ones the cache lacks are
 * downloaded into huggingface_hub's cache layout (hub-download.ts: sha256 / git-sha1 checked, resumable), and
 * the listing is recorded beside the cache entry so that a later run can prove the snapshot complete without
 * the network (HF_HUB_OFFLINE=1, or the Hub unreachable), as huggingface_hub's own offline mode reuses refs/<rev>.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HubApiError, datasetInfo } from '@huggingface/hub';
import { sha256Hex } from '../core/digest.js';
import { UserError } from '../core/errors.js';
import { parseGuardedJson } from '../core/json-guard.js';
import { writeFileSafely } from '../core/safe-write.js';
import type { DownloadProgress } from './download-progress.js';
import { COMMIT_SHA, downloadSnapshot, isHubContentHash, hubCacheRoot, hubRepoDir, readRef, writeRef } from './hub-download.js';
import { formatHubDatasetUri, parseHubDatasetUri, type HubDatasetUri } from './hub-dataset-uri.js';
import { hubEndpoint, hubReadToken } from './hub-endpoint.js';
import { hubErrorLine, networkReason } from './hub-error-line.js';
import { listRemoteFiles, type HubConnection } from './remote-listing.js';
import { retryingFetch, type RetryPolicy } from './retrying-fetch.js';
import { timedFetch } from './hub-timeouts.js';
import { checkCommitSha, checkRelativePath, resolveInside } from '../core/untrusted-names.js';

export interface ResolvedHubDataset extends HubDatasetUri {
  /** The SUBDIR of the cached snapshot: every file of it is present and hash-checked. */
  localDir: string;
  /** The commit sha the revision pointed at. */
  commit: string;
  /**
   * The cache entry's blobs/ folder, which every file of localDir links to: what `verifyRelease(localDir,
   * { linksInto })` must be told to read an advood release from the cache.
   */
  blobsDir: string;
  /** True when the cache was used without asking the Hub. */
  offline: boolean;
}

export interface ResolveHubDatasetOptions {
  /** Default hubEndpoint() ($HF_ENDPOINT). */
  endpoint?: string;
  /** Default $HF_TOKEN when it is an hf_ token; public repositories need none. */
  token?: string;
  /** Default hubCacheRoot(). */
  cacheRoot?: string;
  /** A commit recorded by an earlier run: refuse to read anything else (the branch moved). */
  expectedCommit?: string;
  retry?: RetryPolicy;
  log?: (message: string) => void;
  /** Bytes received per downloaded file. */
  onProgress?: (event: DownloadProgress) => void;
}

interface ListedFile {
  path: string;
  size: number;
  /** sha256 for LFS files, git blob sha1 otherwise: the name of its blob in the cache. */
  oid: string;
}

interface SnapshotListing {
  commit: string;
  subdir: string;
  files: ListedFile[];
}

const LISTINGS = '.advood-listings';

function listingPath(repoDir: string, commit: string, subdir: string): string {
  return join(repoDir, LISTINGS, `${commit}${subdir ? `-${sha256Hex(subdir).slice(0, 16)}` : ''}.json`);
}

function readListing(repoDir: string, commit: string, subdir: string): SnapshotListing | null {
  const path = listingPath(repoDir, commit, subdir);
  if (!existsSync(path)) return null;
  try {
    const listing = parseGuardedJson(readFileSync(path, 'utf8')) as SnapshotListing;
    if (listing.commit !== commit || listing.subdir !== subdir || !Array.isArray(listing.files)) return null;
    // The record is read back by later runs: it is held to the same rules as the Hub's own listing.
    for (const file of listing.files) checkListedFile(file, `${path}`);
    return listing;
  } catch {
    return null; // A damaged record only costs a new listing from the Hub.
  }
}

/** A listed file names a place in the cache and a blob: a plain relative path, a whole size, a content hash. */
function checkListedFile(file: ListedFile, where: string): void {
  checkRelativePath(file?.path, `${where}: listed file`);
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new UserError(`${where}: listed file ${JSON.stringify(file.path)} has size ${JSON.stringify(file.size)}`);
  if (!isHubContentHash(file.oid)) throw new UserError(`${where}: listed file ${JSON.stringify(file.path)} has hash ${JSON.stringify(file.oid)}, not a sha256 or git sha1`);
}

/** Every listed file is in the snapshot (its link resolves to the listed blob) with the listed size. */
function snapshotComplete(repoDir: string, listing: SnapshotListing): boolean {
  const snapshot = join(repoDir, 'snapshots', listing.commit);
  return listing.files.every((f) => {
    const place = resolveInside(snapshot, f.path, `${repoDir}: cached file`, repoDir);
    return existsSync(place) && statSync(place).size === f.size && existsSync(join(repoDir, 'blobs', f.oid));
  });
}

function refuseMoved(uri: HubDatasetUri, commit: string, expected: string | undefined): void {
  if (expected && expected !== commit) {
    throw new UserError(
      `${formatHubDatasetUri(uri)}: '${uri.revision}' now points at commit ${commit}, not the pinned ${expected}; ` +
        `use ${formatHubDatasetUri({ ...uri, revision: expected })} to read the pinned data`,
    );
  }
}

function fromCache(uri: HubDatasetUri, repoDir: string, root: string, reason: string, options: ResolveHubDatasetOptions): ResolvedHubDataset {
  const name = formatHubDatasetUri(uri);
  const commit = COMMIT_SHA.test(uri.revision) ? uri.revision : readRef(repoDir, uri.revision);
  if (!commit) throw new UserError(`${name}: not in the Hugging Face cache (${root}) and ${reason}`);
  const listing = readListing(repoDir, commit, uri.subdir);
  if (!listing || !snapshotComplete(repoDir, listing)) {
    throw new UserError(`${name}: the Hugging Face cache (${root}) holds no complete copy of commit ${commit} and ${reason}`);
  }
  refuseMoved(uri, commit, options.expectedCommit);
  options.log?.(`${name}: ${reason}; using the cached commit ${commit}`);
  return { ...uri, commit, localDir: join(repoDir, 'snapshots', commit, uri.subdir), blobsDir: join(repoDir, 'blobs'), offline: true };
}

/** Fetch failed without an answer: the Hub is unreachable, and a cached copy may stand in. */
function isUnreachable(error: unknown): boolean {
  return !(error instanceof HubApiError) && !(error instanceof UserError) && (error as Error).name !== 'AbortError';
}

function connect(options: ResolveHubDatasetOptions): { endpoint: string; hub: HubConnection } {
  const endpoint = options.endpoint ?? hubEndpoint();
  const hub: HubConnection = {
    hubUrl: endpoint,
    accessToken: options.token ?? hubReadToken(),
    fetch: retryingFetch({ retryNetworkErrors: false, log: options.log, ...options.retry }, timedFetch()),
  };
  return { endpoint, hub };
}

/** What a dataset folder on the Hub holds, asked without downloading a byte of it (`experiment --dry-run`). */
export interface HubDatasetListing extends HubDatasetUri {
  /** The commit the revision points at now. */
  commit: string;
  files: number;
  bytes: number;
  /** The Hub's gating ('auto' or 'manual': files need a token of an account that accepted its conditions). */
  gated: string | false;
  /** Whether HF_TOKEN (or the given token) would be sent. */
  hasToken: boolean;
  /** Whether the cache already holds every listed file. */
  cached: boolean;
}

export async function listHubDataset(text: string, options: ResolveHubDatasetOptions = {}): Promise<HubDatasetListing> {
  const uri = parseHubDatasetUri(text);
  const name = formatHubDatasetUri(uri);
  const root = options.cacheRoot ?? hubCacheRoot();
  const repoDir = hubRepoDir(root, uri.repo, 'dataset');
  if (process.env.HF_HUB_OFFLINE === '1') throw new UserError(`${name}: HF_HUB_OFFLINE=1 forbids asking the Hub what it holds`);
  const { endpoint, hub } = connect(options);
  try {
    const info = (await datasetInfo({ ...hub, name: uri.repo, revision: uri.revision, additionalFields: ['sha'] })) as { sha?: string; gated?: unknown };
    if (!info.sha) throw new UserError(`${name}: ${endpoint} named no commit for '${uri.revision}'; is it a Hugging Face Hub?`);
    const commit = checkCommitSha(info.sha, `${name}: the commit ${endpoint} named for '${uri.revision}'`);
    const listing = readListing(repoDir, commit, uri.subdir) ?? (await listRemote(hub, uri, commit));
    const gated = info.gated === 'auto' || info.gated === 'manual' ? info.gated : false;
    const bytes = listing.files.reduce((sum, file) => sum + file.size, 0);
    return { ...uri, commit, files: listing.files.length, bytes, gated, hasToken: hub.accessToken !== undefined, cached: snapshotComplete(repoDir, listing) };
  } catch (error) {
    if (error instanceof HubApiError && error.statusCode === 404 && uri.subdir) {
      throw new UserError(`${name}: no repository, revision or folder '${uri.subdir}' there on ${endpoint} (HTTP 404)`, { cause: error });
    }
    throw hubErrorLine(error, { endpoint, repo: uri.repo, revision: uri.revision, action: 'listing' });
  }
}

export async function resolveHubDataset(text: string, options: ResolveHubDatasetOptions = {}): Promise<ResolvedHubDataset> {
  const uri = parseHubDatasetUri(text);
  const name = formatHubDatasetUri(uri);
  const root = options.cacheRoot ?? hubCacheRoot();
  const repoDir = hubRepoDir(root, uri.repo, 'dataset');
  if (process.env.HF_HUB_OFFLINE === '1') return fromCache(uri, repoDir, root, 'HF_HUB_OFFLINE=1 forbids asking the Hub', options);

  const { endpoint, hub } = connect(options);
  const context = { endpoint, repo: uri.repo, revision: uri.revision, action: 'reading' };
  let listing: SnapshotListing;
  try {
    const info = (await datasetInfo({ ...hub, name: uri.repo, revision: uri.revision, additionalFields: ['sha'] })) as { sha?: string };
    if (!info.sha) throw new UserError(`${name}: ${endpoint} named no commit for '${uri.revision}'; is it a Hugging Face Hub?`);
    const commit = checkCommitSha(info.sha, `${name}: the commit ${endpoint} named for '${uri.revision}'`);
    if (COMMIT_SHA.test(uri.revision) && commit !== uri.revision) throw new UserError(`${name}: asked for commit ${uri.revision}, ${endpoint} answered for ${commit}`);
    refuseMoved(uri, commit, options.expectedCommit);
    const before = readRef(repoDir, uri.revision);
    if (before && before !== commit && !COMMIT_SHA.test(uri.revision)) options.log?.(`${name}: '${uri.revision}' moved from ${before} to ${commit} since it was last read; reading ${commit}`);
    listing = readListing(repoDir, commit, uri.subdir) ?? (await listRemote(hub, uri, commit));
  } catch (error) {
    if (isUnreachable(error)) return fromCache(uri, repoDir, root, `the Hub at ${endpoint} is unreachable (${networkReason(error)})`, options);
    // As huggingface_hub does, a Hub failing with 5xx after the retries falls back to a complete cached copy.
    if (error instanceof HubApiError && error.statusCode >= 500) {
      try {
        return fromCache(uri, repoDir, root, `the Hub at ${endpoint} answered HTTP ${error.statusCode}`, options);
      } catch {
        throw hubErrorLine(error, context);
      }
    }
    if (error instanceof HubApiError && error.statusCode === 404 && uri.subdir) {
      throw new UserError(`${name}: no repository, revision or folder '${uri.subdir}' there on ${endpoint} (HTTP 404)`, { cause: error });
    }
    throw hubErrorLine(error, context);
  }

  const snapshot = join(repoDir, 'snapshots', listing.commit);
  const missing = listing.files.filter((f) => !existsSync(resolveInside(snapshot, f.path, name, repoDir)) || !existsSync(join(repoDir, 'blobs', f.oid)));
  if (missing.length > 0) {
    options.log?.(`${name}: downloading ${missing.length} of ${listing.files.length} files at commit ${listing.commit}`);
    const listed = Object.fromEntries(missing.map((f) => [f.path, { oid: f.oid, size: f.size }]));
    await downloadSnapshot(
      { repo: uri.repo, type: 'dataset', revision: listing.commit, files: missing.map((f) => f.path), listed },
      { endpoint, cacheRoot: root, token: hub.accessToken, retry: options.retry, log: options.log, onProgress: options.onProgress },
    );
    // The downloader checked each file against the hash the server announced; that hash must be the listed one.
    const wrong = missing.find((f) => !existsSync(join(repoDir, 'blobs', f.oid)));
    if (wrong) throw new UserError(`${name}: ${wrong.path} was served with a different hash than the listing of commit ${listing.commit} gives (${wrong.oid})`);
  }
  if (!COMMIT_SHA.test(uri.revision)) writeRef(repoDir, uri.revision, listing.commit);
  mkdirSync(join(repoDir, LISTINGS), { recursive: true });
  writeFileSafely(listingPath(repoDir, listing.commit, uri.subdir), JSON.stringify(listing));
  return { ...uri, commit: listing.commit, localDir: join(snapshot, uri.subdir), blobsDir: join(repoDir, 'blobs'), offline: false };
}

async function listRemote(hub: HubConnection, uri: HubDatasetUri, commit: string): Promise<SnapshotListing> {
  const files = (await listRemoteFiles(hub, uri.repo, commit, uri.subdir)).map(({ path, size, oid }) => ({ path, size, oid }));
  for (const file of files) checkListedFile(file, `${formatHubDatasetUri(uri)}: the Hub's listing of commit ${commit}`);
  if (files.length === 0) throw new UserError(`${formatHubDatasetUri(uri)}: no files${uri.subdir ? ` under '${uri.subdir}'` : ''} at commit ${commit}`);
  return { commit, subdir: uri.subdir, files };
}
