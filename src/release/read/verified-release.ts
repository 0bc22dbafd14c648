/**
 * The one way advood's readers open a release for use: verify it first (every byte against the manifest, and
 * what the manifest says against the data), refuse it when that fails, and name its content by the digests
 * of the bytes verify actually read. A cache keyed by that name cannot be filled by a tampered copy and then
 * served for the genuine release, as a key made of the manifest's own hash could.
 *
 * The release returned reads against those same digests (openRelease's `verified`): a file swapped after this
 * verification is refused when it is read, so the name can never stand for bytes it was not measured from.
 */
import { UserError } from '../../core/errors.js';
import { sha256Hex } from '../../core/digest.js';
import { openRelease, type OpenedRelease } from './release-reader.js';
import { verifyRelease, type VerifyOptions, type VerifyReport } from './release-verify.js';

export interface VerifiedRelease {
  release: OpenedRelease;
  /** sha256 over the measured (path, size, sha256) of every file of the release. */
  contentSha256: string;
}

/** Throws a UserError naming the first problem (and how to see them all) unless the report is clean. */
export function refuseUnverified(dir: string, report: VerifyReport, use: string): void {
  if (report.ok) return;
  const first = report.problems[0]!;
  const more = report.problems.length > 1 ? ` and ${report.problems.length - 1} more problem(s)` : '';
  throw new UserError(`${dir} does not verify (${first.file}: ${first.problem}${more}; see \`advood release verify ${dir}\`); ${use}`);
}

export async function openVerifiedRelease(dir: string, use = 'not using it', options: VerifyOptions = {}): Promise<VerifiedRelease> {
  const report = await verifyRelease(dir, options);
  refuseUnverified(dir, report, use);
  const contentSha256 = sha256Hex(report.measured.map((f) => `${f.path}\t${f.size}\t${f.sha256}`).join('\n'));
  return { release: await openRelease(dir, report.measured), contentSha256 };
}
