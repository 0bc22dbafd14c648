/**
 * advood's readers of open_clip's timm towers against open_clip and timm themselves. open_clip builds tiny models from
 * timm's own model functions with the sizes overridden (test/reference/tiny_timm_models.py; configs in
 * test/reference/openclip_configs/), with random weights and perturbed norms and biases, and saves them in its own
 * safetensors layout (test/reference/openclip_reference.py):
 * - EVA02-tiny-test: eva02_base_patch16_clip_224's tower at width 128 in two 64-wide heads, 2 blocks, patch 8 on a
 *   3 × 3 grid, and open_clip's CLIP text tower with its BPE (family eva-clip);
 * - SigLIP-tiny-test: vit_base_patch16_siglip_224's tower at width 96 in its 12 heads, 2 blocks, patch 8 on a 4 × 4
 *   grid, and open_clip's SigLIP text tower (full attention, last position, projection with bias) with a tokenizer.json
 *   and open_clip's prompt canonicalisation (family siglip).
 * advood loads each directory as `--target DIR` does. The pre-projection features (EVA: the CLS token before the head;
 * SigLIP: the mean of the tokens the MAP head pools), the input gradient of the attack loss, the projected features
 * (encode_image) and the text embeddings of open_clip's own tokenizer must equal open_clip's (cos ≥ 0.99999). Skipped,
 * with the reason, where the venv cannot be made.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { cosine } from '../helpers/cosine.js';
import { compareWithOpenClip } from '../helpers/openclip-parity.js';
import { openClipReference, referencePython } from '../helpers/reference-venv.js';
import { initTestBackend } from '../helpers/test-backend.js';

const MIN_COS = 0.99999;
const CASES = [
  { model: 'EVA02-tiny-test', family: 'eva-clip', prompts: ['a photo of a cat', 'a blurry drawing of a red car', 'the texture of tree bark, close-up'] },
  // Case, punctuation and underscores: open_clip canonicalises SigLIP prompts before tokenizing them.
  { model: 'SigLIP-tiny-test', family: 'siglip', prompts: ['a photo of a cat.', 'A PHOTO of the Dog!', 'an origami_crane', 'a blurry photo of a tiny, red car'] },
] as const;

const reference = referencePython();
if ('unavailable' in reference) console.log(`# open_clip timm-tower parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

for (const { model, family, prompts } of CASES) {
  withVenv(`${model} (open_clip + timm, random weights): features, attack gradient, projected and text embeddings equal open_clip's`, async (t) => {
    const dir = openClipReference((reference as { python: string }).python, model, { seed: 0, batch: 2, prompts });
    t.is(resolveTarget(dir).config.family, family);
    const parity = await compareWithOpenClip(dir, backend);

    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const outputs = floats(join(dir, meta.reference.file));
    const part = (entry: { offset: number; shape: number[] }) => outputs.subarray(entry.offset, entry.offset + entry.shape.reduce((a, b) => a * b, 1));
    const encoder = await createEncoder(dir, { backend, features: 'projected' });
    try {
      const pixels = tf.tensor4d(floats(join(dir, meta.input.file)), meta.input.shape);
      const projected = tf.tidy(() => encoder.encodeImage(pixels).dataSync() as Float32Array);
      const text = tf.tidy(() => encoder.encodeText!(meta.reference.prompts).dataSync() as Float32Array);
      pixels.dispose();
      const projectedCos = cosine(projected, part(meta.reference.projected));
      const refText = part(meta.reference.text);
      const width = meta.reference.text.shape[1] as number;
      // Row by row: one prompt cleaned or tokenized differently must show even when the others match.
      const textCos = Math.min(...prompts.map((_, i) => cosine(text.subarray(i * width, (i + 1) * width), refText.subarray(i * width, (i + 1) * width))));
      t.log(
        `${model} on ${backend.chosen}: features cos ${parity.featuresCos}, max |Δ| ${parity.featuresMaxAbsDiff.toExponential(2)}; ` +
          `gradient cos ${parity.gradientCos}; projected cos ${projectedCos}; text min row cos ${textCos}`,
      );
      t.true(parity.featuresCos >= MIN_COS, `features cos ${parity.featuresCos}`);
      t.true(parity.gradientCos >= MIN_COS, `gradient cos ${parity.gradientCos}`);
      t.true(projectedCos >= MIN_COS, `projected cos ${projectedCos}`);
      t.true(textCos >= MIN_COS, `text cos ${textCos}`);
    } finally {
      encoder.dispose();
    }
  });
}
