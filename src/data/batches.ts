/**
 * Fixed-size batches of decoded images. Decoding runs on a p-limit pool, and the next batch is already
 * decoding while the caller (the model) works on the current one. Output order is the source's item order
 * whatever the concurrency: results are placed by index, never by completion.
 *
 * Items that fail with ItemError are skipped and reported in `failures` of the batch they belong to
 * (onError 'skip', the default) or end the iteration with that error (onError 'fail'). Other errors are bugs
 * and propagate.
 */
import pLimit from 'p-limit';
import { ItemError } from '../core/errors.js';
import type { DecodedImage, ImageItem, ImageSource, Preprocess } from './image-source.js';

export type OnError = 'skip' | 'fail';

export interface ItemFailure {
  readonly item: ImageItem;
  readonly reason: string;
}

export interface ImageBatch {
  /** 0-based index of the batch among all batches (including batches whose items all failed). */
  readonly index: number;
  /** The items that decoded, in source order. */
  readonly items: readonly ImageItem[];
  /** [items.length × size × size × 3] float32 HWC in [0,1]. */
  readonly pixels: Float32Array;
  /** Side of every image (preprocess.size). */
  readonly size: number;
  readonly sourceSha256: readonly string[];
  /** Items of this batch that could not be used, in source order. */
  readonly failures: readonly ItemFailure[];
}

export interface BatchOptions {
  readonly preprocess: Preprocess;
  readonly batchSize: number;
  /** Decodes in flight at once (default 4). */
  readonly concurrency?: number;
  readonly onError?: OnError;
  /** Subset of the source's items to iterate (default: all). */
  readonly items?: readonly ImageItem[];
}

type Outcome = { ok: true; image: DecodedImage } | { ok: false; error: unknown };

export async function* iterateBatches(source: ImageSource, options: BatchOptions): AsyncGenerator<ImageBatch> {
  const { preprocess, batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const onError = options.onError ?? 'skip';
  const items = options.items ?? source.items;
  const limit = pLimit(options.concurrency ?? 4);
  const batchCount = Math.ceil(items.length / batchSize);
  const pixelsPerImage = preprocess.size * preprocess.size * 3;

  // Every outcome is caught into a value, so a prefetched batch never leaves an unhandled rejection behind.
  const start = (index: number): Promise<Outcome>[] =>
    items.slice(index * batchSize, (index + 1) * batchSize).map((item) =>
      limit(() => source.load(item, preprocess)).then(
        (image): Outcome => ({ ok: true, image }),
        (error: unknown): Outcome => ({ ok: false, error }),
      ),
    );

  let next = batchCount > 0 ? start(0) : [];
  for (let index = 0; index < batchCount; index++) {
    const current = next;
    next = index + 1 < batchCount ? start(index + 1) : [];
    const outcomes = await Promise.all(current);
    const batchItems = items.slice(index * batchSize, (index + 1) * batchSize);
    const okItems: ImageItem[] = [];
    const images: DecodedImage[] = [];
    const failures: ItemFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const item = batchItems[i];
      if (outcome.ok) {
        if (outcome.image.pixels.length !== pixelsPerImage) {
          throw new Error(`${item.origin}: decoded to ${outcome.image.pixels.length} values, expected ${pixelsPerImage}`);
        }
        okItems.push(item);
        images.push(outcome.image);
        return;
      }
      if (!(outcome.error instanceof ItemError)) throw outcome.error;
      if (onError === 'fail') throw outcome.error;
      failures.push({ item, reason: outcome.error.reason });
    });
    const pixels = new Float32Array(images.length * pixelsPerImage);
    images.forEach((image, i) => pixels.set(image.pixels, i * pixelsPerImage));
    yield { index, items: okItems, pixels, size: preprocess.size, sourceSha256: images.map((image) => image.sourceSha256), failures };
  }
}
