/**
 * manifest.json: what a release holds (sha256 and size of every other file) and how it was made (command,
 * resolved config, run hash, seed, model, versions, counts, the error table). It protects itself too:
 * `manifestSha256` is the sha256 of its canonical text with that field empty, and the file must be exactly
 * that canonical text, so a flipped byte anywhere in the release is caught by `verify`.
 */
import { JsonKeyError, parseGuardedJson } from '../core/json-guard.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { sha256Hex } from '../core/digest.js';
import type { ReleaseSchemaInfo } from './release-columns.js';
import type { ReleaseError } from './release-row.js';
import { sortKeysDeep } from '../core/canonical-json.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'advood-release/1';

export interface ShardSpec {
  /** 0-based index of this part of the source. */
  index: number;
  count: number;
}

/** Words for the dataset card; the CLI fills them from the source and the user's flags. */
export interface CardInfo {
  prettyName: string;
  description: string;
  /** SPDX-like id the Hub knows (e.g. "mit", "cc-by-4.0", "other"). */
  license: string;
  /** Hub ids or names of the datasets the source images come from. */
  sourceDatasets: string[];
  citation: string;
  homepage: string;
}

/** What the caller of `close` (generate, merge) knows that the writer does not. */
export interface ManifestExtras {
  /** The exact command line that produced the release. */
  command: string;
  seed: number;
  /** Package and runtime versions (advood, node, tfjs, backend…). */
  versions: Record<string, string>;
  model: { id: string; weightsSha256: string };
  card: CardInfo;
}

export interface ManifestFileEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface ManifestShardEntry {
  filename: string;
  rows: number;
}

export interface ReleaseManifest extends ManifestExtras {
  format: typeof MANIFEST_FORMAT;
  /**
   * How the release was made, as its writer recorded it (advood's generate: src/pipeline/generation-config.ts).
   * Opaque here but for one rule of the format: `config.attack.params`, when an object, is what every row's
   * params_hash hashes (row-provenance.ts).
   */
  config: unknown;
  /**
   * The *run* hash (src/pipeline/run-hash.ts: the preset's params hash, seed, target and weights, ID and OOD
   * sources, clean-image flag and objective), which decides whether an interrupted run may be resumed — not the
   * preset's params hash that each row's params_hash holds. The key keeps its name so releases' bytes do not change.
   */
  paramsHash: string;
  schema: ReleaseSchemaInfo;
  /** The part of the source this release covers, or null for all of it. */
  shard: ShardSpec | null;
  /** For a merged release: the parts it was made from, in order. */
  mergedFrom: { name: string; shard: ShardSpec | null; manifestSha256: string }[];
  counts: { rows: number; errors: number; itemsConsumed: number; shards: number };
  shards: ManifestShardEntry[];
  errors: ReleaseError[];
  files: ManifestFileEntry[];
  manifestSha256: string;
}

/** The one text form of a manifest: keys sorted at every level, 2-space indent, trailing newline. */
export function canonicalManifestText(manifest: ReleaseManifest): string {
  return JSON.stringify(sortKeysDeep(manifest), null, 2) + '\n';
}

export function sealManifest(manifest: Omit<ReleaseManifest, 'manifestSha256'>): ReleaseManifest {
  const unsealed = { ...manifest, manifestSha256: '' } as ReleaseManifest;
  return { ...unsealed, manifestSha256: sha256Hex(canonicalManifestText(unsealed)) };
}

/** Problems with the manifest's own integrity (empty when intact). */
export function manifestSelfCheck(text: string, manifest: ReleaseManifest): string[] {
  const problems: string[] = [];
  if (canonicalManifestText(manifest) !== text) problems.push('is not in canonical form (edited or corrupted)');
  const expected = sha256Hex(canonicalManifestText({ ...manifest, manifestSha256: '' }));
  if (manifest.manifestSha256 !== expected) problems.push(`manifestSha256 ${manifest.manifestSha256} does not match its content (${expected})`);
  return problems;
}

export interface LoadedManifest {
  manifest: ReleaseManifest;
  text: string;
}

export function readManifest(dir: string): LoadedManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`${path}: cannot read the release manifest (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = parseGuardedJson(text);
  } catch (error) {
    throw new UserError(error instanceof JsonKeyError ? `${path}: ${error.message}` : `${path}: not valid JSON (${(error as Error).message})`);
  }
  return { manifest: checkManifestShape(parsed, path), text };
}

function checkManifestShape(value: unknown, path: string): ReleaseManifest {
  const m = value as Partial<ReleaseManifest> | null;
  const fail = (what: string): never => {
    throw new UserError(`${path}: ${what}`);
  };
  if (!m || typeof m !== 'object') fail('is not an object');
  if (m!.format !== MANIFEST_FORMAT) fail(`format is ${JSON.stringify(m!.format)}, expected "${MANIFEST_FORMAT}"`);
  if (!Array.isArray(m!.files)) fail('has no "files" list');
  if (!Array.isArray(m!.shards)) fail('has no "shards" list');
  if (!Array.isArray(m!.errors)) fail('has no "errors" table');
  if (!m!.schema || !Array.isArray(m!.schema.classNames)) fail('has no "schema"');
  if (!m!.counts || typeof m!.counts.rows !== 'number') fail('has no "counts"');
  for (const shard of m!.shards!) {
    if (typeof shard?.filename !== 'string' || !Number.isInteger(shard.rows)) fail('has a malformed shard entry');
  }
  for (const file of m!.files!) {
    if (typeof file?.path !== 'string' || typeof file.sha256 !== 'string' || !Number.isInteger(file.size)) fail('has a malformed file entry');
  }
  return m as ReleaseManifest;
}
