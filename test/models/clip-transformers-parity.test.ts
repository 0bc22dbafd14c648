/**
 * Parity with the reference implementation itself: a small random CLIPModel made by Hugging Face transformers
 * (test/reference/independent_crosscheck.py, run where transformers is installed; its output is committed in
 * test/fixtures/hf-clip-transformers/ with the embeddings and token ids transformers computed). advood loads
 * the checkpoint directory as a user's HF download and must reproduce them.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClipTokenizer } from '../../src/models/clip/clip-tokenizer.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';

const DIR = fileURLToPath(new URL('../fixtures/hf-clip-transformers/', import.meta.url));
const golden = JSON.parse(readFileSync(`${DIR}golden.json`, 'utf8')) as {
  transformers: string;
  pixels: number[];
  pixelShape: [number, number, number, number];
  prompts: string[];
  inputIds: number[][];
  imagePreProjection: number[][];
  imageProjected: number[][];
  textProjected: number[][];
};

function assertClose(t: import('ava').ExecutionContext, actual: Float32Array, expected: number[][], label: string): void {
  const flat = expected.flat();
  t.is(actual.length, flat.length, `${label}: size`);
  let maxDiff = 0;
  for (let i = 0; i < flat.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - flat[i]!));
  const width = expected[0]!.length;
  for (let row = 0; row < expected.length; row++) {
    let dot = 0, na = 0, nb = 0;
    for (let j = 0; j < width; j++) {
      const a = actual[row * width + j]!, b = expected[row]![j]!;
      dot += a * b; na += a * a; nb += b * b;
    }
    t.true(dot / Math.sqrt(na * nb) >= 0.99999, `${label} row ${row}: cos ${dot / Math.sqrt(na * nb)}`);
  }
  t.true(maxDiff <= 1e-4, `${label}: max abs diff ${maxDiff} (transformers ${golden.transformers})`);
}

test('the CLIP BPE tokenizer gives the token ids of transformers CLIPTokenizer', (t) => {
  const tokenizer = ClipTokenizer.fromFiles(`${DIR}merges.txt`, `${DIR}vocab.json`);
  const ids = tokenizer.tokenize(golden.prompts);
  golden.inputIds.forEach((expected, i) => t.deepEqual(Array.from(ids[i]!.subarray(0, expected.length)), expected, golden.prompts[i]));
});

test('image and text embeddings of a transformers CLIPModel checkpoint match transformers', async (t) => {
  const backend = await initTestBackend();
  const encoder = await createEncoder(DIR, { backend });
  t.teardown(() => encoder.dispose());
  tf.dispose(encoder.encodeText!(['warm-up'])); // the text tower loads its weights on first use, and keeps them
  const before = tf.memory().numTensors;
  const pixels = tf.tensor4d(golden.pixels, golden.pixelShape);
  const pre = encoder.encodeImage(pixels, 'pre-projection');
  const projected = encoder.encodeImage(pixels, 'projected');
  const text = encoder.encodeText!(golden.prompts);
  assertClose(t, pre.dataSync() as Float32Array, golden.imagePreProjection, 'image, pre-projection');
  assertClose(t, projected.dataSync() as Float32Array, golden.imageProjected, 'image, projected');
  assertClose(t, text.dataSync() as Float32Array, golden.textProjected, 'text, projected');
  tf.dispose([pixels, pre, projected, text]);
  t.is(tf.memory().numTensors, before, 'no tensor leak');
});
