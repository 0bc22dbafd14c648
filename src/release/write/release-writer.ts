/**
 * Streaming, resumable writer of a release in the Hugging Face `save_to_disk` layout.
 *
 * Rows arrive in whole batches from `advood generate`; each batch becomes one Arrow record batch appended to
 * the open part, so memory never holds more than one batch. A part closes between batches once it reaches
 * `shardBytes`, so part boundaries depend only on the data and a rerun cuts them identically.
 *
 * Crash safety (kill -9 at any instant), at batch granularity:
 * - the open part is `.part-NNNNN.arrow.tmp`, an Arrow stream without its end-of-stream marker. After every
 *   batch the part is fsynced, then progress.json (replaced atomically) records the batch as a checkpoint:
 *   items consumed, errors since the last part, and the open part's byte length and its sha256.
 * - on restart the open part is cut back to the checkpointed length (what follows is a torn batch, or one
 *   written but not journaled), its kept prefix is re-hashed to restore the running sha256 and checked against
 *   the journal, and appending goes on. `resumeFrom` is the checkpoint's items consumed; the caller restarts
 *   its deterministic batches there, and the parts come out byte-identical to an uninterrupted run. Should the
 *   prefix be gone or altered, the part is redone from the last committed part instead.
 * - a full part gets the end-of-stream marker, is fsynced, renamed to `part-NNNNN.arrow`, and only then
 *   recorded as committed. A kill between that rename and the journal is undone on restart (the file is
 *   renamed back and cut to its checkpoint, which drops the marker) and the part is committed again.
 * - close() commits the open part, records that it is finalizing, renames the parts to `data-i-of-N.arrow`
 *   (N is only known now), writes the HF metadata, the card and finally manifest.json, then removes the
 *   journal. A crash during close is finished by rerunning the same command (resumeFrom is then the total).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, lstatSync, readdirSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { checkOutputFolder, LOCK_FILE } from '../../core/output-lock.js';
import { createExclusive } from '../../core/safe-write.js';
import { fsyncDirectory } from './atomic-file.js';
import { digestFile, sha256OfPrefix } from '../../core/digest.js';
import { shardFileName } from '../hf-layout.js';
import { streamBatchMessage, STREAM_END_OF_STREAM, streamSchemaMessage } from './ipc-stream-framing.js';
import { encodeReleaseBatch } from '../release-batch-codec.js';
import { releaseArrowSchema, releaseColumns, type ReleaseSchemaInfo, validateSchemaInfo } from '../release-columns.js';
import { emptyTail, JOURNAL_FILE, newJournal, openPartFileName, partFileName, readJournal, type ReleaseJournal, writeJournal } from './release-journal.js';
import { MANIFEST_FILE, type ManifestExtras, type ReleaseManifest, type ShardSpec } from '../release-manifest.js';
import { type FinishedShard, writeReleaseMetadata } from './release-metadata.js';
import type { ReleaseError, ReleaseRow } from '../release-row.js';
import { continueAdvice, type RunIdentity, runDifferences } from './run-differences.js';

/** ~500 MB per shard, the size `datasets` itself uses for save_to_disk (config.MAX_SHARD_SIZE). */
export const DEFAULT_SHARD_BYTES = 500 * 1000 * 1000;

/**
 * Durable steps of the writer, reported to `onStep` (progress events, and crash tests that stop at each):
 * a batch appended and fsynced; its checkpoint journaled; a full part renamed; its commit journaled; close's
 * steps.
 */
export type WriterStep =
  | 'batch-written'
  | 'batch-journaled'
  | 'part-renamed'
  | 'journal-written'
  | 'finalizing-started'
  | 'shard-renamed'
  | 'metadata-written';

export interface ReleaseWriterOptions {
  schemaInfo: ReleaseSchemaInfo;
  /** The resolved generation config, recorded in the manifest. */
  config: unknown;
  /**
   * The run hash: of everything that determines the rows (src/pipeline/run-hash.ts); a resume with a different
   * one is refused. Recorded as the journal's and the manifest's `paramsHash`, the key releases have always had.
   */
  runHash: string;
  shardBytes?: number;
  /** Continue an interrupted run found in `dir` (default true). With false, such a run is an error. */
  resume?: boolean;
  /** The part of the source this run covers (`--shard i/n`), or null/undefined for all of it. */
  shard?: ShardSpec | null;
  onStep?: (step: WriterStep, detail: { part: number; rows: number }) => void;
}

export interface ReleaseWriter {
  /** Source items already consumed by journaled batches: restart the source at this item (a batch boundary). */
  readonly resumeFrom: number;
  /**
   * Appends one batch. `itemsConsumed` is cumulative: the source items consumed from the start of the run up to
   * and including this batch (rows + errors + anything skipped).
   */
  append(rows: readonly ReleaseRow[], errors: readonly ReleaseError[], itemsConsumed: number): Promise<void>;
  close(extras: ManifestExtras): Promise<ReleaseManifest>;
}

interface OpenPart {
  index: number;
  /** Its temp file's name in the release directory. */
  file: string;
  fd: number;
  hash: Hash;
  size: number;
  rows: number;
}

/** What the part and journal steps of one writer share. */
interface WriterContext {
  readonly dir: string;
  readonly state: ReleaseJournal;
  readonly schemaMessage: Uint8Array;
  step(name: WriterStep, part: number, rows: number): void;
}

/** The run's journal: a new one in an empty folder, or the interrupted run's, checked to be this run. */
async function openJournal(dir: string, options: ReleaseWriterOptions, shardBytes: number, shard: ShardSpec | null): Promise<ReleaseJournal> {
  const journal = readJournal(dir);
  if (journal === null) {
    if (existsSync(join(dir, MANIFEST_FILE))) {
      throw new UserError(`${dir} already holds a finished release (manifest.json); choose another output directory`);
    }
    const leftovers = readdirSync(dir).filter((name) => !isWriterTemp(name) && name !== LOCK_FILE);
    if (leftovers.length > 0) throw new UserError(`${dir} is not empty (${leftovers.slice(0, 3).join(', ')}…); a release needs its own directory`);
    const fresh = newJournal({ paramsHash: options.runHash, schema: options.schemaInfo, shardBytes, shard });
    writeJournal(dir, fresh);
    return fresh;
  }
  if (options.resume === false) {
    throw new UserError(`${dir} holds an interrupted run (${JOURNAL_FILE}); rerun with resume enabled to continue it, or remove the directory`);
  }
  checkSameRun(dir, journal, { paramsHash: options.runHash, schema: options.schemaInfo, shardBytes, shard });
  await checkCommittedParts(dir, journal);
  return journal;
}

function writeToPart(part: OpenPart, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(part.fd, bytes, offset, bytes.length - offset);
  part.hash.update(bytes);
  part.size += bytes.length;
}

function startPart(context: WriterContext): OpenPart {
  const index = context.state.parts.length;
  const file = openPartFileName(index);
  const part: OpenPart = { index, file, fd: createExclusive(join(context.dir, file)), hash: createHash('sha256'), size: 0, rows: 0 };
  writeToPart(part, context.schemaMessage);
  return part;
}

/** Journals the batch just appended (the open part must be fsynced first: the journal vouches for its bytes). */
function checkpoint(context: WriterContext, open: OpenPart | null, itemsConsumed: number, errors: readonly ReleaseError[]): void {
  const { state } = context;
  state.tail = {
    itemsConsumed,
    errors: [...state.tail.errors, ...errors.map((e) => ({ item: e.item, reason: e.reason }))],
    open: open && { file: open.file, size: open.size, rows: open.rows, sha256: open.hash.copy().digest('hex') },
  };
  writeJournal(context.dir, state);
  context.step('batch-journaled', open?.index ?? state.parts.length, open?.rows ?? 0);
}

/** Ends the part's stream, makes it durable under its committed name, and journals it with the tail's errors. */
function commitPart(context: WriterContext, part: OpenPart): void {
  const { dir, state } = context;
  writeToPart(part, STREAM_END_OF_STREAM);
  fsyncSync(part.fd);
  closeSync(part.fd);
  const name = partFileName(part.index);
  renameSync(join(dir, part.file), join(dir, name));
  fsyncDirectory(dir);
  context.step('part-renamed', part.index, part.rows);
  const { itemsConsumed, errors } = state.tail;
  state.parts.push({ part: name, rows: part.rows, size: part.size, sha256: part.hash.digest('hex'), itemsConsumed, errors });
  state.tail = emptyTail(state.parts);
  writeJournal(dir, state);
  context.step('journal-written', part.index, part.rows);
}

/** Commits what is open, renames the parts to their shard names, writes the metadata and the sealed manifest, drops the journal. */
function finishRelease(context: WriterContext, open: OpenPart | null, config: unknown, extras: ManifestExtras): ReleaseManifest {
  const { dir, state } = context;
  if (!state.finalizing) {
    // An empty release still has one (empty) shard, as save_to_disk writes it.
    if (open !== null || state.parts.length === 0) commitPart(context, open ?? startPart(context));
    state.finalizing = true;
    writeJournal(dir, state);
    context.step('finalizing-started', state.parts.length, 0);
  }
  const count = state.parts.length;
  const shards: FinishedShard[] = state.parts.map((part, index) => {
    const filename = shardFileName(index, count);
    if (existsSync(join(dir, part.part))) {
      renameSync(join(dir, part.part), join(dir, filename));
      context.step('shard-renamed', index, part.rows);
    } else if (!existsSync(join(dir, filename))) {
      throw new UserError(`${join(dir, part.part)}: committed part is missing; the run cannot be finished`);
    }
    return { filename, rows: part.rows, sha256: part.sha256, size: part.size };
  });
  fsyncDirectory(dir);
  const manifest = writeReleaseMetadata(
    dir,
    {
      ...extras,
      config,
      paramsHash: state.paramsHash,
      schema: state.schema,
      shard: state.shard,
      mergedFrom: [],
      errors: [...state.parts.flatMap((p) => p.errors), ...state.tail.errors],
      itemsConsumed: state.tail.itemsConsumed,
    },
    shards,
  );
  context.step('metadata-written', count, 0);
  rmSync(join(dir, JOURNAL_FILE));
  fsyncDirectory(dir);
  return manifest;
}

export async function openReleaseWriter(dir: string, options: ReleaseWriterOptions): Promise<ReleaseWriter> {
  validateSchemaInfo(options.schemaInfo);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(Number.isFinite(shardBytes) && shardBytes > 0)) throw new UserError(`shard size must be a positive number of bytes, got ${shardBytes}`);
  // A run over the whole source is recorded as null, whether or not `--shard 0/1` was spelled out.
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  checkOutputFolder(dir);
  mkdirSync(dir, { recursive: true });

  const state = await openJournal(dir, options, shardBytes, shard);
  const schema = releaseArrowSchema(options.schemaInfo);
  const columns = releaseColumns(options.schemaInfo);
  const context: WriterContext = { dir, state, schemaMessage: streamSchemaMessage(schema), step: (name, part, rows) => options.onStep?.(name, { part, rows }) };
  let open = state.finalizing ? null : await reopenPart(dir, state);
  removeUncommitted(dir, state, open?.file);
  let closed = false;

  // Killed after the checkpoint of a part's last batch but before its commit: the part is full, commit it now.
  if (open !== null && open.size >= shardBytes) {
    commitPart(context, open);
    open = null;
  }

  return {
    resumeFrom: state.tail.itemsConsumed,

    async append(rows, errors, itemsConsumed) {
      if (closed) throw new Error('release writer: append after close');
      const consumed = state.tail.itemsConsumed;
      if (state.finalizing) throw new UserError(`${dir}: this run already consumed all ${consumed} items and is being finalised; only close() remains`);
      if (!Number.isSafeInteger(itemsConsumed) || itemsConsumed < consumed) {
        throw new Error(`release writer: itemsConsumed must be cumulative and non-decreasing (got ${itemsConsumed} after ${consumed})`);
      }
      if (rows.length > 0) {
        open ??= startPart(context);
        writeToPart(open, streamBatchMessage(encodeReleaseBatch(rows, columns, schema), context.schemaMessage));
        open.rows += rows.length;
        fsyncSync(open.fd);
        context.step('batch-written', open.index, open.rows);
      }
      checkpoint(context, open, itemsConsumed, errors);
      if (open !== null && open.size >= shardBytes) {
        commitPart(context, open);
        open = null;
      }
    },

    async close(extras) {
      if (closed) throw new Error('release writer: closed twice');
      closed = true;
      const manifest = finishRelease(context, open, options.config, extras);
      open = null;
      return manifest;
    },
  };
}

/**
 * Reopens the part the journal's checkpoint describes, cut back to its checkpointed length, with the running
 * sha256 of that prefix restored. When the prefix is gone or its hash differs (the disk lost bytes fsync had
 * reported written, or the file was edited), the checkpoint is dropped and the run resumes after the last
 * committed part: slower, but the deterministic batches rewrite the same bytes.
 */
async function reopenPart(dir: string, journal: ReleaseJournal): Promise<OpenPart | null> {
  const checkpoint = journal.tail.open;
  if (checkpoint === null) return null;
  const index = journal.parts.length;
  const file = openPartFileName(index);
  if (checkpoint.file !== file) {
    // Never a path taken from the journal: it names the one file the writer would have opened.
    throw new UserError(`${join(dir, JOURNAL_FILE)}: the open part is recorded as ${JSON.stringify(checkpoint.file)}, expected ${file}; remove ${dir} to start over`);
  }
  const path = join(dir, file);
  // Killed between a full part's rename and its commit in the journal: it is still the open part (the
  // end-of-stream marker it got is past the checkpoint and is cut off below).
  const renamed = join(dir, partFileName(index));
  if (!existsSync(path) && existsSync(renamed)) {
    renameSync(renamed, path);
    fsyncDirectory(dir);
  }
  // lstat: a symlink planted under the part's name is not the part, and truncating it would cut its target.
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (info?.isFile() && info.size >= checkpoint.size) {
    truncateSync(path, checkpoint.size);
    const hash = await sha256OfPrefix(path, checkpoint.size);
    if (hash.copy().digest('hex') === checkpoint.sha256) {
      return { index, file, fd: openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW), hash, size: checkpoint.size, rows: checkpoint.rows };
    }
  }
  journal.tail = emptyTail(journal.parts);
  writeJournal(dir, journal);
  return null;
}

function checkSameRun(dir: string, journal: ReleaseJournal, now: RunIdentity): void {
  const differences = runDifferences(journal, now);
  if (differences.length > 0) {
    throw new UserError(`${dir} holds an interrupted run with a different configuration (${differences.join('; ')}); ${continueAdvice(journal, differences, 'rerun the original command to resume it, or use another output directory')}`);
  }
}

async function checkCommittedParts(dir: string, journal: ReleaseJournal): Promise<void> {
  const count = journal.parts.length;
  for (const [index, part] of journal.parts.entries()) {
    const candidates = [part.part, ...(journal.finalizing ? [shardFileName(index, count)] : [])];
    const present = candidates.find((name) => existsSync(join(dir, name)));
    if (!present) throw new UserError(`${join(dir, part.part)}: committed part is missing; remove ${dir} to start over`);
    const digest = await digestFile(join(dir, present));
    if (digest.sha256 !== part.sha256 || digest.size !== part.size) {
      throw new UserError(`${join(dir, present)}: committed part was modified since it was written (sha256 mismatch); remove ${dir} to start over`);
    }
  }
}

/** Deletes parts the journal does not know of and stray temp files; the reopened part (`keep`) stays. */
function removeUncommitted(dir: string, journal: ReleaseJournal, keep: string | undefined): void {
  const committed = new Set(journal.parts.map((p) => p.part));
  let removed = false;
  for (const name of readdirSync(dir)) {
    if (name === keep) continue;
    if (isWriterTemp(name) || (/^part-\d{5}\.arrow$/.test(name) && !committed.has(name))) {
      rmSync(join(dir, name));
      removed = true;
    }
  }
  if (removed) fsyncDirectory(dir);
}

function isWriterTemp(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}
