/**
 * A finished release met again by the command that made it: a Slurm task requeued after it finished (or any
 * rerun of a completed job) must succeed without work, or the array gets a failed task and its `afterok` merge
 * never starts. The release counts as this run's when its manifest names the same run (run-differences.ts) and
 * it verifies (every file's sha256, the rows); anything else is refused with one line, as before.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { verifyRelease } from '../read/release-verify.js';
import { MANIFEST_FILE, readManifest, type ReleaseManifest } from '../release-manifest.js';
import { JOURNAL_FILE } from './release-journal.js';
import { continueAdvice, type RunIdentity, runDifferences } from './run-differences.js';

/** The sealed release in `dir` when it is this run's and verifies; null when `dir` holds no sealed release. */
export async function finishedRunIn(dir: string, now: RunIdentity): Promise<ReleaseManifest | null> {
  // A journal beside a manifest is a close() that was interrupted: the writer finishes it.
  if (!existsSync(join(dir, MANIFEST_FILE)) || existsSync(join(dir, JOURNAL_FILE))) return null;
  const { manifest } = readManifest(dir);
  const differences = runDifferences(manifest, { ...now, shard: now.shard && now.shard.count > 1 ? now.shard : null });
  if (differences.length > 0) {
    throw new UserError(`${dir} already holds a finished release of a different configuration (${differences.join('; ')}); ${continueAdvice(manifest, differences, 'choose another output directory')}`);
  }
  const report = await verifyRelease(dir);
  if (!report.ok) {
    const first = report.problems[0]!;
    throw new UserError(`${dir} holds this run's finished release, but it does not verify (${first.file}: ${first.problem}); remove the folder and rerun`);
  }
  return manifest;
}
