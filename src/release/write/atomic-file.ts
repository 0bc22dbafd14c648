/**
 * Crash-safe small-file writes for the release code; the implementation (exclusive random temp file, fsync,
 * rename, never through a symlink) is core/safe-write.ts.
 */
export { fsyncDirectory, writeFileSafely as writeFileAtomic } from '../../core/safe-write.js';
