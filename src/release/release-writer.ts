/**
 * Streaming, resumable writer of a release in the Hugging Face `save_to_disk` layout.
 *
 * Rows arrive in whole batches from `advood generate`; each batch becomes one Arrow record batch appended to
 * the open part, so memory never holds more than one batch. A part closes between batches once it reaches
 * `shardBytes`, so part boundaries depend only on the data and a rerun cuts them identically.
 *
 * Crash safety (kill -9 at any instant):
 * - the open part is `.part-NNNNN.arrow.tmp`; a finished part is fsynced, renamed to `part-NNNNN.arrow`, and
 *   only then recorded in progress.json (replaced atomically). Anything not in the journal is deleted on restart.
 * - on restart the writer reports `resumeFrom`, the source items consumed up to the last committed part; the
 *   caller restarts its deterministic batches there, and the rewritten parts come out byte-identical.
 * - close() records that it is finalizing, renames the parts to `data-i-of-N.arrow` (N is only known now),
 *   writes the HF metadata, the card and finally manifest.json, then removes the journal. A crash during close
 *   is finished by rerunning the same command (resumeFrom is then the total, so there is nothing to append).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../runtime/errors.js';
import { fsyncDirectory } from './atomic-file.js';
import { digestFile } from './file-digest.js';
import { shardFileName } from './hf-layout.js';
import { streamBatchMessage, STREAM_END_OF_STREAM, streamSchemaMessage } from './ipc-stream-framing.js';
import { encodeReleaseBatch } from './release-batch-codec.js';
import { releaseArrowSchema, releaseColumns, type ReleaseSchemaInfo, validateSchemaInfo } from './release-columns.js';
import { type CommittedPart, JOURNAL_FILE, newJournal, partFileName, readJournal, type ReleaseJournal, writeJournal } from './release-journal.js';
import { MANIFEST_FILE, type ManifestExtras, type ReleaseManifest, type ShardSpec } from './release-manifest.js';
import { type FinishedShard, writeReleaseMetadata } from './release-metadata.js';
import type { ReleaseError, ReleaseRow } from './release-row.js';

/** ~500 MB per shard, the size `datasets` itself uses for save_to_disk (config.MAX_SHARD_SIZE). */
export const DEFAULT_SHARD_BYTES = 500 * 1000 * 1000;

/** Durable steps of the writer, reported to `onStep` (progress events, and crash tests that stop at each). */
export type WriterStep = 'batch-written' | 'part-renamed' | 'journal-written' | 'finalizing-started' | 'shard-renamed' | 'metadata-written';

export interface ReleaseWriterOptions {
  schemaInfo: ReleaseSchemaInfo;
  /** The resolved generation config, recorded in the manifest. */
  config: unknown;
  /** Hash of everything that determines the rows; a resume with a different hash is refused. */
  paramsHash: string;
  shardBytes?: number;
  /** Continue an interrupted run found in `dir` (default true). With false, such a run is an error. */
  resume?: boolean;
  /** The part of the source this run covers (`--shard i/n`), or null/undefined for all of it. */
  shard?: ShardSpec | null;
  onStep?: (step: WriterStep, detail: { part: number; rows: number }) => void;
}

export interface ReleaseWriter {
  /** Source items already consumed by committed parts: restart the source at this item (a batch boundary). */
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
  fd: number;
  temp: string;
  hash: Hash;
  size: number;
  rows: number;
}

export async function openReleaseWriter(dir: string, options: ReleaseWriterOptions): Promise<ReleaseWriter> {
  validateSchemaInfo(options.schemaInfo);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(Number.isFinite(shardBytes) && shardBytes > 0)) throw new UserError(`shard size must be a positive number of bytes, got ${shardBytes}`);
  // A run over the whole source is recorded as null, whether or not `--shard 0/1` was spelled out.
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  mkdirSync(dir, { recursive: true });

  let journal = readJournal(dir);
  if (journal === null) {
    if (existsSync(join(dir, MANIFEST_FILE))) {
      throw new UserError(`${dir} already holds a finished release (manifest.json); choose another output directory`);
    }
    const leftovers = readdirSync(dir).filter((name) => !isWriterTemp(name));
    if (leftovers.length > 0) throw new UserError(`${dir} is not empty (${leftovers.slice(0, 3).join(', ')}…); a release needs its own directory`);
    journal = newJournal({ paramsHash: options.paramsHash, schema: options.schemaInfo, shardBytes, shard });
    writeJournal(dir, journal);
  } else {
    if (options.resume === false) {
      throw new UserError(`${dir} holds an interrupted run (${JOURNAL_FILE}); rerun with resume enabled to continue it, or remove the directory`);
    }
    checkSameRun(dir, journal, { paramsHash: options.paramsHash, schema: options.schemaInfo, shardBytes, shard });
    await checkCommittedParts(dir, journal);
  }
  removeUncommitted(dir, journal);

  const schema = releaseArrowSchema(options.schemaInfo);
  const columns = releaseColumns(options.schemaInfo);
  const schemaMessage = streamSchemaMessage(schema);
  const state = journal;
  let open: OpenPart | null = null;
  let consumed = state.finalizing?.itemsConsumed ?? state.parts.at(-1)?.itemsConsumed ?? 0;
  let pendingErrors: ReleaseError[] = [];
  let closed = false;
  const step = (name: WriterStep, part: number, rows: number) => options.onStep?.(name, { part, rows });

  const write = (part: OpenPart, bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(part.fd, bytes, offset, bytes.length - offset);
    part.hash.update(bytes);
    part.size += bytes.length;
  };

  const startPart = (): OpenPart => {
    const index = state.parts.length;
    const temp = join(dir, `.${partFileName(index)}.tmp`);
    const part: OpenPart = { index, fd: openSync(temp, 'w'), temp, hash: createHash('sha256'), size: 0, rows: 0 };
    write(part, schemaMessage);
    return part;
  };

  const commitPart = (part: OpenPart) => {
    write(part, STREAM_END_OF_STREAM);
    fsyncSync(part.fd);
    closeSync(part.fd);
    const name = partFileName(part.index);
    renameSync(part.temp, join(dir, name));
    fsyncDirectory(dir);
    step('part-renamed', part.index, part.rows);
    const committed: CommittedPart = { part: name, rows: part.rows, size: part.size, sha256: part.hash.digest('hex'), itemsConsumed: consumed, errors: pendingErrors };
    state.parts.push(committed);
    pendingErrors = [];
    writeJournal(dir, state);
    step('journal-written', part.index, part.rows);
  };

  return {
    resumeFrom: consumed,

    async append(rows, errors, itemsConsumed) {
      if (closed) throw new Error('release writer: append after close');
      if (state.finalizing) throw new UserError(`${dir}: this run already consumed all ${consumed} items and is being finalised; only close() remains`);
      if (!Number.isSafeInteger(itemsConsumed) || itemsConsumed < consumed) {
        throw new Error(`release writer: itemsConsumed must be cumulative and non-decreasing (got ${itemsConsumed} after ${consumed})`);
      }
      consumed = itemsConsumed;
      pendingErrors.push(...errors.map((e) => ({ item: e.item, reason: e.reason })));
      if (rows.length > 0) {
        open ??= startPart();
        const batch = encodeReleaseBatch(rows, columns, schema);
        write(open, streamBatchMessage(batch, schemaMessage));
        open.rows += rows.length;
        step('batch-written', open.index, open.rows);
        if (open.size >= shardBytes) {
          commitPart(open);
          open = null;
        }
      }
    },

    async close(extras) {
      if (closed) throw new Error('release writer: closed twice');
      closed = true;
      if (!state.finalizing) {
        // An empty release still has one (empty) shard, as save_to_disk writes it.
        if (open !== null || state.parts.length === 0) commitPart(open ?? startPart());
        open = null;
        state.finalizing = { itemsConsumed: consumed, tailErrors: pendingErrors };
        writeJournal(dir, state);
        step('finalizing-started', state.parts.length, 0);
      }
      const count = state.parts.length;
      const shards: FinishedShard[] = state.parts.map((part, index) => {
        const filename = shardFileName(index, count);
        if (existsSync(join(dir, part.part))) {
          renameSync(join(dir, part.part), join(dir, filename));
          step('shard-renamed', index, part.rows);
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
          config: options.config,
          paramsHash: state.paramsHash,
          schema: state.schema,
          shard: state.shard,
          mergedFrom: [],
          errors: [...state.parts.flatMap((p) => p.errors), ...state.finalizing!.tailErrors],
          itemsConsumed: state.finalizing!.itemsConsumed,
        },
        shards,
      );
      step('metadata-written', count, 0);
      rmSync(join(dir, JOURNAL_FILE));
      fsyncDirectory(dir);
      return manifest;
    },
  };
}

function checkSameRun(dir: string, journal: ReleaseJournal, now: Pick<ReleaseJournal, 'paramsHash' | 'schema' | 'shardBytes' | 'shard'>): void {
  const differences: string[] = [];
  if (journal.paramsHash !== now.paramsHash) differences.push(`params hash ${journal.paramsHash} → ${now.paramsHash}`);
  if (JSON.stringify(journal.schema) !== JSON.stringify(now.schema)) differences.push('columns (class names, feature size or clean-image flag)');
  if (journal.shardBytes !== now.shardBytes) differences.push(`shard size ${journal.shardBytes} → ${now.shardBytes}`);
  if (JSON.stringify(journal.shard) !== JSON.stringify(now.shard)) differences.push(`source part ${JSON.stringify(journal.shard)} → ${JSON.stringify(now.shard)}`);
  if (differences.length > 0) {
    throw new UserError(
      `${dir} holds an interrupted run with a different configuration (${differences.join('; ')}); ` +
        'rerun the original command to resume it, or use another output directory',
    );
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

/** Deletes half-written parts, parts committed to disk but not yet to the journal, and stray temp files. */
function removeUncommitted(dir: string, journal: ReleaseJournal): void {
  const committed = new Set(journal.parts.map((p) => p.part));
  let removed = false;
  for (const name of readdirSync(dir)) {
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
