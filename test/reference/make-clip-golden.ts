/**
 * Regenerates test/fixtures/clip-golden.json: tiny random CLIP checkpoints (seeded, both layouts, both
 * activations) run through the independent PyTorch float64 reference (clip_reference.py).
 * Run: npx tsx test/reference/make-clip-golden.ts   (needs Debian's /usr/bin/python3 with python3-torch)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClipTokenizer } from '../../src/models/clip/clip-tokenizer.js';
import { TINY_MERGES, TINY_SEED, seededPixels, tinyArchitecture, writeTinyClip } from '../helpers/tiny-clip.js';

export const GOLDEN_PIXEL_SEED = 7;
export const GOLDEN_IMAGES = 2;
export const GOLDEN_PROMPTS = ['a photo of the cat.', 'A  DOG!', 'photo of a large dog, the cat'];
export const GOLDEN_CASES = [
  { layout: 'hf', activation: 'quick_gelu' },
  { layout: 'open_clip', activation: 'gelu' },
] as const;

const here = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_PATH = join(here, '../fixtures/clip-golden.json');

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'advood-golden-'));
  try {
    const tokenizer = new ClipTokenizer(TINY_MERGES);
    const tokens = tokenizer.tokenize(GOLDEN_PROMPTS).map((row) => [...row]);
    const pixelsPath = join(work, 'pixels.f32');
    writeFileSync(pixelsPath, seededPixels(GOLDEN_PIXEL_SEED, GOLDEN_IMAGES, 32));
    const cases = GOLDEN_CASES.map(({ layout, activation }) => {
      const dir = join(work, `${layout}-${activation}`);
      const sha256 = writeTinyClip(dir, layout, activation);
      const weights = join(dir, layout === 'hf' ? 'model.safetensors' : 'open_clip_model.safetensors');
      const job = { weights, layout, arch: tinyArchitecture(activation), pixels: pixelsPath, n: GOLDEN_IMAGES, tokens };
      const out = execFileSync('/usr/bin/python3', [join(here, 'clip_reference.py')], { input: JSON.stringify(job), maxBuffer: 64 << 20 });
      return { layout, activation, seed: TINY_SEED, sha256, ...(JSON.parse(out.toString()) as object) };
    });
    const golden = { generator: 'test/reference/make-clip-golden.ts', pixelSeed: GOLDEN_PIXEL_SEED, images: GOLDEN_IMAGES, prompts: GOLDEN_PROMPTS, tokens, cases };
    writeFileSync(GOLDEN_PATH, JSON.stringify(golden) + '\n');
    console.log(`wrote ${GOLDEN_PATH}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
