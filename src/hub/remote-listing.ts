/**
 * The files of a repository at one commit, from the tree API (recursive; @huggingface/hub's listFiles follows
 * the Link pages). Each file is named by the hash the Hub keeps for it: the sha256 of its content for LFS files,
 * the git blob sha1 otherwise, so both push (what is already there) and download (what to fetch, under which
 * blob name) compare content, never timestamps.
 */
import { listFiles } from '@huggingface/hub';
import { UserError } from '../core/errors.js';

export interface HubConnection {
  hubUrl: string;
  accessToken?: string;
  fetch: typeof fetch;
}

export interface RemoteFile {
  path: string;
  size: number;
  /** sha256 (LFS) or git blob sha1 of the content. */
  oid: string;
  lfs: boolean;
}

export async function listRemoteFiles(hub: HubConnection, repo: string, commit: string, folder = ''): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  const entries = listFiles({ hubUrl: hub.hubUrl, accessToken: hub.accessToken, fetch: hub.fetch, repo: { type: 'dataset', name: repo }, revision: commit, path: folder || undefined, recursive: true });
  for await (const entry of entries) {
    if (entry.type !== 'file') continue;
    const oid = entry.lfs?.oid ?? entry.oid;
    if (!oid) throw new UserError(`${repo}@${commit}: the Hub's listing gives no hash for ${entry.path}`);
    files.push({ path: entry.path, size: entry.size, oid, lfs: entry.lfs !== undefined });
  }
  return files;
}
