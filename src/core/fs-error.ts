/**
 * Node's filesystem errors (ENOENT, ELOOP, EACCES, ENOSPC, …) in words a user can act on. Their own messages
 * ("ENOENT: no such file or directory, stat '/x'") are terse and, thrown raw, reach the user with a stack.
 */

/** What each errno means for the file it names. */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory (or a dangling symlink)',
  ELOOP: 'too many levels of symbolic links (a symlink loop)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'already exists',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory, not a file',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  EBUSY: 'resource busy',
};

export interface FsError extends Error {
  code: string;
  path?: string;
  dest?: string;
  syscall?: string;
}

/** True for an error the filesystem raised (it carries an errno code and names a syscall). */
export function isFsError(error: unknown): error is FsError {
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as Partial<FsError>;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof syscall === 'string';
}

/** The errno in words: "too many levels of symbolic links (a symlink loop)". */
export function fsErrorReason(error: FsError): string {
  return REASONS[error.code] ?? `${error.code.toLowerCase()} (${error.message.replace(/^E[A-Z0-9]+: /, '')})`;
}

/** One line naming the file: "/data/x.png: permission denied (open)". */
export function describeFsError(error: FsError): string {
  const where = error.path ?? '(unnamed file)';
  const to = error.dest ? ` → ${error.dest}` : '';
  return `${where}${to}: ${fsErrorReason(error)} (${error.syscall})`;
}

