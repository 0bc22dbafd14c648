/**
 * advood's encoder against a reference run saved by test/reference/transformers_reference.py (meta.json,
 * input.bin, target.bin, reference.bin): the default features, the input gradient of the attack loss
 * −Σᵢ cos(f(xᵢ), tᵢ), and any further feature kind the reference saved. The checkpoint is loaded from the same
 * directory through createEncoder, the path `--target DIR` takes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEncoder } from '../../src/models/create-encoder.js';
import type { FeatureKind } from '../../src/models/encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { cosine } from './cosine.js';

interface Block {
  offset: number;
  shape: number[];
}

interface ReferenceMeta {
  model: string;
  image_size: number;
  input: { file: string; shape: number[] };
  target: { file: string; shape: number[] };
  reference: { file: string; features: Block; gradient: Block; extra?: Record<string, Block> };
  /** SigLIP variants: prompts, the ids transformers' tokenizer gave them, and get_text_features' output. */
  text?: { prompts: string[]; input_ids: number[][]; embeddings: Block };
}

export interface Agreement {
  cos: number;
  maxAbsDiff: number;
  /** Smallest per-row cosine (features) or the whole tensor's (gradient). */
  minRowCos: number;
}

export interface ReferenceParity {
  model: string;
  inputSize: number;
  features: Agreement;
  gradient: Agreement;
  extra: Record<string, Agreement>;
  /** Text embeddings of the reference's prompts (meta.json's text.input_ids are what its tokenizer gave). */
  text?: Agreement & { prompts: string[]; referenceIds: number[][] };
  /** Tensors left after the comparison that were not there before it (0 when nothing leaks). */
  leakedTensors: number;
}

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function agreement(actual: Float32Array, expected: Float32Array, rows: number): Agreement {
  let maxAbsDiff = 0;
  for (let i = 0; i < expected.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual[i]! - expected[i]!));
  const width = expected.length / rows;
  let minRowCos = 1;
  for (let r = 0; r < rows; r++) minRowCos = Math.min(minRowCos, cosine(actual.subarray(r * width, (r + 1) * width), expected.subarray(r * width, (r + 1) * width)));
  if (actual.length !== expected.length) throw new Error(`size ${actual.length}, reference ${expected.length}`);
  return { cos: cosine(actual, expected), maxAbsDiff, minRowCos };
}

export async function compareWithReference(dir: string, backend: BackendReport): Promise<ReferenceParity> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as ReferenceMeta;
  const reference = floats(join(dir, meta.reference.file));
  const block = (b: Block) => reference.subarray(b.offset, b.offset + b.shape.reduce((a, c) => a * c, 1));
  const encoder = await createEncoder(dir, { backend });
  try {
    // First: the text tower loads on its first prompts, and its weights are no leak.
    let text: ReferenceParity['text'];
    if (meta.text) {
      if (!encoder.encodeText) throw new Error(`${dir}: the reference has text embeddings but the encoder no text tower`);
      const values = tf.tidy(() => encoder.encodeText!(meta.text!.prompts).dataSync() as Float32Array);
      text = { ...agreement(values, block(meta.text.embeddings), meta.text.prompts.length), prompts: meta.text.prompts, referenceIds: meta.text.input_ids };
    }
    const before = tf.memory().numTensors;
    const pixels = tf.tensor4d(floats(join(dir, meta.input.file)), meta.input.shape as [number, number, number, number]);
    const targets = tf.tensor2d(floats(join(dir, meta.target.file)), meta.target.shape as [number, number]);
    const batch = meta.input.shape[0]!;
    const loss = (x: tf.Tensor) =>
      tf.tidy(() => {
        const f = encoder.encodeImage(x as tf.Tensor4D);
        const cos = tf.div(tf.sum(tf.mul(f, targets), 1), tf.mul(tf.norm(f, 'euclidean', 1), tf.norm(targets, 'euclidean', 1)));
        return tf.neg(tf.sum(cos));
      });
    const features = tf.tidy(() => encoder.encodeImage(pixels).dataSync() as Float32Array);
    const gradient = tf.tidy(() => tf.grad(loss)(pixels).dataSync() as Float32Array);
    const extra: Record<string, Agreement> = {};
    for (const [kind, b] of Object.entries(meta.reference.extra ?? {})) {
      const values = tf.tidy(() => encoder.encodeImage(pixels, kind as FeatureKind).dataSync() as Float32Array);
      extra[kind] = agreement(values, block(b), batch);
    }
    tf.dispose([pixels, targets]);
    return {
      text,
      model: meta.model,
      inputSize: encoder.inputSize,
      features: agreement(features, block(meta.reference.features), batch),
      gradient: agreement(gradient, block(meta.reference.gradient), 1),
      extra,
      leakedTensors: tf.memory().numTensors - before,
    };
  } finally {
    encoder.dispose();
  }
}
