/**
 * Where a command may write: never into a finished release. A release's manifest covers every file of its
 * folder, so one more file there (an evaluation report, an export, a lock) makes it fail verification; this is
 * the one check every writing command makes, before it writes anything.
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { MANIFEST_FILE, MANIFEST_FORMAT } from './release-manifest.js';

/**
 * Whether `dir` holds the manifest of an advood release. Its format string is enough: a damaged manifest still
 * marks a release (one to repair, not to write into), while an unrelated manifest.json does not.
 */
export function holdsReleaseManifest(dir: string): boolean {
  const path = join(dir, MANIFEST_FILE);
  try {
    return lstatSync(path).isFile() && readFileSync(path, 'utf8').includes(`"${MANIFEST_FORMAT}"`);
  } catch {
    return false; // absent, `dir` a file, or unreadable: nothing that can be told to be a release
  }
}

/**
 * The release folder that `path` is or lies inside (the nearest, by real path, so a symlinked spelling counts),
 * or null. With `self: false` only its parents count: `generate --out` names the release it writes.
 */
export function enclosingRelease(path: string, options: { self?: boolean } = {}): string | null {
  let dir = realPathOf(path);
  if (options.self === false) dir = dirname(dir);
  for (;;) {
    if (holdsReleaseManifest(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Refuses, as one line naming both folders, an output that is or lies inside a release. */
export function refuseOutputInRelease(out: string, options: { flag?: string; self?: boolean } = {}): void {
  const release = enclosingRelease(out, options);
  if (release === null) return;
  const where = release === realPathOf(out) ? 'is the release' : 'is inside the release';
  throw new UserError(`${options.flag ?? '--out'} ${out} ${where} ${release}; write elsewhere (a file added there would make the release fail verification)`);
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest when it does not exist yet. */
export function realPathOf(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
  }
}
