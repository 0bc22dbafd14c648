/**
 * The Parquet half of a Hub repository: the release's Parquet export (src/release/parquet-export.ts), made when
 * absent, and refused when it is not this release's: its README.md must be the card the manifest gives for
 * Parquet files of its size (so an export of an older release of the same name is caught), its files named as
 * the exporter names them, its rows the manifest's, and every row group at most PARQUET_ROW_GROUP_ROWS rows,
 * which keeps the dataset viewer's page reads small.
 */
import { existsSync, openAsBlob, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ParquetFile } from 'parquet-wasm/node';
import { UserError } from '../core/errors.js';
import { CARD_FILE } from '../release/release-card.js';
import type { ReleaseManifest } from '../release/release-manifest.js';
import { PARQUET_ROW_GROUP_ROWS, exportParquet, parquetExportCard, parquetFileName } from '../release/parquet-export.js';

export interface ParquetExportFiles {
  /** Absolute paths of data/train-*.parquet, in order. */
  parquetFiles: string[];
  /** Their total size, for the card's dataset_info. */
  bytes: number;
}

async function rowGroupSizes(path: string): Promise<number[]> {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  try {
    return file.metadata().rowGroups().map((group) => group.numRows());
  } finally {
    file.free();
  }
}

export async function parquetExportForPush(releaseDir: string, manifest: ReleaseManifest, parquetDir: string, log?: (m: string) => void): Promise<ParquetExportFiles> {
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
  const parquetFiles = expectedNames.map((name) => join(dataDir, name));
  const bytes = parquetFiles.reduce((sum, path) => sum + statSync(path).size, 0);
  const card = join(parquetDir, CARD_FILE);
  if (!existsSync(card) || readFileSync(card, 'utf8') !== parquetExportCard(manifest, bytes)) {
    throw new UserError(`${card}: not the card of ${releaseDir}'s Parquet export (made from another release, or edited); ${redo}`);
  }
  let rows = 0;
  for (const path of parquetFiles) {
    const groups = await rowGroupSizes(path);
    const big = groups.findIndex((n) => n > PARQUET_ROW_GROUP_ROWS);
    if (big >= 0) throw new UserError(`${path}: row group ${big} has ${groups[big]} rows, more than ${PARQUET_ROW_GROUP_ROWS}; ${redo}`);
    rows += groups.reduce((a, b) => a + b, 0);
  }
  if (rows !== manifest.counts.rows) throw new UserError(`${parquetDir}: ${rows} rows where the release has ${manifest.counts.rows}; ${redo}`);
  return { parquetFiles, bytes };
}
