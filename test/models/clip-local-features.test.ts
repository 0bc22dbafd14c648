/**
 * The 'local-projected' feature kind (GL-MCM's global + per-patch features, src/models/clip/vision-tower.ts)
 * against the same features computed with open_clip's own modules (test/reference/glmcm_local_reference.py) for
 * a random ViT-B/32 in open_clip's layout: every row (the global embedding and each of the 49 patches) at
 * cos ≥ 0.9999. The global part must also equal the 'projected' kind exactly, and the kind must be
 * differentiable with respect to the pixels (GL-MCM is attacked through it). Skipped, with the reason, where
 * the reference venv cannot be made.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEncoder } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { cosine } from '../helpers/cosine.js';
import { openClipReference, referencePython } from '../helpers/reference-venv.js';
import { initTestBackend } from '../helpers/test-backend.js';

const SCRIPT = new URL('../reference/glmcm_local_reference.py', import.meta.url).pathname;
const reference = referencePython();
if ('unavailable' in reference) console.log(`# GL-MCM local features parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

withVenv("ViT-B-32 (open_clip, random weights): global and per-patch local features equal GL-MCM's recipe on open_clip", async (t) => {
  const python = (reference as { python: string }).python;
  const dir = openClipReference(python, 'ViT-B-32', { seed: 0, batch: 2 });
  const out = join(dir, 'glmcm-local.bin');
  const run = spawnSync(python, [SCRIPT, dir, out], { encoding: 'utf8', cwd: join(SCRIPT, '..') });
  t.is(run.status, 0, run.stderr);
  const { shape } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { shape: [number, number, number] };
  const [batch, tokens, dim] = shape;
  const expected = floats(out);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { input: { file: string; shape: [number, number, number, number] } };
  const encoder = await createEncoder(dir, { backend });
  try {
    const pixels = tf.tensor4d(floats(join(dir, meta.input.file)), meta.input.shape);
    const local = tf.tidy(() => encoder.encodeImage(pixels, 'local-projected').dataSync() as Float32Array);
    const projected = tf.tidy(() => encoder.encodeImage(pixels, 'projected').dataSync() as Float32Array);
    t.is(local.length, batch * tokens * dim, `[${batch}, ${tokens}·${dim}]`);
    let worst = 1;
    for (let r = 0; r < batch * tokens; r++) worst = Math.min(worst, cosine(local.subarray(r * dim, (r + 1) * dim), expected.subarray(r * dim, (r + 1) * dim)));
    t.log(`worst row cos ${worst} over ${batch} images × ${tokens} rows on ${backend.chosen}`);
    t.true(worst >= 0.9999, `worst row cos ${worst}`);
    for (let b = 0; b < batch; b++) {
      t.deepEqual(Array.from(local.subarray(b * tokens * dim, b * tokens * dim + dim)), Array.from(projected.subarray(b * dim, (b + 1) * dim)), `image ${b}: the global row is the projected embedding`);
    }
    const gradient = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.square(encoder.encodeImage(x as tf.Tensor4D, 'local-projected'))))(pixels).dataSync() as Float32Array);
    t.true(gradient.every(Number.isFinite) && gradient.some((g) => g !== 0), 'a finite, non-zero input gradient');
    pixels.dispose();
  } finally {
    encoder.dispose();
  }
});
