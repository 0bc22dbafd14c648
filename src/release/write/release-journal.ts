/**
 * progress.json: the writer's crash journal. It lists every committed part (a finished, fsynced, renamed Arrow
 * stream) with its rows, sha256, the count of source items consumed up to its end and the items that failed
 * in it, and a checkpoint of the work after the last committed part (the `tail`), rewritten after every batch:
 * the items consumed so far, the errors since the last part, and the durable prefix of the open part (its byte
 * length, fsynced before the checkpoint was written, and that prefix's sha256). The journal is only ever
 * replaced atomically, so after a kill -9 it describes exactly the bytes that are safe.
 *
 * Format 2 added the per-batch checkpoint; a format-1 journal (which resumed at part granularity) is read by
 * migrating it: its tail is the end of its last committed part, or its finalising record.
 */
import { parseGuardedJson } from '../../core/json-guard.js';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { ReleaseSchemaInfo } from '../release-columns.js';
import type { ShardSpec } from '../release-manifest.js';
import type { ReleaseError } from '../release-row.js';

export const JOURNAL_FILE = 'progress.json';
const JOURNAL_FORMAT = 'advood-release-progress/2';
const JOURNAL_FORMAT_V1 = 'advood-release-progress/1';

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

/** The durable prefix of the open part: schema message and whole record batches, no end-of-stream marker. */
export interface OpenPartCheckpoint {
  /** The temp file it is written to (`.part-00003.arrow.tmp`). */
  file: string;
  size: number;
  rows: number;
  /** sha256 of the first `size` bytes, to check the prefix before appending to it again. */
  sha256: string;
}

/** Progress after the last committed part, checkpointed after every batch. */
export interface JournalTail {
  /** Source items consumed from the start of the run up to the last checkpointed batch (cumulative). */
  itemsConsumed: number;
  /** Failed items since the last committed part, in source order. */
  errors: ReleaseError[];
  open: OpenPartCheckpoint | null;
}

export interface ReleaseJournal {
  format: typeof JOURNAL_FORMAT;
  paramsHash: string;
  schema: ReleaseSchemaInfo;
  shardBytes: number;
  shard: ShardSpec | null;
  parts: CommittedPart[];
  tail: JournalTail;
  /** Set once close() has committed the last part and begins renaming parts; the tail is then the run's end. */
  finalizing: boolean;
}

export function newJournal(init: Omit<ReleaseJournal, 'format' | 'parts' | 'tail' | 'finalizing'>): ReleaseJournal {
  return { format: JOURNAL_FORMAT, ...init, parts: [], tail: emptyTail([]), finalizing: false };
}

/** A tail with nothing after the last committed part: where a run resumes when the open part is lost. */
export function emptyTail(parts: readonly CommittedPart[]): JournalTail {
  return { itemsConsumed: parts.at(-1)?.itemsConsumed ?? 0, errors: [], open: null };
}

export function readJournal(dir: string): ReleaseJournal | null {
  const path = join(dir, JOURNAL_FILE);
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (!info) return null;
  // The journal decides what a resume keeps and deletes; one planted as a link to elsewhere is not trusted.
  if (!info.isFile()) throw new UserError(`${path}: is not a regular file (a symlink?); refusing to use it as the progress journal`);
  let journal: { format?: unknown; parts?: unknown; tail?: unknown };
  try {
    journal = parseGuardedJson(readFileSync(path, 'utf8')) as typeof journal;
  } catch (error) {
    throw new UserError(`${path}: unreadable progress journal (${(error as Error).message}); remove the directory to start over`);
  }
  if (journal?.format === JOURNAL_FORMAT_V1 && Array.isArray(journal.parts)) return migrateV1(journal as unknown as ReleaseJournalV1);
  if (journal?.format !== JOURNAL_FORMAT || !Array.isArray(journal.parts) || typeof journal.tail !== 'object' || journal.tail === null) {
    const newer = typeof journal?.format === 'string' && journal.format.startsWith('advood-release-progress/');
    throw new UserError(
      newer
        ? `${path}: progress journal format ${JSON.stringify(journal.format)} is not one this advood reads (${JOURNAL_FORMAT}); resume it with the advood version that started it`
        : `${path}: not an advood progress journal (format ${JSON.stringify(journal?.format)})`,
    );
  }
  return journal as ReleaseJournal;
}

export function writeJournal(dir: string, journal: ReleaseJournal): void {
  writeFileAtomic(join(dir, JOURNAL_FILE), JSON.stringify(journal, null, 2) + '\n');
}

export function partFileName(index: number): string {
  return `part-${String(index).padStart(5, '0')}.arrow`;
}

/** The temp file a part is written to until it is committed; a dot file, so listings and globs skip it. */
export function openPartFileName(index: number): string {
  return `.${partFileName(index)}.tmp`;
}

interface ReleaseJournalV1 extends Omit<ReleaseJournal, 'format' | 'tail' | 'finalizing'> {
  format: typeof JOURNAL_FORMAT_V1;
  finalizing: { itemsConsumed: number; tailErrors: ReleaseError[] } | null;
}

/** Format 1 kept no open part: it resumed after its last committed part, or finished its finalising close. */
function migrateV1(v1: ReleaseJournalV1): ReleaseJournal {
  const { format: _format, finalizing, ...rest } = v1;
  return {
    ...rest,
    format: JOURNAL_FORMAT,
    tail: finalizing ? { itemsConsumed: finalizing.itemsConsumed, errors: finalizing.tailErrors, open: null } : emptyTail(v1.parts),
    finalizing: finalizing !== null,
  };
}
