/**
 * Crash-safe, symlink-safe file replacement: the content goes to a temp file created exclusively (O_EXCL, a
 * random name, in the target's own folder, so the rename stays on one filesystem), is fsynced, and is renamed
 * over the target; then the folder is fsynced. After a kill -9 at any instant the target holds the old or the
 * new content, never half.
 *
 * Nothing here writes through a symlink: O_CREAT|O_EXCL fails on any existing name, a planted symlink
 * included, and rename replaces a symlink at the target itself rather than the file it points to. A failed
 * write removes its temp file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.js';

/** Opens a new file for writing; fails if anything (a file, a symlink) already has the name. */
export function createExclusive(path: string, mode = 0o644): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}

/** A fresh temp-file name next to `path`: a dot file, so listings and globs skip it. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

export function writeFileSafely(path: string, content: string | Uint8Array): void {
  writeFileSafelyBy(path, (fd) => writeAll(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content));
}

/**
 * The same atomic write (exclusive temp file, fsync, rename, fsync of the directory) where `write` produces the bytes
 * onto the temp file's descriptor piece by piece, so a large file is never held whole in memory (features files).
 */
export function writeFileSafelyBy(path: string, write: (fd: number) => void): void {
  if (isDirectory(path)) throw new UserError(`${path}: is a directory; name a file to write`);
  const temp = tempNameFor(path);
  const fd = createExclusive(temp);
  try {
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
