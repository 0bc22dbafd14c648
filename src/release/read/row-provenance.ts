/**
 * What every row of a release must say about how it was made, taken from the manifest: the run's seed, the
 * attack parameters' hash, the target model and its weights. `verify` holds each row to it, so rows from
 * another run cannot sit in a release whose manifest describes this one.
 */
import { canonicalJson } from '../../core/canonical-json.js';
import { sha256Hex } from '../../core/digest.js';
import type { ReleaseManifest } from '../release-manifest.js';
import type { ReleaseRow } from '../release-row.js';

export type RowProvenance = Pick<ReleaseRow, 'seed' | 'paramsHash' | 'targetModel' | 'weightsSha256'>;

/**
 * The provenance the manifest implies. The rows' params hash is the hash of the attack parameters recorded in
 * the config (`config.attack.params`, as generate writes it); a release whose config records no parameters
 * must carry the manifest's run hash (its `paramsHash`) in its rows instead.
 */
export function expectedRowProvenance(manifest: ReleaseManifest): RowProvenance {
  const params = (manifest.config as { attack?: { params?: unknown } } | null)?.attack?.params;
  const paramsHash = params !== null && typeof params === 'object' ? sha256Hex(canonicalJson(params)) : manifest.paramsHash;
  return { seed: manifest.seed, paramsHash, targetModel: manifest.model.id, weightsSha256: manifest.model.weightsSha256 };
}

/** The fields where `row` contradicts `expected`, each as "seed 5, the manifest says 7". */
export function provenanceContradictions(row: RowProvenance, expected: RowProvenance): { field: keyof RowProvenance; problem: string }[] {
  const out: { field: keyof RowProvenance; problem: string }[] = [];
  for (const field of ['seed', 'paramsHash', 'targetModel', 'weightsSha256'] as const) {
    if (row[field] !== expected[field]) out.push({ field, problem: `${field} ${JSON.stringify(row[field])}, the manifest says ${JSON.stringify(expected[field])}` });
  }
  return out;
}
