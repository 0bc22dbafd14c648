/**
 * An advisory lock per output folder, so that two runs writing the same folder fail fast with one line
 * instead of racing on each other's temp files. The lock is a file created exclusively in the folder holding
 * the owner's pid and host; a lock whose process is gone (a kill -9, a crash) is stale and is taken over,
 * so an interrupted run can always be resumed.
 */
import { closeSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errorMessage, UserError } from './errors.js';
import { createExclusive, writeAll } from './safe-write.js';

export const LOCK_FILE = '.advood.lock';

export interface OutputLock {
  readonly path: string;
  release(): void;
}

interface LockOwner {
  pid: number;
  host: string;
  /** The command holding it, for the refusal's message (absent in locks written before it was recorded). */
  what?: string;
}

/** Refuses an output path that exists but is not a folder, before any work is done. */
export function checkOutputFolder(dir: string, flag = '--out'): void {
  let isFolder: boolean;
  try {
    isFolder = lstatSync(dir).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UserError(`${flag} ${dir}: part of its path is a file, not a folder`);
    return; // absent: it will be created
  }
  if (!isFolder) throw new UserError(`${flag} ${dir} exists and is not a folder (a file or a symlink); name a new or existing folder`);
}

export function acquireOutputLock(dir: string, what: string): OutputLock {
  checkOutputFolder(dir);
  mkdirSync(dir, { recursive: true });
  return takeLock(join(dir, LOCK_FILE), dir, what, '--out');
}

/**
 * The lock of one output file (`advood features --out x.arrow`): a dot file beside it. Locking the file's folder
 * instead would serialise unrelated runs that write their files side by side (train.arrow and test.arrow).
 */
export function acquireOutputFileLock(file: string, what: string): OutputLock {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  return takeLock(join(dir, `.${basename(file)}${LOCK_FILE}`), file, what, '--out');
}

function takeLock(path: string, holder: string, what: string, flag: string): OutputLock {
  const owner: LockOwner = { pid: process.pid, host: hostname(), what };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = createExclusive(path);
      try {
        writeAll(fd, Buffer.from(JSON.stringify(owner) + '\n'));
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        path,
        release: () => {
          if (released) return;
          released = true;
          if (sameOwner(readOwner(path), owner)) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readOwner(path);
    const holding = current?.what ?? what;
    if (current && sameOwner(current, owner)) {
      // This very process holds it (a pipeline pointing one of its own sub-writers at its folder): waiting would never end.
      throw new UserError(`${holder} is in use by another ${holding} in this same process (pid ${current.pid}); each output needs a folder of its own`);
    }
    if (current && isAlive(current)) {
      throw new UserError(`${holder} is in use by another ${holding} (pid ${current.pid} on ${current.host}); wait for it to finish or use another ${flag}`);
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new UserError(`${holder}: could not take the lock ${basename(path)}; another run keeps taking it`);
}

/** What a reader did with a lock left in a folder whose writer has finished (see clearFinishedLock). */
export type FinishedLock =
  | { state: 'removed'; pid: number | null }
  | { state: 'held'; pid: number; host: string }
  | { state: 'kept'; reason: string };

/**
 * For readers of a folder whose writer is known to be done (a release whose manifest is sealed: the writer
 * seals it last): a lock there is what a run killed between sealing and unlocking left behind. It is removed,
 * unless its owner is a process still running on this host (a writer that just finished and is about to drop
 * it), which is left to it. A lock from another host is removed too: nothing can be writing a sealed release.
 * Null when there is no lock. A folder that cannot be written (read-only media) keeps it.
 */
export function clearFinishedLock(dir: string): FinishedLock | null {
  const path = join(dir, LOCK_FILE);
  if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) return null;
  const owner = readOwner(path);
  if (owner && owner.host === hostname() && isAlive(owner)) return { state: 'held', pid: owner.pid, host: owner.host };
  try {
    rmSync(path, { force: true });
  } catch (error) {
    return { state: 'kept', reason: errorMessage(error) };
  }
  return { state: 'removed', pid: owner?.pid ?? null };
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (!Number.isSafeInteger(owner.pid) || typeof owner.host !== 'string') return null;
    return { pid: owner.pid!, host: owner.host, ...(typeof owner.what === 'string' && /^[\w .-]{1,60}$/.test(owner.what) && { what: owner.what }) };
  } catch {
    return null;
  }
}

function sameOwner(a: LockOwner | null, b: LockOwner): boolean {
  return a !== null && a.pid === b.pid && a.host === b.host;
}

/** A lock from another host cannot be checked, so it counts as held; on this host, by its pid. */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

