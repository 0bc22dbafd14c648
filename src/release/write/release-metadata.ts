/**
 * Writes everything around the data shards of a finished release: dataset_info.json, state.json, the README.md
 * card and, last, manifest.json (whose presence marks the release complete). Used by the writer's close, by
 * merge and by `release card`.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { sha256Hex } from '../../core/digest.js';
import { buildState, DATASET_INFO_FILE, releaseFingerprint, serializeDatasetInfo, serializeState, STATE_FILE } from '../hf-layout.js';
import { CARD_FILE, type CardSource, renderCard } from '../release-card.js';
import { releaseFeatures } from '../release-columns.js';
import { verifyRelease } from '../read/release-verify.js';
import { refuseUnverified } from '../read/verified-release.js';
import {
  canonicalManifestText,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ManifestExtras,
  type ManifestFileEntry,
  readManifest,
  type ReleaseManifest,
  sealManifest,
  type ShardSpec,
} from '../release-manifest.js';
import type { ReleaseSchemaInfo } from '../release-columns.js';
import type { ReleaseError } from '../release-row.js';

export interface FinishedShard {
  filename: string;
  rows: number;
  sha256: string;
  size: number;
}

export interface ReleaseDescription extends ManifestExtras {
  config: unknown;
  paramsHash: string;
  schema: ReleaseSchemaInfo;
  shard: ShardSpec | null;
  mergedFrom: ReleaseManifest['mergedFrom'];
  errors: ReleaseError[];
  itemsConsumed: number;
}

export function writeReleaseMetadata(dir: string, description: ReleaseDescription, shards: readonly FinishedShard[]): ReleaseManifest {
  const features = releaseFeatures(description.schema);
  const fingerprint = releaseFingerprint(shards.map((s) => s.sha256));
  const datasetInfo = serializeDatasetInfo({
    citation: description.card.citation,
    description: description.card.description,
    features,
    homepage: description.card.homepage,
    license: description.card.license,
  });
  const state = serializeState(buildState(shards.map((s) => s.filename), fingerprint));
  const source: CardSource = {
    format: MANIFEST_FORMAT,
    command: description.command,
    seed: description.seed,
    versions: description.versions,
    model: description.model,
    card: description.card,
    config: description.config,
    paramsHash: description.paramsHash,
    schema: description.schema,
    shard: description.shard,
    mergedFrom: description.mergedFrom,
    counts: {
      rows: shards.reduce((n, s) => n + s.rows, 0),
      errors: description.errors.length,
      itemsConsumed: description.itemsConsumed,
      shards: shards.length,
    },
    shards: shards.map((s) => ({ filename: s.filename, rows: s.rows })),
    errors: description.errors,
  };
  const card = renderCard(source, { features, dataFilesGlob: 'data-*.arrow', datasetBytes: shards.reduce((n, s) => n + s.size, 0) });

  const files: ManifestFileEntry[] = shards.map((s) => ({ path: s.filename, size: s.size, sha256: s.sha256 }));
  for (const [name, text] of [[DATASET_INFO_FILE, datasetInfo], [STATE_FILE, state], [CARD_FILE, card]] as const) {
    writeFileAtomic(join(dir, name), text);
    files.push(textEntry(name, text));
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = sealManifest({ ...source, files });
  writeFileAtomic(join(dir, MANIFEST_FILE), canonicalManifestText(manifest));
  return manifest;
}

/**
 * `advood release card DIR`: rebuilds README.md from the manifest and updates the manifest's entry for it.
 * Re-sealing vouches for the whole release, so it must verify first; only problems with the card itself,
 * which is being rebuilt, are let through.
 */
export async function rewriteCard(dir: string): Promise<ReleaseManifest> {
  const report = await verifyRelease(dir);
  const problems = report.problems.filter((p) => p.file !== CARD_FILE);
  refuseUnverified(dir, { ...report, ok: problems.length === 0, problems }, 'not re-sealing it (fix or regenerate it first)');
  const { manifest } = readManifest(dir);
  const { files, manifestSha256: _, ...source } = manifest;
  const dataBytes = manifest.shards.reduce((n, s) => n + (files.find((f) => f.path === s.filename)?.size ?? statSync(join(dir, s.filename)).size), 0);
  const card = renderCard(source, { features: releaseFeatures(manifest.schema), dataFilesGlob: 'data-*.arrow', datasetBytes: dataBytes });
  writeFileAtomic(join(dir, CARD_FILE), card);
  const updated = files.filter((f) => f.path !== CARD_FILE).concat(textEntry(CARD_FILE, card));
  updated.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const sealed = sealManifest({ ...source, files: updated });
  writeFileAtomic(join(dir, MANIFEST_FILE), canonicalManifestText(sealed));
  return sealed;
}

function textEntry(path: string, text: string): ManifestFileEntry {
  const bytes = Buffer.from(text, 'utf8');
  return { path, size: bytes.length, sha256: sha256Hex(bytes) };
}
