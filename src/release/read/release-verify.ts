/**
 * `advood release verify`: recomputes every sha256 and size in the manifest, checks the manifest's own seal,
 * that the directory holds exactly the listed files, each a regular file (no symlinks), that state.json and
 * dataset_info.json say what the format requires, and that every shard parses as an Arrow stream with the
 * expected schema, metadata and row count.
 *
 * Bytes matching the manifest are not enough: the manifest's seal is a hash anyone can recompute, so what it
 * and the metadata files claim is checked against the data too: example counts and `_fingerprint` against the
 * shards, each row's provenance (seed, params hash, target model, weights) against the manifest's config, and
 * under a budgeted attack each row's saved image against the budget (row-budget.ts).
 * Problems are collected, each naming its file, rather than stopping at the first.
 */
import { parseGuardedJson } from '../../core/json-guard.js';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { Schema } from 'apache-arrow';
import { digestFile, sha256Hex } from '../../core/digest.js';
import { errorMessage } from '../../core/errors.js';
import { openHashedRead } from '../../core/hashed-read.js';
import { clearFinishedLock, LOCK_FILE } from '../../core/output-lock.js';
import { DATASET_INFO_FILE, releaseFingerprint, resolveReleaseFile, shardFileName, STATE_FILE } from '../hf-layout.js';
import { decodeReleaseBatch } from '../release-batch-codec.js';
import { readShardBatches } from './release-reader.js';
import { releaseArrowSchema, releaseColumns, releaseFeatures } from '../release-columns.js';
import { expectedRowProvenance, provenanceContradictions } from './row-provenance.js';
import { type PixelBudget, budgetViolation, manifestBudget } from './row-budget.js';
import { MANIFEST_FILE, manifestSelfCheck, readManifest, type ReleaseManifest } from '../release-manifest.js';

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
  /** What verify did that is not a problem, one line each: e.g. removing a stale lock (see settleLeftLock). */
  notes: string[];
}

export interface VerifyOptions {
  /**
   * A folder that symlinks may point into: the blobs/ folder of a Hugging Face cache entry, to which
   * huggingface_hub (and src/hub) link every snapshot file. Links that resolve to a regular file there are read;
   * every other link is still refused, so a crafted release cannot make verify read elsewhere.
   */
  linksInto?: string;
}

export async function verifyRelease(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const nonRegularKind = (path: string) => nonRegularKindAt(path, options.linksInto);
  const problems: VerifyProblem[] = [];
  const report = (file: string, problem: string) => problems.push({ file, problem });
  const measured: VerifyReport['measured'] = [];
  const notes: string[] = [];
  let manifest: ReleaseManifest;
  let ignoredLock = false;
  try {
    const loaded = readManifest(dir);
    manifest = loaded.manifest;
    const sealProblems = manifestSelfCheck(loaded.text, manifest);
    for (const problem of sealProblems) report(MANIFEST_FILE, problem);
    measured.push({ path: MANIFEST_FILE, sha256: sha256Hex(loaded.text), size: Buffer.byteLength(loaded.text) });
    if (sealProblems.length === 0) {
      const note = settleLeftLock(dir);
      if (note) notes.push(note.line);
      ignoredLock = note?.ignored ?? false;
    }
  } catch (error) {
    report(MANIFEST_FILE, errorMessage(error).replace(`${join(dir, MANIFEST_FILE)}: `, ''));
    return { ok: false, problems, filesChecked: 0, rowsChecked: 0, measured, notes };
  }

  const { listed, filesChecked } = await checkListedFiles(dir, manifest, nonRegularKind, report, measured);
  for (const name of readdirSync(dir)) {
    if (ignoredLock && name === LOCK_FILE) continue;
    if (name !== MANIFEST_FILE && !listed.has(name)) report(name, 'is in the release directory but not in the manifest (extra file)');
  }
  const manifestKind = nonRegularKind(join(dir, MANIFEST_FILE));
  if (manifestKind) report(MANIFEST_FILE, `is ${manifestKind}; a release holds regular files only`);
  checkShardList(dir, manifest, listed, measured, report);
  // What every shard is held to, derived once from the manifest.
  const expected: ShardExpectations = {
    schema: releaseArrowSchema(manifest.schema),
    columns: releaseColumns(manifest.schema),
    provenance: expectedRowProvenance(manifest),
    budget: manifestBudget(manifest),
  };
  let rowsChecked = 0;
  for (const shard of manifest.shards) rowsChecked += await checkShardContents(dir, shard, expected, nonRegularKind, measured, report);
  return { ok: problems.length === 0, problems, filesChecked, rowsChecked, measured, notes };
}

type Report = (file: string, problem: string) => void;

interface ShardExpectations {
  schema: Schema;
  columns: ReturnType<typeof releaseColumns>;
  provenance: ReturnType<typeof expectedRowProvenance>;
  /** The attack's budget on δ, which every saved image must keep; null for none. */
  budget: PixelBudget | null;
}

/** Every listed file: a plain name inside the release, present, a regular file, with the recorded size and sha256. */
async function checkListedFiles(
  dir: string,
  manifest: ReleaseManifest,
  nonRegularKind: (path: string) => string | null,
  report: Report,
  measured: VerifyReport['measured'],
): Promise<{ listed: Set<string>; filesChecked: number }> {
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
    const kind = nonRegularKind(path);
    if (kind) {
      report(entry.path, `is ${kind}; a release holds regular files only (not following it)`);
      continue;
    }
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
  return { listed, filesChecked };
}

/** The shard list, three ways: manifest.shards, the expected data-i-of-N names, state.json; and the counts. */
function checkShardList(dir: string, manifest: ReleaseManifest, listed: ReadonlySet<string>, measured: VerifyReport['measured'], report: Report): void {
  const count = manifest.shards.length;
  if (manifest.counts.shards !== count) report(MANIFEST_FILE, `counts.shards is ${manifest.counts.shards} but ${count} shards are listed`);
  manifest.shards.forEach((shard, i) => {
    if (shard.filename !== shardFileName(i, count)) report(MANIFEST_FILE, `shard ${i} is named ${JSON.stringify(shard.filename)}, expected ${shardFileName(i, count)}`);
    if (!listed.has(shard.filename)) report(shard.filename, 'shard has no sha256 entry in the manifest files');
  });
  const rowsTotal = manifest.shards.reduce((n, s) => n + s.rows, 0);
  const shardSha256 = manifest.shards.map((shard) => measured.find((f) => f.path === shard.filename)?.sha256 ?? '');
  checkState(dir, manifest, shardSha256, report);
  checkDatasetInfo(dir, manifest, rowsTotal, report);
  if (manifest.counts.rows !== rowsTotal) report(MANIFEST_FILE, `counts.rows is ${manifest.counts.rows} but the shards hold ${rowsTotal}`);
  if (manifest.counts.errors !== manifest.errors.length) report(MANIFEST_FILE, `counts.errors is ${manifest.counts.errors} but the error table has ${manifest.errors.length} rows`);
}

/**
 * One shard parses with the expected schema and row count, and every row's provenance is the manifest's. The
 * parse is a hashed read (src/core/hashed-read.ts) that must give the digest measured above: what was parsed is
 * what was hashed, even if the file changed in between. Returns the rows read.
 */
async function checkShardContents(
  dir: string,
  shard: ReleaseManifest['shards'][number],
  { schema: expected, columns, provenance, budget }: ShardExpectations,
  nonRegularKind: (path: string) => string | null,
  measured: VerifyReport['measured'],
  report: Report,
): Promise<number> {
  let path: string;
  try {
    path = resolveReleaseFile(dir, shard.filename, MANIFEST_FILE);
  } catch {
    return 0; // reported with the listed files
  }
  if (nonRegularKind(path)) return 0; // reported with the listed files
  const read = openHashedRead(path);
  let rows = 0;
  try {
    const reader = await readShardBatches(path, read.chunks);
    let schemaChecked = false;
    let schemaOk = true;
    /** The first row contradicting the manifest, per field, and how many do. */
    const contradictions = new Map<string, { first: string; count: number }>();
    const overBudget = { first: '', count: 0 };
    for await (const batch of reader) {
      if (!schemaChecked) {
        const differences = schemaDifferences(batch.schema, expected);
        for (const problem of differences) report(shard.filename, problem);
        schemaOk = differences.length === 0;
        schemaChecked = true;
      }
      rows += batch.numRows;
      if (!schemaOk) continue;
      for (const row of decodeReleaseBatch(batch, columns)) {
        for (const { field, problem } of provenanceContradictions(row, provenance)) {
          const seen = contradictions.get(field);
          if (seen) seen.count++;
          else contradictions.set(field, { first: `row ${JSON.stringify(row.id)}: ${problem}`, count: 1 });
        }
        const violation = budget && (await budgetViolation(row, budget));
        if (violation && overBudget.count++ === 0) overBudget.first = `row ${JSON.stringify(row.id)}: ${violation}`;
      }
    }
    if (overBudget.count > 0) {
      report(shard.filename, `${overBudget.first}${overBudget.count > 1 ? ` (and ${overBudget.count - 1} more rows)` : ''}; the attack's budget (config.attack.params.constraints.budget) does not hold`);
    }
    for (const { first, count } of contradictions.values()) {
      report(shard.filename, `${first}${count > 1 ? ` (and ${count - 1} more rows)` : ''}; rows contradict the manifest's provenance`);
    }
    if (!schemaChecked && reader.schema) for (const problem of schemaDifferences(reader.schema, expected)) report(shard.filename, problem);
    if (rows !== shard.rows) report(shard.filename, `holds ${rows} rows, manifest says ${shard.rows}`);
    const parsed = await read.finish();
    const hashed = measured.find((f) => f.path === shard.filename);
    if (hashed && parsed.sha256 !== hashed.sha256) report(shard.filename, 'changed while it was being verified (the bytes parsed are not the bytes hashed); verify it again');
  } catch (error) {
    read.close();
    report(shard.filename, `cannot be read as an Arrow IPC stream (${errorMessage(error)})`);
  }
  return rows;
}

/**
 * A lock left in a release whose manifest is sealed: the writer seals the manifest last and only then drops
 * its lock, so the release is finished and the lock is a leftover of a run killed in between (it used to make
 * every later read fail on an "extra file"). It is removed; one whose owner still runs here, or that cannot be
 * removed, is ignored. Either way the release's own files are checked exactly as before.
 */
function settleLeftLock(dir: string): { line: string; ignored: boolean } | null {
  const lock = clearFinishedLock(dir);
  if (lock === null) return null;
  switch (lock.state) {
    case 'removed':
      return { line: `removed a stale ${LOCK_FILE} left by a run killed after it finished${lock.pid === null ? '' : ` (pid ${lock.pid})`}`, ignored: false };
    case 'held':
      return { line: `ignored ${LOCK_FILE} of pid ${lock.pid}, still running: the manifest is sealed, so that writer has finished`, ignored: true };
    case 'kept':
      return { line: `ignored a stale ${LOCK_FILE} left by a run killed after it finished; it could not be removed (${lock.reason})`, ignored: true };
  }
}

/** A JSON metadata file of the release, or null (reported) when it cannot be read. */
function readMetadataJson(dir: string, file: string, report: Report): Record<string, unknown> | null {
  try {
    return parseGuardedJson(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    report(file, `cannot be read (${errorMessage(error)})`);
    return null;
  }
}

function checkState(dir: string, manifest: ReleaseManifest, shardSha256: readonly string[], report: Report): void {
  const state = readMetadataJson(dir, STATE_FILE, report);
  if (!state) return;
  const keys = Object.keys(state).sort().join(',');
  const required = '_data_files,_fingerprint,_format_columns,_format_kwargs,_format_type,_output_all_columns,_split';
  if (keys !== required) report(STATE_FILE, `has keys ${keys}; save_to_disk writes exactly ${required}`);
  const names = Array.isArray(state._data_files) ? state._data_files.map((e) => (e as { filename?: unknown })?.filename) : null;
  if (JSON.stringify(names) !== JSON.stringify(manifest.shards.map((s) => s.filename))) {
    report(STATE_FILE, `_data_files ${JSON.stringify(names)} differ from the manifest's shards`);
  }
  if (typeof state._fingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(state._fingerprint)) report(STATE_FILE, '_fingerprint is not 16 hex digits');
  else if (shardSha256.every((sha) => sha !== '') && state._fingerprint !== releaseFingerprint(shardSha256)) {
    report(STATE_FILE, `_fingerprint ${state._fingerprint} is not the shards' (${releaseFingerprint(shardSha256)}); stale or edited`);
  }
  const fixed: [string, string][] = [
    ['_format_columns', 'null'],
    ['_format_kwargs', '{}'],
    ['_format_type', 'null'],
    ['_output_all_columns', 'false'],
    ['_split', 'null'],
  ];
  for (const [key, value] of fixed) if (JSON.stringify(state[key]) !== value) report(STATE_FILE, `${key} is ${JSON.stringify(state[key])}, expected ${value}`);
}

function checkDatasetInfo(dir: string, manifest: ReleaseManifest, rows: number, report: Report): void {
  const info = readMetadataJson(dir, DATASET_INFO_FILE, report);
  if (!info) return;
  if (JSON.stringify(info.features) !== JSON.stringify(releaseFeatures(manifest.schema))) {
    report(DATASET_INFO_FILE, 'features differ from the columns the manifest describes');
  }
  // Counts a loader shows (datasets reads splits[...].num_examples) must be the shards' rows.
  if (info.splits !== undefined && info.splits !== null) {
    const splits = typeof info.splits === 'object' ? Object.entries(info.splits as Record<string, unknown>) : [];
    if (splits.length === 0) report(DATASET_INFO_FILE, `splits is ${JSON.stringify(info.splits)}, not a table of splits`);
    const claimed = splits.reduce((n, [, split]) => n + Number((split as { num_examples?: unknown } | null)?.num_examples), 0);
    if (splits.length > 0 && claimed !== rows) {
      report(DATASET_INFO_FILE, `splits claim ${splits.map(([name, split]) => `${name}: ${JSON.stringify((split as { num_examples?: unknown } | null)?.num_examples)}`).join(', ')} examples, the shards hold ${rows} rows`);
    }
  }
  for (const key of ['download_size', 'dataset_size', 'size_in_bytes']) {
    if (info[key] !== undefined && info[key] !== null && !(Number.isSafeInteger(info[key]) && (info[key] as number) >= 0)) report(DATASET_INFO_FILE, `${key} is ${JSON.stringify(info[key])}, not a byte count`);
  }
  const card = manifest.card;
  for (const key of ['description', 'citation', 'license', 'homepage'] as const) {
    if (info[key] !== card[key]) report(DATASET_INFO_FILE, `${key} ${JSON.stringify(info[key])} differs from the manifest's card (${JSON.stringify(card[key])})`);
  }
}

/**
 * "a symlink", "a directory"… for anything at `path` that is not a regular file; null for a regular file, a
 * link to a regular file inside `linksInto`, or nothing.
 */
function nonRegularKindAt(path: string, linksInto: string | undefined): string | null {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (!info || info.isFile()) return null;
  if (info.isSymbolicLink()) {
    if (linksInto && existsSync(path) && statSync(path).isFile() && realpathSync(path).startsWith(realpathSync(linksInto) + sep)) return null;
    return 'a symlink';
  }
  if (info.isDirectory()) return 'a directory';
  return 'not a regular file (a FIFO, socket or device)';
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
    same = metadata !== undefined && JSON.stringify(parseGuardedJson(metadata)) === JSON.stringify(JSON.parse(expected.metadata.get('huggingface')!));
  } catch {
    same = false;
  }
  if (!same) problems.push('schema metadata "huggingface" is missing or differs from the release features');
  return problems;
}
