/**
 * An advisory lock per output folder, so that two runs writing the same folder fail fast with one line
 * instead of racing on each other's temp files. The lock is a file created exclusively in the folder holding
 * the owner's pid and host; a lock whose process is gone (a kill -9, a crash) is stale and is taken over,
 * so an interrupted run can always be resumed.
 */
import { closeSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from './errors.js';
import { createExclusive, writeAll } from './safe-write.js';

export const LOCK_FILE = '.advood.lock';

export interface OutputLock {
  readonly path: string;
  release(): void;
}

interface LockOwner {
  pid: number;
  host: string;
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
  const path = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname() };
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
    if (current && isAlive(current)) {
      throw new UserError(`${dir} is in use by another ${what} (pid ${current.pid} on ${current.host}); wait for it to finish or use another --out`);
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new UserError(`${dir}: could not take the lock ${LOCK_FILE}; another run keeps taking it`);
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return Number.isSafeInteger(owner.pid) && typeof owner.host === 'string' ? { pid: owner.pid!, host: owner.host } : null;
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

