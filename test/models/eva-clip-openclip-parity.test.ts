/**
 * advood's EVA-CLIP against open_clip and timm themselves: open_clip builds a tiny EVA-02 CLIP (timm's own
 * eva02_base_patch16_clip_224 model function at width 128 in two 64-wide heads, 2 blocks, patch 8 on a 3 × 3 grid:
 * test/reference/tiny_timm_models.py, configs in test/reference/openclip_configs/EVA02-tiny-test.json) with random
 * weights, perturbed norms and biases, and saves it in its own safetensors layout (test/reference/openclip_reference.py).
 * advood loads that directory as `--target DIR` does. The pre-projection features, the input gradient of the attack
 * loss, the projected features (encode_image) and the text embeddings of open_clip's own tokenizer must equal
 * open_clip's (cos ≥ 0.99999). Skipped, with the reason, where the venv cannot be made.
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
const PROMPTS = ['a photo of a cat', 'a blurry drawing of a red car', 'the texture of tree bark, close-up'];

const reference = referencePython();
if ('unavailable' in reference) console.log(`# open_clip EVA-CLIP parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

withVenv("EVA02 (open_clip + timm, random weights): features, attack gradient, projected and text embeddings equal open_clip's", async (t) => {
  const dir = openClipReference((reference as { python: string }).python, 'EVA02-tiny-test', { seed: 0, batch: 2, prompts: PROMPTS });
  t.is(resolveTarget(dir).config.family, 'eva-clip');
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
    const textCos = cosine(text, part(meta.reference.text));
    t.log(
      `EVA02 tiny on ${backend.chosen}: features cos ${parity.featuresCos}, max |Δ| ${parity.featuresMaxAbsDiff.toExponential(2)}; ` +
        `gradient cos ${parity.gradientCos}; projected cos ${projectedCos}; text cos ${textCos}`,
    );
    t.true(parity.featuresCos >= MIN_COS, `features cos ${parity.featuresCos}`);
    t.true(parity.gradientCos >= MIN_COS, `gradient cos ${parity.gradientCos}`);
    t.true(projectedCos >= MIN_COS, `projected cos ${projectedCos}`);
    t.true(textCos >= MIN_COS, `text cos ${textCos}`);
  } finally {
    encoder.dispose();
  }
});
