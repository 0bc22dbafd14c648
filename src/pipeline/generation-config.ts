/**
 * The generation config: what `generate` records in a release's manifest (`manifest.config`) about how it made
 * the release, so that evaluate can check it is given the same ID source and --adaptive can repeat the attack.
 * generate writes it through `generationConfig` and every reader takes it through `readGenerationConfig`:
 * nothing else casts `manifest.config`. The manifest is written with sorted keys (release-manifest.ts), so
 * this type's field order does not touch a release's bytes.
 *
 * The release layer keeps `config` opaque but for one rule of the release format: `config.attack.params`, when
 * an object, is what every row's params_hash hashes (src/release/read/row-provenance.ts), so `verify` can hold rows
 * to their manifest without knowing this type.
 */
import type { AttackParams, ResolvedAttackPreset } from '../../attacks/attack-params.js';
import type { ReleaseManifest } from '../release/release-manifest.js';
import type { DetectorObjectiveRecord } from './detector-objective.js';

export interface GenerationConfig {
  /** The preset by name and file, and its params after every override. */
  attack: { preset: string; origin: string; params: AttackParams };
  /** The target model's encoder id. */
  target: string;
  /** The ID source as given (pinned to a commit for hf://), and its first-N. */
  id: string;
  idN: number | null;
  /**
   * target_index counts items of this source; evaluate checks it is given the same source. Always
   * written; absent only in releases made before advood recorded it.
   */
  idSource?: { fingerprint: string };
  /** The OOD source attacked (pinned), and its first-N. */
  ood: string;
  n: number | null;
  seed: number;
  /** Only for a detector objective: absent for the paper's, so that its releases stay byte-identical to earlier ones. */
  objective?: DetectorObjectiveRecord;
}

export interface GenerationConfigInputs {
  preset: ResolvedAttackPreset;
  target: string;
  id: string;
  idN?: number;
  idFingerprint: string;
  ood: string;
  n?: number;
  seed: number;
  objective?: DetectorObjectiveRecord | null;
}

/** The one writer: the config as generate records it. */
export function generationConfig(inputs: GenerationConfigInputs): GenerationConfig {
  const { preset } = inputs;
  return {
    attack: { preset: preset.name, origin: preset.origin, params: preset.params },
    target: inputs.target,
    id: inputs.id,
    idN: inputs.idN ?? null,
    idSource: { fingerprint: inputs.idFingerprint },
    ood: inputs.ood,
    n: inputs.n ?? null,
    seed: inputs.seed,
    ...(inputs.objective && { objective: inputs.objective }),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The one reader: the manifest's config when it is one generate wrote (its attack params, OOD source and seed,
 * and a well-formed objective if any), else null (a release assembled by other means, such as the test fixtures).
 * The manifest has been verified by then, so the config is the one its writer sealed.
 */
export function readGenerationConfig(manifest: ReleaseManifest): GenerationConfig | null {
  const config = manifest.config;
  if (!isObject(config) || !isObject(config.attack) || !isObject(config.attack.params)) return null;
  if (typeof config.ood !== 'string' || typeof config.seed !== 'number') return null;
  if (config.objective !== undefined && !(isObject(config.objective) && typeof config.objective.detector === 'string')) return null;
  if (config.idSource !== undefined && !(isObject(config.idSource) && typeof config.idSource.fingerprint === 'string')) return null;
  return config as unknown as GenerationConfig;
}
