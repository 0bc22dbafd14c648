/** Where an export may go: next to a release, never into it, since the manifest must keep covering every file there. */
import { readdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { acquireOutputLock, checkOutputFolder, LOCK_FILE } from '../../core/output-lock.js';
import { refuseOutputInRelease } from '../release-folder.js';

export interface ExportOptions {
  /** Write into a non-empty --out, replacing files of the same name (default: refuse). */
  overwrite?: boolean;
}

/** An export writes into a new or empty folder unless told to overwrite: files already there are not its to replace. */
export function refuseNonEmptyOutput(out: string, options: ExportOptions = {}): void {
  checkOutputFolder(out);
  let entries: string[];
  try {
    entries = readdirSync(out).filter((name) => name !== LOCK_FILE); // the lock is this export's own
  } catch {
    return; // absent: it will be created
  }
  if (entries.length > 0 && !options.overwrite) {
    throw new UserError(`--out ${out} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); pass --overwrite to write over it, or choose an empty folder`);
  }
}

export function refuseInsideRelease(dir: string, out: string): void {
  const rel = relative(resolve(dir), resolve(out));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new UserError(`--out ${out} is inside the release ${dir}; export next to it instead (files there would not be in the manifest)`);
  }
}

/**
 * Runs `write` with `out` checked (not in a release, empty unless overwriting) and locked throughout, so that a
 * second export into the same folder fails fast rather than interleaving its files with the first's.
 */
export async function writeExport<T>(dir: string, out: string, options: ExportOptions, write: () => Promise<T>): Promise<T> {
  refuseInsideRelease(dir, out);
  refuseOutputInRelease(out);
  checkOutputFolder(out);
  const lock = acquireOutputLock(out, 'advood release export');
  try {
    refuseNonEmptyOutput(out, options);
    return await write();
  } finally {
    lock.release();
  }
}

/** Default export folder: a sibling of the release, e.g. `my-release-parquet`. */
export function defaultExportDir(dir: string, kind: string): string {
  return `${resolve(dir)}-${kind}`;
}
