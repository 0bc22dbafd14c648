import test from 'ava';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveAttackPreset } from '../../attacks/attack-params.js';
import { preprocessFor } from '../../src/data/preprocess.js';
import type { Encoder } from '../../src/models/encoder.js';
import { prepareGenerationTargets } from '../../src/pipeline/generation-targets.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';

const root = mkdtempSync(join(tmpdir(), 'advood-generation-targets-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test.before(async () => {
  await initTestBackend();
  await writeImages(join(root, 'id', 'Sneaker'), 12, 1, 0.3);
  await writeImages(join(root, 'id', 'Bag'), 12, 2, 0.7);
});

/** The fake encoder, counting the images it encodes. */
function countingEncoder(): { encoder: Encoder; encoded: () => number } {
  const inner = fakeEncoder(32);
  let images = 0;
  const encoder: Encoder = {
    ...inner,
    encodeImage: (x, kind) => {
      images += x.shape[0];
      return inner.encodeImage(x, kind);
    },
  };
  return { encoder, encoded: () => images };
}

async function prepare(strategy: string, encoder: Encoder, itemKeys: string[]) {
  const preset = resolveAttackPreset('paper-smooth', { batch: 4, 'target.strategy': strategy });
  return prepareGenerationTargets({
    encoder,
    preset,
    preprocess: preprocessFor(encoder),
    id: join(root, 'id'),
    seed: 3,
    itemKeys,
    onError: 'skip',
    onSkipped: () => {},
  });
}

test.serial('the prototype strategies encode every ID image once, then read them from the feature cache', async (t) => {
  const { encoder, encoded } = countingEncoder();
  await prepare('nearest-prototype', encoder, ['ood/a']);
  const first = encoded();
  await prepare('nearest-prototype', encoder, ['ood/a']);
  t.is(first, 24);
  t.is(encoded(), first, 'the second run encodes nothing');
});

test.serial("'sample' encodes only the ID images it drew, and its targets are those images' features", async (t) => {
  const { encoder, encoded } = countingEncoder();
  const keys = ['ood/a', 'ood/b', 'ood/c'];
  const prepared = await prepare('sample', encoder, keys);
  t.true(encoded() <= keys.length, `${encoded()} ID images encoded for ${keys.length} items`);
  t.is(prepared.prototypes, null, 'no nearest-class statistics without every ID feature');
  const choices = prepared.targets.choose(keys.map((key) => ({ key, cleanFeature: new Float32Array(16) })));
  // The same rows, encoded through the whole-source path, give the same vectors.
  const all = await prepare('prototype', encoder, keys);
  t.not(all.prototypes, null);
  const item = all.idSource.items[choices[0]!.targetIndex]!;
  const pixels = (await all.idSource.load(item, preprocessFor(encoder))).pixels;
  const expected = tf.tidy(() => Array.from(encoder.encodeImage(tf.tensor4d(pixels, [1, 32, 32, 3]), 'pre-projection').dataSync()));
  Array.from(choices[0]!.vector).forEach((v, d) => t.true(Math.abs(v - expected[d]!) < 1e-5));
});

test.serial("'sample': a drawn ID image that cannot be decoded is skipped and named, and its item draws again", async (t) => {
  const id = join(root, 'id-with-bad');
  cpSync(join(root, 'id'), id, { recursive: true });
  const { encoder } = countingEncoder();
  const keys = Array.from({ length: 12 }, (_, i) => `ood/item-${i}`);
  // Find the image the first item draws, then corrupt it.
  const preset = resolveAttackPreset('paper-smooth', { batch: 4, 'target.strategy': 'sample' });
  const base = { encoder, preset, preprocess: preprocessFor(encoder), id, seed: 3, itemKeys: keys, onError: 'skip' as const };
  const clean = await prepareGenerationTargets({ ...base, onSkipped: () => {} });
  const items = keys.map((key) => ({ key, cleanFeature: new Float32Array(32) }));
  const [first] = clean.targets.choose(items.slice(0, 1));
  const victim = clean.idSource.items[first!.targetIndex!]!;
  writeFileSync(victim.origin, 'not an image');
  const skipped: string[] = [];
  const redrawn = await prepareGenerationTargets({ ...base, onSkipped: (item) => skipped.push(item) });
  t.deepEqual(skipped, [victim.origin], 'the bad image is named once');
  const choices = redrawn.targets.choose(items);
  t.is(choices.length, keys.length, 'every item still has a target');
  t.not(choices[0]!.targetIndex, first!.targetIndex, 'the first item drew another image');
  t.true(choices.every((c) => c.targetIndex !== first!.targetIndex), 'no item is paired with the unusable image');
});
