/**
 * The run hash: what a release's bytes depend on. The release writer records it, and a run that resumes in
 * an existing directory must have the same one (else the rows would mix two different runs).
 */
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';

export interface RunIdentity {
  /** Hash of the resolved attack params. */
  paramsHash: string;
  seed: number;
  encoder: string;
  weights: string;
  /** Fingerprints of the ID and OOD sources as used (after --id-n / --n). */
  id: string;
  ood: string;
  includeCleanImage: boolean;
  /** Only for a detector objective (absent for the paper's, so existing run hashes stay valid). */
  objective?: { name: string; fitFingerprint: string };
}

export function runHash(identity: RunIdentity): string {
  return sha256Hex(canonicalJson(identity));
}
