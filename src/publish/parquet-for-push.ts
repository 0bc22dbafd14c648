/**
 * The Parquet half of a Hub repository: the release's Parquet export (src/release/export/parquet-export.ts), made when
 * absent, and refused when it is not this release's. Its README.md must be the card the manifest gives for
 * Parquet files of its size (so an export of an older release of the same name is caught), its files named as
 * the exporter names them, every row group at most PARQUET_ROW_GROUP_ROWS rows (which keeps the dataset viewer's
 * page reads small), and every row the release's row at the same place, column by column (images by their
 * bytes). A card and file names can be copied; only the rows say what `load_dataset` will give.
 *
 * Each file is read once, hashed, and decoded from those bytes; the push then uploads only bytes of that hash
 * (hub-repo-layout.ts, upload-guard.ts), so a file swapped after this check is not what goes up.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { errorMessage, UserError } from '../core/errors.js';
import { readHashed } from '../core/hashed-read.js';
import { ParquetDecoder } from '../sources/readers/parquet-decoder.js';
import { CARD_FILE } from '../release/release-card.js';
import type { OpenedRelease } from '../release/read/release-reader.js';
import { decodeReleaseBatch } from '../release/release-batch-codec.js';
import { releaseColumns } from '../release/release-columns.js';
import { PARQUET_ROW_GROUP_ROWS, exportParquet, parquetExportCard, parquetFileName } from '../release/export/parquet-export.js';

export interface ParquetExportFiles {
  /** data/train-*.parquet, in order, each with the sha256 of the bytes its rows were checked in. */
  parquetFiles: { path: string; sha256: string }[];
  /** Their total size, for the card's dataset_info. */
  bytes: number;
}

/** `release`: opened verified (openVerifiedRelease); its rows are read again here, checked against verify's digests. */
export async function parquetExportForPush(release: OpenedRelease, parquetDir: string, log?: (m: string) => void): Promise<ParquetExportFiles> {
  const { dir: releaseDir, manifest } = release;
  const redo = `delete it, or run \`advood release export ${releaseDir} --to parquet --out ${parquetDir} --overwrite\``;
  if (!existsSync(parquetDir)) {
    log?.(`making the Parquet export in ${parquetDir}`);
    await exportParquet(releaseDir, parquetDir);
  }
  const dataDir = join(parquetDir, 'data');
  const expectedNames = manifest.shards.map((_, i) => parquetFileName(i, manifest.shards.length));
  const names = existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.parquet')).sort() : [];
  if (names.join('\n') !== expectedNames.join('\n')) {
    throw new UserError(`${parquetDir}: holds data/${names[0] ?? '(nothing)'}${names.length > 1 ? ', …' : ''} where the export of ${releaseDir} has ${expectedNames.length} files data/${expectedNames[0]}…; ${redo}`);
  }
  const paths = expectedNames.map((name) => join(dataDir, name));
  const bytes = paths.reduce((sum, path) => sum + statSync(path).size, 0);
  const card = join(parquetDir, CARD_FILE);
  if (!existsSync(card) || readFileSync(card, 'utf8') !== parquetExportCard(manifest, bytes)) {
    throw new UserError(`${card}: not the card of ${releaseDir}'s Parquet export (made from another release, or edited); ${redo}`);
  }
  const decoder = new ParquetDecoder();
  const parquetFiles: ParquetExportFiles['parquetFiles'] = [];
  try {
    for (const [index, path] of paths.entries()) {
      const read = await readHashed(path);
      parquetFiles.push({ path, sha256: read.sha256 });
      // One file's bytes at a time: the worker holds them until they are checked.
      await checkExportFile(decoder, path, read.bytes, release, index, redo).finally(() => decoder.forget(path));
    }
  } finally {
    await decoder.close();
  }
  return { parquetFiles, bytes };
}

/**
 * One export file against its shard's rows, row group by row group, every column compared (images by their
 * bytes); the first difference is one line naming the row and the column.
 */
async function checkExportFile(
  decoder: ParquetDecoder,
  path: string,
  bytes: Uint8Array,
  release: OpenedRelease,
  shard: number,
  redo: string,
): Promise<void> {
  const columns = releaseColumns(release.manifest.schema);
  const releaseRows = release.shardRows(shard)[Symbol.asyncIterator]();
  let row = 0;
  try {
    const { rowGroupRows, schemaIpc } = await decoder.footer(path, bytes);
    const present = new Set(tableFromIPC(schemaIpc).schema.fields.map((field) => field.name));
    const missing = columns.find((column) => !present.has(column.name));
    if (missing) throw new UserError(`${path}: has no column '${missing.name}', which the release has; not this release's export; ${redo}`);
    for (const [group, rows] of rowGroupRows.entries()) {
      if (rows > PARQUET_ROW_GROUP_ROWS) throw new UserError(`${path}: row group ${group} has ${rows} rows, more than ${PARQUET_ROW_GROUP_ROWS}; ${redo}`);
      const table = tableFromIPC(await decoder.columns(path, columns.map((c) => c.name), group));
      for (const exported of table.batches.flatMap((batch) => decodeReleaseBatch(batch, columns))) {
        const next = await releaseRows.next();
        if (next.done) throw new UserError(`${path}: has more rows than the release's shard (row ${row} and on); not this release's export; ${redo}`);
        const differs = columns.find((column) => !sameValue(exported[column.key], next.value[column.key]));
        if (differs) {
          const what = differs.key === 'id' ? `id '${exported.id}' where the release has '${next.value.id}'` : `'${exported.id}' has another ${differs.name} than the release's row`;
          throw new UserError(`${path} row ${row}: ${what}; not this release's export; ${redo}`);
        }
        row++;
      }
    }
    if (!(await releaseRows.next()).done) throw new UserError(`${path}: ${row} rows, fewer than the release's shard; not this release's export; ${redo}`);
  } catch (error) {
    if (error instanceof UserError) throw error; // already names its file: this one, or the release's shard
    throw new UserError(`${path}: cannot be read as this release's Parquet export (${errorMessage(error)}); ${redo}`);
  } finally {
    await releaseRows.return?.();
  }
}

/** Values of one column as decodeReleaseBatch gives them: bytes and vectors element by element, numbers as Object.is. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  if (a instanceof Float32Array && b instanceof Float32Array) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return Object.is(a, b);
}
