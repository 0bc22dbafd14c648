/** Small PNG folders for pipeline tests: deterministic, non-square images around a tint. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../../src/data/decode-image.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

export async function writeImages(dir: string, count: number, seed: number, tint: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const random = new SeededRandom(seed);
  for (let i = 0; i < count; i++) {
    // Non-square on purpose: the CLIP preprocessing resizes and crops to the model's size.
    const h = 40;
    const w = 48;
    const pixels = Float32Array.from({ length: h * w * 3 }, (_, j) => Math.min(1, Math.max(0, tint + 0.3 * Math.sin(j / (17 + i)) + 0.05 * random.next())));
    writeFileSync(join(dir, `img${String(i).padStart(2, '0')}.png`), await encodePng(pixels, h, w));
  }
}
