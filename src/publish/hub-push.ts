/**
 * `advood release push`: a verified release and its Parquet export to a dataset repository on the Hugging Face
 * Hub, with @huggingface/hub. In order:
 *
 *   1. verify the release (nothing unverified leaves the machine) and make or check its Parquet export;
 *   2. hash every file of the layout (hub-repo-layout.ts) and check the token (whoami);
 *   3. create the repository and branch when absent; list the branch head's files;
 *   4. upload only the files whose content differs from the listing (sha256 for LFS files, git blob sha1
 *      otherwise), in commits of at most `filesPerCommit` files with README.md in the last, each commit
 *      pinned to the head it was planned on (parentCommit: a branch that moved answers 412);
 *   5. list the new head and check every file, the release's against its manifest's sha256.
 *
 * Unchanged content makes no request that uploads and no commit. A failure after some commits landed says how
 * many did; the result is returned only when step 5 passed, so a half-pushed repository is never reported done.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commitIter, createBranch, createRepo, datasetInfo, whoAmI, HubApiError, type CommitOperation } from '@huggingface/hub';
import { UserError } from '../core/errors.js';
import { hubErrorLine, type HubCallContext } from '../hub/hub-error-line.js';
import { sameContent } from '../hub/content-hash.js';
import { listRemoteFiles, type HubConnection, type RemoteFile } from '../hub/remote-listing.js';
import { retryingFetch, type RetryPolicy } from '../hub/retrying-fetch.js';
import { defaultExportDir } from '../release/export/export-target.js';
import { CARD_FILE } from '../release/release-card.js';
import type { ReleaseManifest } from '../release/release-manifest.js';
import { parquetExportCard } from '../release/export/parquet-export.js';
import { openVerifiedRelease } from '../release/read/verified-release.js';
import { OWNED_FOLDERS, hubRepoFiles, type PushFile } from './hub-repo-layout.js';
import { parquetExportForPush } from './parquet-for-push.js';
import { guardUploads } from './upload-guard.js';

const REPO_NAME = /^[\w.-]+\/[\w.-]+$/;
/** The Hub advises at most ~100 files per commit; fewer keeps a failed commit cheap to redo. */
export const DEFAULT_FILES_PER_COMMIT = 50;

export interface HubPushOptions {
  releaseDir: string;
  /** "owner/name" of the dataset repository. */
  repo: string;
  token: string;
  endpoint: string;
  /** Branch to push to (created from main when absent); default "main". */
  revision?: string;
  /** Visibility when the repository is created (an existing one keeps its own). */
  private?: boolean;
  /** Commit title. */
  message?: string;
  /** The Parquet export to push (default: next to the release, DIR-parquet); made when absent. */
  parquetDir?: string;
  filesPerCommit?: number;
  retry?: RetryPolicy;
  /** One line per file: unchanged, uploaded, deleted. */
  onFile?: (event: PushFileEvent) => void;
  log?: (message: string) => void;
}

export interface PushFileEvent {
  path: string;
  state: 'unchanged' | 'uploaded' | 'deleted';
  size: number;
}

export interface HubPushResult {
  /** Web address of the repository (of the branch when not main). */
  url: string;
  /** Head commit of the branch after the push (the old head when nothing changed). */
  commit: string;
  uploaded: string[];
  unchanged: string[];
  deleted: string[];
  /** Commits made by this push, in order. */
  commits: string[];
}

interface PushPlan {
  upload: PushFile[];
  unchanged: PushFile[];
  /** Remote files in the folders the push owns that the release no longer has (a re-push with fewer shards). */
  remove: string[];
}

function planPush(files: readonly PushFile[], remote: readonly RemoteFile[]): PushPlan {
  const remoteByPath = new Map(remote.map((r) => [r.path, r]));
  const local = new Set(files.map((f) => f.repoPath));
  const same = (f: PushFile) => {
    const r = remoteByPath.get(f.repoPath);
    return r !== undefined && sameContent(r, f);
  };
  return {
    upload: files.filter((f) => !same(f)),
    unchanged: files.filter(same),
    remove: remote.map((r) => r.path).filter((p) => !local.has(p) && OWNED_FOLDERS.some((folder) => p.startsWith(`${folder}/`))),
  };
}

/** Commits of at most `size` files, in order (README.md is last in `files`), deletions with the last. */
function commitBatches(plan: PushPlan, size: number): { files: PushFile[]; remove: string[] }[] {
  const batches: { files: PushFile[]; remove: string[] }[] = [];
  for (let i = 0; i < plan.upload.length; i += size) batches.push({ files: plan.upload.slice(i, i + size), remove: [] });
  if (batches.length === 0) batches.push({ files: [], remove: [] });
  batches.at(-1)!.remove = plan.remove;
  return batches;
}

/** After the push: every listed file is on the branch head with its content, the release's with the manifest's sha256. */
function checkPushed(files: readonly PushFile[], remote: readonly RemoteFile[], where: string): void {
  const byPath = new Map(remote.map((r) => [r.path, r]));
  for (const file of files) {
    const r = byPath.get(file.repoPath);
    if (!r) throw new UserError(`${where}: ${file.repoPath} is missing after the push; the push is not complete, rerun it`);
    if (!sameContent(r, file)) throw new UserError(`${where}: ${file.repoPath} has ${r.lfs ? 'sha256' : 'git sha1'} ${r.oid} after the push, not that of ${file.localPath}; rerun the push`);
    if (file.expectedSha256 && r.lfs && r.oid !== file.expectedSha256) {
      throw new UserError(`${where}: ${file.repoPath} has sha256 ${r.oid}, where ${file.expectedSha256} was checked; the pushed release does not verify, rerun the push`);
    }
  }
}

async function headCommit(hub: HubConnection, repo: string, revision: string): Promise<string> {
  const info = (await datasetInfo({ ...hub, name: repo, revision, additionalFields: ['sha'] })) as { sha?: string };
  if (!info.sha) throw new UserError(`${repo}@${revision}: ${hub.hubUrl} named no commit; is it a Hugging Face Hub?`);
  return info.sha;
}

const isNotFound = (error: unknown) => error instanceof HubApiError && error.statusCode === 404;

/** Creates the repository when the token cannot see it, and the branch when it is new; returns the branch head. */
async function prepareRepo(hub: HubConnection & { accessToken: string }, options: HubPushOptions, revision: string): Promise<string> {
  const repo = { type: 'dataset' as const, name: options.repo };
  try {
    await headCommit(hub, options.repo, 'main');
  } catch (error) {
    if (!isNotFound(error)) throw error;
    options.log?.(`creating the ${options.private ? 'private' : 'public'} dataset repository ${options.repo}`);
    await createRepo({ ...hub, repo, private: options.private ?? false });
  }
  try {
    return await headCommit(hub, options.repo, revision);
  } catch (error) {
    if (!isNotFound(error) || revision === 'main') throw error;
    options.log?.(`creating the branch ${revision} from main`);
    await createBranch({ ...hub, repo, branch: revision, revision: 'main' });
    return headCommit(hub, options.repo, revision);
  }
}

/**
 * One commit of a batch, pinned to `parentCommit`; `onUploaded` once per file (LFS files as their bytes reach
 * storage, regular files, which travel inside the commit, when it lands). Returns the new commit sha.
 */
async function commitBatch(
  hub: HubConnection,
  target: { repo: string; branch: string; parentCommit: string; title: string },
  batch: { files: PushFile[]; remove: string[] },
  onUploaded: (file: PushFile) => void,
): Promise<string> {
  const reported = new Set<string>();
  const report = (f: PushFile) => {
    if (!reported.has(f.repoPath)) onUploaded(f);
    reported.add(f.repoPath);
  };
  const commits = commitIter({
    ...hub,
    fetch: guardUploads(batch.files, hub.fetch),
    repo: { type: 'dataset', name: target.repo },
    branch: target.branch,
    parentCommit: target.parentCommit,
    title: target.title,
    operations: [
      ...batch.files.map((f): CommitOperation => ({ operation: 'addOrUpdate', path: f.repoPath, content: pathToFileURL(f.localPath) })),
      ...batch.remove.map((path): CommitOperation => ({ operation: 'delete', path })),
    ],
    // The Xet protocol needs its own servers; plain LFS is what every Hub endpoint answers.
    useXet: false,
  });
  let step = await commits.next();
  for (; !step.done; step = await commits.next()) {
    const event = step.value;
    if (event.event === 'fileProgress' && event.state === 'uploading' && event.progress === 1) {
      const file = batch.files.find((f) => f.repoPath === event.path);
      if (file) report(file);
    }
  }
  if (!step.value) throw new UserError(`${target.repo}@${target.branch}: the Hub confirmed no commit for ${target.title}`);
  batch.files.forEach(report);
  return step.value.commit.oid;
}

export async function pushReleaseToHub(options: HubPushOptions): Promise<HubPushResult> {
  if (!REPO_NAME.test(options.repo) || options.repo.includes('..')) throw new UserError(`--repo ${options.repo}: expected OWNER/NAME`);
  const revision = options.revision ?? 'main';
  const { release } = await openVerifiedRelease(options.releaseDir, 'not pushing it');
  const { manifest } = release;
  const parquet = await parquetExportForPush(release, options.parquetDir ?? defaultExportDir(options.releaseDir, 'parquet'), options.log);
  // The pushed card is the export's, telling readers to load the data by this repository's name.
  const cardDir = mkdtempSync(join(tmpdir(), 'advood-hub-card-'));
  try {
    const card = join(cardDir, CARD_FILE);
    writeFileSync(card, parquetExportCard(manifest, parquet.bytes, { kind: 'hub', repo: options.repo }));
    return await pushFiles(options, manifest, await hubRepoFiles(options.releaseDir, manifest, parquet, card), revision);
  } finally {
    rmSync(cardDir, { recursive: true, force: true });
  }
}

async function pushFiles(options: HubPushOptions, manifest: ReleaseManifest, files: PushFile[], revision: string): Promise<HubPushResult> {
  const hub = { hubUrl: options.endpoint, accessToken: options.token, fetch: retryingFetch({ log: options.log, ...options.retry }) };
  const context: HubCallContext = { endpoint: options.endpoint, repo: options.repo, revision, action: 'pushing to' };
  const made: string[] = [];
  const uploaded: string[] = [];
  try {
    await whoAmI(hub);
    let head = await prepareRepo(hub, options, revision);
    const plan = planPush(files, await listRemoteFiles(hub, options.repo, head));
    for (const f of plan.unchanged) options.onFile?.({ path: f.repoPath, state: 'unchanged', size: f.size });
    if (plan.upload.length > 0 || plan.remove.length > 0) {
      const batches = commitBatches(plan, options.filesPerCommit ?? DEFAULT_FILES_PER_COMMIT);
      for (const [index, batch] of batches.entries()) {
        const title = (options.message ?? `advood release push: ${manifest.card.prettyName}`) + (batches.length > 1 ? ` (${index + 1}/${batches.length})` : '');
        head = await commitBatch(hub, { repo: options.repo, branch: revision, parentCommit: head, title }, batch, (f) => {
          uploaded.push(f.repoPath);
          options.onFile?.({ path: f.repoPath, state: 'uploaded', size: f.size });
        });
        made.push(head);
        for (const path of batch.remove) options.onFile?.({ path, state: 'deleted', size: 0 });
      }
    }
    checkPushed(files, await listRemoteFiles(hub, options.repo, head), `${options.repo}@${revision} (commit ${head})`);
    const url = `${options.endpoint}/datasets/${options.repo}${revision === 'main' ? '' : `/tree/${encodeURIComponent(revision)}`}`;
    return { url, commit: head, uploaded, unchanged: plan.unchanged.map((f) => f.repoPath), deleted: plan.remove, commits: made };
  } catch (error) {
    const line = hubErrorLine(error, context);
    if (made.length === 0) throw line;
    throw new UserError(`${line.message}; ${made.length} commit(s) of this push had landed (last ${made.at(-1)}), so the repository is incomplete: rerun the push to finish`, { cause: error });
  }
}
