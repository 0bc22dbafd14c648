/**
 * Names that come from outside — a Hub's headers and listings, a revision typed or recorded, a path inside a
 * dataset's rows — are data, never paths. Everything that turns such a name into a place on disk goes through
 * this module: a name is checked part by part *before* any join, and the joined place is then proven to stay
 * inside its root after symlinks are resolved, so neither `..`, an absolute path, a NUL byte nor a link planted
 * inside the root can lead a read or a write outside it.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from './errors.js';

/** A git commit id as the Hub names one: 40 lowercase hex digits. */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Characters no name from outside may hold: NUL and the other C0 controls, DEL. */
const CONTROL = /[\u0000-\u001f\u007f]/;

function shown(text: string): string {
  return JSON.stringify(text); // NUL and other controls print as escapes, never raw into a terminal
}

/** Throws unless `value` is a 40-hex commit id; `what` names where it came from. */
export function checkCommitSha(value: unknown, what: string): string {
  if (typeof value !== 'string' || !COMMIT_SHA.test(value)) {
    throw new UserError(`${what}: ${typeof value === 'string' ? shown(value) : String(value)} is not a 40-hex commit id`);
  }
  return value;
}

/**
 * Checks a relative path from outside component by component: no empty part (so no leading, trailing or double
 * slash), no `.` or `..`, no backslash (a separator on Windows and in zip-style names), no NUL or control
 * character, not absolute. Returns its parts.
 */
export function checkRelativePath(value: unknown, what: string): string[] {
  if (typeof value !== 'string' || value === '') throw new UserError(`${what}: a path must be a non-empty string`);
  const why = (reason: string) => new UserError(`${what}: path ${shown(value)} ${reason}`);
  if (CONTROL.test(value)) throw why('holds a NUL or control character');
  if (value.includes('\\')) throw why('holds a backslash');
  if (isAbsolute(value) || /^[A-Za-z]:/.test(value)) throw why('is absolute');
  const parts = value.split('/');
  if (parts.some((part) => part === '')) throw why('has an empty part (a leading, trailing or double slash)');
  if (parts.some((part) => part === '.' || part === '..')) throw why("has a '.' or '..' part");
  return parts;
}

/**
 * A branch, tag or commit from outside, by git's ref-name rules (git-check-ref-format): no `..`, no part that
 * starts with `.` or ends with `.lock`, no control character, space, `~ ^ : ? * [ \`, no `@{`, not `@`, no empty
 * part, no trailing `.`. A name that passes is also a safe relative path, which is how huggingface_hub stores it
 * under `refs/` (so both share one cache).
 */
export function checkRevision(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new UserError(`${what}: a revision must be a non-empty string`);
  const why = (reason: string) => new UserError(`${what}: revision ${shown(value)} ${reason}`);
  if (CONTROL.test(value)) throw why('holds a NUL or control character');
  if (/[\s~^:?*[\\]/.test(value)) throw why('holds a space or one of ~ ^ : ? * [ \\');
  if (value.includes('..')) throw why("holds '..'");
  if (value.includes('@{') || value === '@') throw why("is '@' or holds '@{'");
  if (value.startsWith('/') || value.endsWith('/') || value.includes('//')) throw why('has an empty part (a leading, trailing or double slash)');
  if (value.endsWith('.')) throw why("ends with '.'");
  if (value.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) throw why("has a part starting with '.' or ending with '.lock'");
  if (value.length > 255) throw why('is longer than 255 characters');
  return value;
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * The real path of `path`: the deepest part of it that exists with every symlink resolved, plus what lies below
 * it as written. A dangling link is followed by hand (realpath refuses it), since a write through it would
 * create its target wherever it points.
 */
function realpathOfExisting(path: string, depth = 0): string {
  if (depth > 40) throw new UserError(`${shown(path)}: too many levels of symbolic links`);
  let existing = resolve(path);
  const below: string[] = [];
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) break;
      below.unshift(existing.slice(parent.length).replace(/^[/\\]/, ''));
      existing = parent;
    }
  }
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    const dangling = lstatSync(existing, { throwIfNoEntry: false });
    real = dangling?.isSymbolicLink() ? realpathOfExisting(resolve(dirname(existing), readlinkSync(existing)), depth + 1) : existing;
  }
  return below.length ? join(real, ...below) : real;
}

/**
 * Throws unless `path` lies inside `root` as written and, once every symlink on the way is resolved (the part that
 * does not exist yet is taken as written), inside `realRoot` — `root` itself unless a caller's layout links out of
 * it on purpose (a Hugging Face snapshot's files are links into its repository's blobs/). Run it before each write,
 * link or read of a place built from outside names.
 */
export function assertInside(root: string, path: string, what: string, realRoot = root): string {
  if (!within(resolve(root), resolve(path)) || !within(realpathOfExisting(realRoot), realpathOfExisting(path))) {
    throw new UserError(`${what}: ${shown(path)} would lead outside ${root}; refused`);
  }
  return path;
}

/** `root/relativePath` after checking the name part by part and proving the result stays inside `root` (see assertInside). */
export function resolveInside(root: string, relativePath: unknown, what: string, realRoot = root): string {
  const parts = checkRelativePath(relativePath, what);
  return assertInside(root, join(root, ...parts), what, realRoot);
}
