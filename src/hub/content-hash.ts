/**
 * The two names the Hub gives a file's content: the sha256 of the bytes (LFS files: the `lfs.oid` of the tree
 * API, the X-Linked-Etag of resolve) and the git blob sha1, sha1("blob <size>\0" + bytes) (regular files: their
 * `oid` and ETag). Both are computed in one streamed read.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { hashFileInto } from '../core/digest.js';

export interface HubContentHashes {
  size: number;
  sha256: string;
  gitSha1: string;
}

export async function hubContentHashes(path: string): Promise<HubContentHashes> {
  const size = statSync(path).size;
  const sha256 = createHash('sha256');
  const gitSha1 = createHash('sha1').update(`blob ${size}\0`);
  const bothHashes = {
    update(chunk: Buffer) {
      sha256.update(chunk);
      gitSha1.update(chunk);
    },
  };
  const read = await hashFileInto(bothHashes, path);
  // A file growing or shrinking while read would give a git sha1 over the wrong header: name neither.
  if (read !== size) throw new Error(`${path} changed size while being hashed (${size} → ${read} bytes)`);
  return { size, sha256: sha256.digest('hex'), gitSha1: gitSha1.digest('hex') };
}

/** Whether `remote` (a tree-listing hash, LFS or not) names the content `local` measured. */
export function sameContent(remote: { oid: string; lfs: boolean; size: number }, local: HubContentHashes): boolean {
  return remote.size === local.size && remote.oid === (remote.lfs ? local.sha256 : local.gitSha1);
}
