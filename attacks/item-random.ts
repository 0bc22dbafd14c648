/**
 * Per-item randomness derived from (run seed, item key, purpose), so that an item's init δ and its drawn
 * target do not depend on which other items share its batch, on the shard, or on a resumed run.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../src/core/seeded-random.js';

export function itemRandom(seed: number, itemKey: string, purpose: string): SeededRandom {
  const digest = createHash('sha256').update(`${seed}\u0000${purpose}\u0000${itemKey}`).digest();
  return new SeededRandom(digest.readUInt32LE(0));
}

/** `count` draws of N(0, std²) for one item. */
export function itemGaussian(seed: number, itemKey: string, purpose: string, count: number, std: number): Float32Array {
  const random = itemRandom(seed, itemKey, purpose);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = std * random.nextGaussian();
  return out;
}
