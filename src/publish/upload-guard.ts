/**
 * A `fetch` wrapper that checks, at the moment @huggingface/hub sends them, that the bytes going up are the
 * bytes advood listed and compared: the LFS batch names every object by the sha256 the library has just
 * computed from the file, and the commit names each LFS file by that oid and carries regular files inline.
 * A file rewritten between the listing and the upload fails here, before its commit exists.
 */
import { sha256Hex } from '../core/digest.js';
import { UserError } from '../core/errors.js';
import { hubContentHashes } from '../hub/content-hash.js';
import { changedUnderPush, type PushFile } from './hub-repo-layout.js';

function bodyText(body: RequestInit['body']): string | null {
  return typeof body === 'string' ? body : null;
}

async function nameTheChangedFile(files: readonly PushFile[]): Promise<UserError> {
  for (const file of files) {
    const now = await hubContentHashes(file.localPath).catch(() => null);
    if (!now || now.sha256 !== file.sha256) return changedUnderPush(file.localPath, file.sha256, now?.sha256 ?? 'unreadable');
  }
  return new UserError(`a file changed while being pushed (the upload names content none of ${files.map((f) => f.localPath).join(', ')} has); it was not committed — rerun the push`);
}

export function guardUploads(files: readonly PushFile[], inner: typeof fetch): typeof fetch {
  const byPath = new Map(files.map((f) => [f.repoPath, f]));
  const known = new Set(files.map((f) => f.sha256));
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const text = init?.method === 'POST' ? bodyText(init.body) : null;
    if (text !== null && url.endsWith('/info/lfs/objects/batch')) {
      const objects = (JSON.parse(text) as { objects?: { oid: string }[] }).objects ?? [];
      if (objects.some((o) => !known.has(o.oid))) throw await nameTheChangedFile(files);
    } else if (text !== null && /\/api\/datasets\/.+\/commit\/[^/]+$/.test(new URL(url).pathname)) {
      for (const line of text.split('\n')) {
        const { key, value } = JSON.parse(line) as { key: string; value: { path?: string; oid?: string; content?: string } };
        const file = value.path === undefined ? undefined : byPath.get(value.path);
        if (!file) continue;
        const sent = key === 'lfsFile' ? value.oid : key === 'file' ? sha256Hex(Buffer.from(value.content ?? '', 'base64')) : undefined;
        if (sent !== undefined && sent !== file.sha256) throw changedUnderPush(file.localPath, file.sha256, sent);
      }
    }
    return inner(input, init);
  };
}
