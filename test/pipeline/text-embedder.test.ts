/**
 * The pipeline's TextEmbedder (src/pipeline/text-embedder.ts) on a real tiny CLIP text tower: rows come back in
 * prompt order although batches are formed by length, equal to embedding each prompt alone; a second call reads
 * the cache without touching the tower; a damaged cache file is reported and recomputed.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Encoder } from '../../src/models/encoder.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import { cachedTextEmbedder } from '../../src/pipeline/text-embedder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';

const root = mkdtempSync(join(tmpdir(), 'advood-text-embedder-'));
let encoder: Encoder;
test.before(async () => {
  const backend = await initTestBackend();
  writeTinyClip(join(root, 'clip'), 'hf', 'quick_gelu');
  encoder = await createEncoder(join(root, 'clip'), { backend });
});
test.after.always(() => {
  encoder?.dispose();
  rmSync(root, { recursive: true, force: true });
});

const PROMPTS = ['the nice photograph of a cat', 'the nice dog', 'a', 'This is a large photo', 'the nice hippopotamus amphibius', 'cat'];

/** The encoder with a count of the prompts its text tower was given. */
function counting(inner: Encoder): { encoder: Encoder; prompts: () => number } {
  let prompts = 0;
  const wrapped = Object.create(inner) as Encoder;
  wrapped.encodeText = (batch) => {
    prompts += batch.length;
    return inner.encodeText!(batch);
  };
  return { encoder: wrapped, prompts: () => prompts };
}

test.serial('rows in prompt order, equal to each prompt embedded alone; the second call is read from the cache', async (t) => {
  const cacheDir = join(root, 'cache-order');
  const { encoder: wrapped, prompts } = counting(encoder);
  const progress: [number, number][] = [];
  const embedder = cachedTextEmbedder(wrapped, { cacheDir, batchSize: 4, onBatch: (done, total) => progress.push([done, total]) })!;
  const set = await embedder.embed(PROMPTS);
  t.deepEqual(set.ids, PROMPTS);
  t.deepEqual(progress, [[4, 6], [6, 6]]);
  for (const [i, prompt] of PROMPTS.entries()) {
    const alone = encoder.encodeText!([prompt]);
    const expected = alone.dataSync();
    alone.dispose();
    const row = set.vectors.subarray(i * set.dim, (i + 1) * set.dim);
    const worst = Math.max(...Array.from(expected, (v, d) => Math.abs(v - row[d]!)));
    t.true(worst <= 1e-5, `${prompt}: max |Δ| ${worst}`);
  }
  t.is(prompts(), PROMPTS.length);
  const again = await embedder.embed(PROMPTS);
  t.is(prompts(), PROMPTS.length, 'the second call does not run the tower');
  t.deepEqual(Array.from(again.vectors), Array.from(set.vectors));
  await embedder.embed(PROMPTS.slice(1));
  t.is(prompts(), 2 * PROMPTS.length - 1, 'another prompt list is another cache entry');
});

test.serial('a damaged cache file is reported and recomputed', async (t) => {
  const cacheDir = join(root, 'cache-damaged');
  const first = await cachedTextEmbedder(encoder, { cacheDir })!.embed(PROMPTS);
  const [file] = readdirSync(cacheDir);
  const bytes = readFileSync(join(cacheDir, file!));
  bytes[20] ^= 0x40;
  writeFileSync(join(cacheDir, file!), bytes);
  const rejected: string[] = [];
  const second = await cachedTextEmbedder(encoder, { cacheDir, onCacheRejected: (path, reason) => rejected.push(`${path}: ${reason}`) })!.embed(PROMPTS);
  t.deepEqual(rejected, [`${join(cacheDir, file!)}: its checksum does not match its contents`]);
  t.deepEqual(Array.from(second.vectors), Array.from(first.vectors));
  writeFileSync(join(cacheDir, file!), bytes.subarray(0, 10));
  await cachedTextEmbedder(encoder, { cacheDir, onCacheRejected: (_, reason) => rejected.push(reason) })!.embed(PROMPTS);
  t.is(rejected[1], '10 bytes is shorter than its header');
});

test('a target without a text tower has no embedder', (t) => {
  const withoutText = Object.create(encoder) as Encoder;
  (withoutText as { encodeText?: unknown }).encodeText = undefined;
  t.is(cachedTextEmbedder(withoutText), undefined);
});
