/**
 * progress.json: the writer's crash journal. It lists every committed part (a finished, fsynced, renamed Arrow
 * stream) with its rows, sha256, the count of source items consumed up to its end and the items that failed
 * in it. It is only ever replaced atomically, so after a kill -9 it describes exactly the parts that are safe.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../runtime/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { ReleaseSchemaInfo } from './release-columns.js';
import type { ShardSpec } from './release-manifest.js';
import type { ReleaseError } from './release-row.js';

export const JOURNAL_FILE = 'progress.json';
const JOURNAL_FORMAT = 'advood-release-progress/1';

export interface CommittedPart {
  /** File name while the run is open (`part-00000.arrow`); renamed to `data-…-of-….arrow` at close. */
  part: string;
  rows: number;
  size: number;
  sha256: string;
  /** Source items consumed from the start of the run to the end of this part (cumulative). */
  itemsConsumed: number;
  errors: ReleaseError[];
}

export interface ReleaseJournal {
  format: typeof JOURNAL_FORMAT;
  paramsHash: string;
  schema: ReleaseSchemaInfo;
  shardBytes: number;
  shard: ShardSpec | null;
  parts: CommittedPart[];
  /** Set once close() has begun renaming parts: the run's end, and errors after the last part. */
  finalizing: { itemsConsumed: number; tailErrors: ReleaseError[] } | null;
}

export function newJournal(init: Omit<ReleaseJournal, 'format' | 'parts' | 'finalizing'>): ReleaseJournal {
  return { format: JOURNAL_FORMAT, ...init, parts: [], finalizing: null };
}

export function readJournal(dir: string): ReleaseJournal | null {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return null;
  let journal: ReleaseJournal;
  try {
    journal = JSON.parse(readFileSync(path, 'utf8')) as ReleaseJournal;
  } catch (error) {
    throw new UserError(`${path}: unreadable progress journal (${(error as Error).message}); remove the directory to start over`);
  }
  if (journal?.format !== JOURNAL_FORMAT || !Array.isArray(journal.parts)) {
    throw new UserError(`${path}: not an advood progress journal (format ${JSON.stringify(journal?.format)})`);
  }
  return journal;
}

export function writeJournal(dir: string, journal: ReleaseJournal): void {
  writeFileAtomic(join(dir, JOURNAL_FILE), JSON.stringify(journal, null, 2) + '\n');
}

export function partFileName(index: number): string {
  return `part-${String(index).padStart(5, '0')}.arrow`;
}
