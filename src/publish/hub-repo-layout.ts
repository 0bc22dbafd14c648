/**
 * What a pushed release looks like on the Hub, file by file (listed explicitly, never "the folder"):
 *
 *   README.md                    the Parquet export's card: `configs` → data/train-*, `dataset_info` = its schema,
 *                                and how to load it by this repository's name
 *   data/train-0000i-of-0000N.parquet
 *   release/<every file the manifest lists>, release/manifest.json   the sealed advood release, verbatim
 *
 * The release sits in a folder because a repo with one data file and a root manifest.json makes `load_dataset`
 * infer the JSON builder; with `configs` at the root it reads data/ only, and `release/` stays a byte-exact copy
 * that `advood release verify` and `load_from_disk` accept after a download.
 */
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { CARD_FILE } from '../release/release-card.js';
import { MANIFEST_FILE, type ReleaseManifest } from '../release/release-manifest.js';
import { hubContentHashes, type HubContentHashes } from '../hub/content-hash.js';
import type { ParquetExportFiles } from './parquet-for-push.js';

export const RELEASE_FOLDER = 'release';
export const PARQUET_FOLDER = 'data';

export interface PushFile extends HubContentHashes {
  /** Path in the repository. */
  repoPath: string;
  localPath: string;
  /**
   * sha256 the file must still have: the manifest's, for release files other than the manifest itself; the one
   * its rows were checked in, for the Parquet export (parquet-for-push.ts).
   */
  expectedSha256?: string;
}

/** Folders of the repository that a push owns: remote files there that the push does not list are deleted. */
export const OWNED_FOLDERS = [PARQUET_FOLDER, RELEASE_FOLDER];

/** `card`: the local file to push as README.md (the export's card, addressed to the repository). */
export async function hubRepoFiles(releaseDir: string, manifest: ReleaseManifest, parquet: ParquetExportFiles, card: string): Promise<PushFile[]> {
  const entries: Omit<PushFile, keyof HubContentHashes>[] = [
    ...parquet.parquetFiles.map(({ path, sha256 }) => ({ repoPath: `${PARQUET_FOLDER}/${path.split(/[\\/]/).at(-1)}`, localPath: path, expectedSha256: sha256 })),
    ...manifest.files.map((f) => ({ repoPath: `${RELEASE_FOLDER}/${f.path}`, localPath: join(releaseDir, f.path), expectedSha256: f.sha256 })),
    { repoPath: `${RELEASE_FOLDER}/${MANIFEST_FILE}`, localPath: join(releaseDir, MANIFEST_FILE) },
    // Last: the card is what makes the repository a dataset the Hub and load_dataset read.
    { repoPath: CARD_FILE, localPath: card },
  ];
  const files: PushFile[] = [];
  for (const entry of entries) {
    const file = { ...entry, ...(await hubContentHashes(entry.localPath)) };
    if (file.expectedSha256 && file.expectedSha256 !== file.sha256) throw changedUnderPush(file.localPath, file.expectedSha256, file.sha256);
    files.push(file);
  }
  return files;
}

export function changedUnderPush(path: string, before: string, now: string): UserError {
  return new UserError(`${path} changed while it was being pushed (sha256 ${before} when read, ${now} now); it was not committed — rerun the push once the release is final`);
}
