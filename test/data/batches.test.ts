import test from 'ava';
import { ItemError } from '../../src/core/errors.js';
import { iterateBatches, type ImageBatch } from '../../src/data/batches.js';
import type { DecodedImage, ImageItem, ImageSource, Preprocess } from '../../src/data/image-source.js';

const pre: Preprocess = { mode: 'exact', size: 2, background: [255, 255, 255] };

/**
 * A source of n items whose item i decodes to pixels all equal to i/1000 after a delay that shrinks with i
 * (later items finish first), so completion order is the reverse of item order.
 */
function fakeSource(n: number, options: { bad?: Set<number>; bug?: number; log?: string[] } = {}): ImageSource {
  const items: ImageItem[] = Array.from({ length: n }, (_, i) => ({ id: `item-${i}`, label: i % 3, origin: `/data/item-${i}.png` }));
  return {
    name: 'fake',
    classNames: ['a', 'b', 'c'],
    fingerprint: 'fake',
    items,
    async load(item: ImageItem, preprocess: Preprocess): Promise<DecodedImage> {
      const i = Number(item.id.slice(5));
      options.log?.push(`start ${i}`);
      await new Promise((resolve) => setTimeout(resolve, (n - i) * 2));
      if (options.bad?.has(i)) throw new ItemError(item.origin, 'truncated PNG');
      if (options.bug === i) throw new TypeError('a bug, not a bad item');
      const pixels = new Float32Array(preprocess.size * preprocess.size * 3).fill(i / 1000);
      return { pixels, height: preprocess.size, width: preprocess.size, sourceSha256: `sha-${i}` };
    },
  };
}

async function collect(source: ImageSource, options: Partial<Parameters<typeof iterateBatches>[1]> = {}): Promise<ImageBatch[]> {
  const out: ImageBatch[] = [];
  for await (const batch of iterateBatches(source, { preprocess: pre, batchSize: 4, ...options })) out.push(batch);
  return out;
}

test('batch order and content are the source order whatever the concurrency', async (t) => {
  const source = fakeSource(10);
  for (const concurrency of [1, 3, 16]) {
    const batches = await collect(source, { concurrency });
    t.deepEqual(batches.map((b) => b.items.map((i) => i.id)), [
      ['item-0', 'item-1', 'item-2', 'item-3'],
      ['item-4', 'item-5', 'item-6', 'item-7'],
      ['item-8', 'item-9'],
    ]);
    t.deepEqual(batches.map((b) => b.index), [0, 1, 2]);
    // Each image's 12 values sit at its row of the batch.
    const firstValues = batches.flatMap((b) => b.items.map((_, k) => Math.round(b.pixels[k * 12] * 1000)));
    t.deepEqual(firstValues, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    t.is(batches[2].pixels.length, 2 * 12);
    t.deepEqual(batches[1].sourceSha256, ['sha-4', 'sha-5', 'sha-6', 'sha-7']);
  }
});

test('bad items are skipped and reported in their own batch, never dropped silently', async (t) => {
  const batches = await collect(fakeSource(10, { bad: new Set([1, 4, 5, 6, 7]) }), { concurrency: 4 });
  t.deepEqual(batches.map((b) => b.items.map((i) => i.id)), [['item-0', 'item-2', 'item-3'], [], ['item-8', 'item-9']]);
  t.deepEqual(batches.map((b) => b.failures.map((f) => [f.item.id, f.reason])), [
    [['item-1', 'truncated PNG']],
    [['item-4', 'truncated PNG'], ['item-5', 'truncated PNG'], ['item-6', 'truncated PNG'], ['item-7', 'truncated PNG']],
    [],
  ]);
  t.is(batches[1].pixels.length, 0);
  const accounted = batches.reduce((sum, b) => sum + b.items.length + b.failures.length, 0);
  t.is(accounted, 10);
});

test("onError 'fail' stops at the first bad item, naming it", async (t) => {
  const error = await t.throwsAsync(collect(fakeSource(10, { bad: new Set([6]) }), { onError: 'fail' }), { instanceOf: ItemError });
  t.is(error!.message, '/data/item-6.png: truncated PNG');
});

test('errors that are not ItemError are bugs and propagate', async (t) => {
  await t.throwsAsync(collect(fakeSource(6, { bug: 2 })), { instanceOf: TypeError, message: 'a bug, not a bad item' });
});

test('the next batch is already decoding while the caller works on the current one', async (t) => {
  const log: string[] = [];
  const seenAtFirstBatch: string[] = [];
  for await (const batch of iterateBatches(fakeSource(8, { log }), { preprocess: pre, batchSize: 4, concurrency: 8 })) {
    if (batch.index === 0) {
      seenAtFirstBatch.push(...log);
      // The "model" takes a while; the prefetch must not wait for it.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }
  t.true(seenAtFirstBatch.includes('start 4'), `starts seen at batch 0: ${seenAtFirstBatch.join(', ')}`);
  t.true(seenAtFirstBatch.includes('start 7'));
});

test('concurrency bounds the decodes in flight', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const base = fakeSource(12);
  const source: ImageSource = {
    ...base,
    async load(item, preprocess) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await base.load(item, preprocess);
      } finally {
        inFlight--;
      }
    },
  };
  await collect(source, { concurrency: 3 });
  t.is(peak, 3);
});

test('empty sources give no batches; bad batch sizes are rejected', async (t) => {
  const empty: ImageSource = { ...fakeSource(0) };
  t.deepEqual(await collect(empty), []);
  await t.throwsAsync(collect(fakeSource(3), { batchSize: 0 }), { instanceOf: RangeError });
});
