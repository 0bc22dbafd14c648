/**
 * `advood release verify`: recomputes every sha256 and size in the manifest, checks the manifest's own seal,
 * that the directory holds exactly the listed files, that state.json and dataset_info.json say what the format
 * requires, and that every shard parses as an Arrow stream with the expected schema, metadata and row count.
 * Problems are collected, each naming its file, rather than stopping at the first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Schema } from 'apache-arrow';
import { errorMessage } from '../runtime/errors.js';
import { digestFile, sha256Hex } from './file-digest.js';
import { DATASET_INFO_FILE, resolveReleaseFile, shardFileName, STATE_FILE } from './hf-layout.js';
import { readShardBatches } from './release-reader.js';
import { releaseArrowSchema, releaseFeatures } from './release-columns.js';
import { MANIFEST_FILE, manifestSelfCheck, readManifest, type ReleaseManifest } from './release-manifest.js';

export interface VerifyProblem {
  file: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  filesChecked: number;
  rowsChecked: number;
  /**
   * sha256 and size of every file as verify read it (the manifest first, then its listed files in order):
   * what a cache of this release may be keyed by, never the manifest's claims about itself.
   */
  measured: { path: string; sha256: string; size: number }[];
}

export async function verifyRelease(dir: string): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const report = (file: string, problem: string) => problems.push({ file, problem });
  const measured: VerifyReport['measured'] = [];
  let manifest: ReleaseManifest;
  try {
    const loaded = readManifest(dir);
    manifest = loaded.manifest;
    for (const problem of manifestSelfCheck(loaded.text, manifest)) report(MANIFEST_FILE, problem);
    measured.push({ path: MANIFEST_FILE, sha256: sha256Hex(loaded.text), size: Buffer.byteLength(loaded.text) });
  } catch (error) {
    report(MANIFEST_FILE, errorMessage(error).replace(`${join(dir, MANIFEST_FILE)}: `, ''));
    return { ok: false, problems, filesChecked: 0, rowsChecked: 0, measured };
  }

  // Every listed file: a plain name inside the release, present, with the recorded size and sha256.
  const listed = new Set<string>();
  let filesChecked = 0;
  for (const entry of manifest.files) {
    let path: string;
    try {
      path = resolveReleaseFile(dir, entry.path, MANIFEST_FILE);
    } catch (error) {
      report(String(entry.path), errorMessage(error));
      continue;
    }
    listed.add(entry.path);
    try {
      const digest = await digestFile(path);
      measured.push({ path: entry.path, ...digest });
      filesChecked++;
      if (digest.size !== entry.size) report(entry.path, `size ${digest.size} bytes, manifest says ${entry.size}`);
      if (digest.sha256 !== entry.sha256) report(entry.path, `sha256 ${digest.sha256} does not match the manifest (${entry.sha256})`);
    } catch (error) {
      report(entry.path, `listed in the manifest but cannot be read (${errorMessage(error)})`);
    }
  }
  for (const name of readdirSync(dir)) {
    if (name !== MANIFEST_FILE && !listed.has(name)) report(name, 'is in the release directory but not in the manifest (extra file)');
  }

  // The shard list, three ways: manifest.shards, the expected data-i-of-N names, state.json.
  const count = manifest.shards.length;
  if (manifest.counts.shards !== count) report(MANIFEST_FILE, `counts.shards is ${manifest.counts.shards} but ${count} shards are listed`);
  manifest.shards.forEach((shard, i) => {
    if (shard.filename !== shardFileName(i, count)) report(MANIFEST_FILE, `shard ${i} is named ${JSON.stringify(shard.filename)}, expected ${shardFileName(i, count)}`);
    if (!listed.has(shard.filename)) report(shard.filename, 'shard has no sha256 entry in the manifest files');
  });
  checkState(dir, manifest, report);
  checkDatasetInfo(dir, manifest, report);
  const rowsTotal = manifest.shards.reduce((n, s) => n + s.rows, 0);
  if (manifest.counts.rows !== rowsTotal) report(MANIFEST_FILE, `counts.rows is ${manifest.counts.rows} but the shards hold ${rowsTotal}`);
  if (manifest.counts.errors !== manifest.errors.length) report(MANIFEST_FILE, `counts.errors is ${manifest.counts.errors} but the error table has ${manifest.errors.length} rows`);

  // Each shard parses with the expected schema and row count.
  const expected = releaseArrowSchema(manifest.schema);
  let rowsChecked = 0;
  for (const shard of manifest.shards) {
    let path: string;
    try {
      path = resolveReleaseFile(dir, shard.filename, MANIFEST_FILE);
    } catch {
      continue; // reported above
    }
    try {
      const reader = await readShardBatches(path);
      let rows = 0;
      let schemaChecked = false;
      for await (const batch of reader) {
        if (!schemaChecked) {
          for (const problem of schemaDifferences(batch.schema, expected)) report(shard.filename, problem);
          schemaChecked = true;
        }
        rows += batch.numRows;
      }
      if (!schemaChecked && reader.schema) for (const problem of schemaDifferences(reader.schema, expected)) report(shard.filename, problem);
      rowsChecked += rows;
      if (rows !== shard.rows) report(shard.filename, `holds ${rows} rows, manifest says ${shard.rows}`);
    } catch (error) {
      report(shard.filename, `cannot be read as an Arrow IPC stream (${errorMessage(error)})`);
    }
  }
  return { ok: problems.length === 0, problems, filesChecked, rowsChecked, measured };
}

function checkState(dir: string, manifest: ReleaseManifest, report: (file: string, problem: string) => void): void {
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    report(STATE_FILE, `cannot be read (${errorMessage(error)})`);
    return;
  }
  const keys = Object.keys(state).sort().join(',');
  const required = '_data_files,_fingerprint,_format_columns,_format_kwargs,_format_type,_output_all_columns,_split';
  if (keys !== required) report(STATE_FILE, `has keys ${keys}; save_to_disk writes exactly ${required}`);
  const names = Array.isArray(state._data_files) ? state._data_files.map((e) => (e as { filename?: unknown })?.filename) : null;
  if (JSON.stringify(names) !== JSON.stringify(manifest.shards.map((s) => s.filename))) {
    report(STATE_FILE, `_data_files ${JSON.stringify(names)} differ from the manifest's shards`);
  }
  if (typeof state._fingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(state._fingerprint)) report(STATE_FILE, '_fingerprint is not 16 hex digits');
  const fixed: [string, string][] = [
    ['_format_columns', 'null'],
    ['_format_kwargs', '{}'],
    ['_format_type', 'null'],
    ['_output_all_columns', 'false'],
    ['_split', 'null'],
  ];
  for (const [key, value] of fixed) if (JSON.stringify(state[key]) !== value) report(STATE_FILE, `${key} is ${JSON.stringify(state[key])}, expected ${value}`);
}

function checkDatasetInfo(dir: string, manifest: ReleaseManifest, report: (file: string, problem: string) => void): void {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(readFileSync(join(dir, DATASET_INFO_FILE), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    report(DATASET_INFO_FILE, `cannot be read (${errorMessage(error)})`);
    return;
  }
  if (JSON.stringify(info.features) !== JSON.stringify(releaseFeatures(manifest.schema))) {
    report(DATASET_INFO_FILE, 'features differ from the columns the manifest describes');
  }
}

/** Field-by-field comparison (names, types, nullability) plus the `huggingface` metadata. */
export function schemaDifferences(actual: Schema, expected: Schema): string[] {
  const problems: string[] = [];
  const describe = (s: Schema) => s.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? '' : ' not null'}`);
  const a = describe(actual);
  const e = describe(expected);
  if (JSON.stringify(a) !== JSON.stringify(e)) {
    const first = e.findIndex((field, i) => field !== a[i]);
    problems.push(`schema differs from the release columns (field ${first}: ${a[first] ?? 'missing'}, expected ${e[first] ?? 'none'})`);
  }
  const metadata = actual.metadata.get('huggingface');
  let same = false;
  try {
    same = metadata !== undefined && JSON.stringify(JSON.parse(metadata)) === JSON.stringify(JSON.parse(expected.metadata.get('huggingface')!));
  } catch {
    same = false;
  }
  if (!same) problems.push('schema metadata "huggingface" is missing or differs from the release features');
  return problems;
}
