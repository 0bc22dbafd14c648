/**
 * Whether a path is a directory to descend into. An entry that cannot be stat'ed (a dangling symlink, a symlink
 * loop, no permission) is not one: a folder listing treats it like a file, so that loading it fails as that one
 * item, named and skipped, instead of the listing failing for the whole folder; a source sniffer simply does not
 * match it.
 */
import { statSync } from 'node:fs';

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
