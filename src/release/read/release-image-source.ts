/**
 * A release seen as an ImageSource, so `advood evaluate` computes (and caches) features of its adversarial
 * images, or of the clean images stored beside them, through the same path as any image folder.
 *
 * Releases are streams (Arrow IPC), not random-access files. Feature extraction asks for items in source
 * order, a few at a time, so one forward cursor serves it: rows read past on the way to a requested one wait
 * in a small buffer. Asking for an item behind the cursor restarts it (correct, only slower).
 *
 * The cursor's reads are not the verified read: the file can be swapped in between. So opening makes one full
 * pass whose every shard is hashed as decoded and must match what verify measured (release-reader.ts), and
 * records the sha256 of each row's image bytes from it; every load hashes the bytes it is about to decode and
 * refuses, naming the shard, unless they are those. What gets decoded, scored and cached is what was verified.
 */
import { sha256Hex } from '../../core/digest.js';
import { decodeImage } from '../../data/decode-image.js';
import type { DecodedImage, ImageItem, ImageSource, Preprocess } from '../../data/image-source.js';
import { ItemError, UserError } from '../../core/errors.js';
import type { OpenedRelease } from './release-reader.js';
import type { ReleaseRow } from '../release-row.js';
import type { VerifyOptions } from './release-verify.js';
import { openVerifiedRelease } from './verified-release.js';

export type ReleaseImageColumn = 'image' | 'cleanImage';

/** What evaluate needs to know about each row besides its pixels. */
export type ReleaseRowInfo = Omit<ReleaseRow, 'image' | 'cleanImage' | 'feature'>;

export interface ReleaseImageSource extends ImageSource {
  readonly release: OpenedRelease;
  /** Row metadata in release order, aligned with `items`. */
  readonly rows: readonly ReleaseRowInfo[];
}

/** Rows read past and not yet asked for; beyond this the buffer is dropped and the cursor restarts later. */
const MAX_BUFFERED_ROWS = 256;

/** `verify.linksInto`: a release inside a cache of links (the Hugging Face cache's snapshots → blobs). */
export async function openReleaseImageSource(
  dir: string,
  column: ReleaseImageColumn,
  name: string,
  verify: VerifyOptions = {},
): Promise<ReleaseImageSource> {
  // Verified before use; features are cached under the digests of the bytes verify read.
  const { release, contentSha256 } = await openVerifiedRelease(dir, 'not evaluating it', verify);
  const rows: ReleaseRowInfo[] = [];
  const items: ImageItem[] = [];
  /** Per row id: the sha256 of its image bytes in the verified pass (null: the row has none), and its shard. */
  const verifiedBytes = new Map<string, { sha256: string | null; shard: string }>();
  for (let index = 0; index < release.shardPaths.length; index++) {
    for await (const row of release.shardRows(index)) {
      const bytes = row[column];
      if (column === 'cleanImage' && bytes === null) {
        throw new ItemError(`${dir}#${row.id}`, 'this release was written without clean images (--no-clean-image); pass the clean source with --ood instead');
      }
      const { image: _image, cleanImage: _clean, feature: _feature, ...info } = row;
      rows.push(info);
      items.push({ id: row.id, label: row.label >= 0 ? row.label : null, origin: `${dir}#${row.id}` });
      verifiedBytes.set(row.id, { sha256: bytes && sha256Hex(bytes), shard: release.shardPaths[index]! });
    }
  }
  const cursor = new ForwardCursor(release, column);
  return {
    name,
    classNames: release.manifest.schema.classNames,
    // Equal to the digests of the bytes the pass above decoded: it refuses any shard that hashed otherwise.
    fingerprint: `release:${contentSha256}:${column}`,
    items,
    release,
    rows,
    async load(item: ImageItem, preprocess: Preprocess): Promise<DecodedImage> {
      const verified = verifiedBytes.get(item.id);
      if (!verified) throw new ItemError(item.origin, 'not a row of this release');
      if (verified.sha256 === null) throw new ItemError(item.origin, `the row has no ${column} bytes`);
      const bytes = await cursor.bytesOf(item.id);
      // Not an ItemError: skipping the row would let the rest be cached under the verified release's name.
      if (!bytes || sha256Hex(bytes) !== verified.sha256) {
        const what = bytes ? `has other ${column} bytes than were verified` : 'is no longer in it';
        throw new UserError(`${verified.shard}: changed since it was verified (row ${JSON.stringify(item.id)} ${what}); not evaluating it`);
      }
      return decodeImage(bytes, item.origin, preprocess);
    },
    expectedSha256: (id) => verifiedBytes.get(id)?.sha256 ?? undefined,
  };
}

class ForwardCursor {
  private iterator: AsyncIterator<ReleaseRow> | null = null;
  private readonly buffered = new Map<string, Uint8Array>();
  /** Serialises cursor moves: concurrent loads must not interleave on one iterator. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly release: OpenedRelease,
    private readonly column: ReleaseImageColumn,
  ) {}

  bytesOf(id: string): Promise<Uint8Array | null> {
    const next = this.queue.then(() => this.find(id));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async find(id: string): Promise<Uint8Array | null> {
    const hit = this.buffered.get(id);
    if (hit) {
      this.buffered.delete(id);
      return hit;
    }
    // At most two passes: from the current position to the end, then once from the start.
    for (let pass = 0; pass < 2; pass++) {
      this.iterator ??= this.release.rows()[Symbol.asyncIterator]();
      for (;;) {
        const step = await this.iterator.next();
        if (step.done) break;
        const bytes = step.value[this.column];
        if (!bytes) continue;
        if (step.value.id === id) return bytes;
        if (this.buffered.size >= MAX_BUFFERED_ROWS) this.buffered.clear();
        this.buffered.set(step.value.id, bytes);
      }
      this.iterator = null;
    }
    return null;
  }
}
