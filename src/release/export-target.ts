/** Where an export may go: next to a release, never into it, since the manifest must keep covering every file there. */
import { isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../core/errors.js';

export function refuseInsideRelease(dir: string, out: string): void {
  const rel = relative(resolve(dir), resolve(out));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new UserError(`--out ${out} is inside the release ${dir}; export next to it instead (files there would not be in the manifest)`);
  }
}

/** Default export folder: a sibling of the release, e.g. `my-release-parquet`. */
export function defaultExportDir(dir: string, kind: string): string {
  return `${resolve(dir)}-${kind}`;
}
