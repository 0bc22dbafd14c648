/**
 * advood's CLIP encoder against open_clip's own outputs for the same random checkpoint
 * (test/reference/openclip_reference.py): pre-projection image features and the input gradient of the attack loss
 * −Σᵢ cos(f(xᵢ), tᵢ). Shared by test/clip-openclip-parity.test.ts and bench/openclip-bigg.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createEncoder } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { cosine } from './cosine.js';

interface ReferenceMeta {
  model: string;
  batch: number;
  image_size: number;
  width: number;
  input: { file: string; shape: number[] };
  target: { file: string; shape: number[] };
  reference: { file: string; features: { offset: number; shape: number[] }; gradient: { offset: number; shape: number[] } };
}

export interface OpenClipParity {
  model: string;
  featuresCos: number;
  gradientCos: number;
  featuresMaxAbsDiff: number;
  /** Seconds to load the checkpoint into tensors (safetensors → tensors). */
  loadSeconds: number;
  /** Seconds of one forward pass + input gradient over the reference batch, after one warm-up. */
  stepSeconds: number;
}

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}


export async function compareWithOpenClip(dir: string, backend: BackendReport): Promise<OpenClipParity> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as ReferenceMeta;
  const reference = floats(join(dir, meta.reference.file));
  const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const refFeatures = reference.subarray(meta.reference.features.offset, meta.reference.features.offset + count(meta.reference.features.shape));
  const refGradient = reference.subarray(meta.reference.gradient.offset, meta.reference.gradient.offset + count(meta.reference.gradient.shape));

  const loadStart = performance.now();
  const encoder = await createEncoder(dir, { backend, features: 'pre-projection' });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  try {
    const pixels = tf.tensor4d(floats(join(dir, meta.input.file)), meta.input.shape as [number, number, number, number]);
    const targets = tf.tensor2d(floats(join(dir, meta.target.file)), meta.target.shape as [number, number]);
    const loss = (x: tf.Tensor) =>
      tf.tidy(() => {
        const f = encoder.encodeImage(x as tf.Tensor4D);
        const cos = tf.div(tf.sum(tf.mul(f, targets), 1), tf.mul(tf.norm(f, 'euclidean', 1), tf.norm(targets, 'euclidean', 1)));
        return tf.neg(tf.sum(cos));
      });
    /** One forward pass and the input gradient, as an attack step needs (and as PyTorch's reference times). */
    const inputGradient = () => tf.tidy(() => tf.grad(loss)(pixels).dataSync() as Float32Array);
    const features = tf.tidy(() => encoder.encodeImage(pixels).dataSync() as Float32Array);
    const gradient = inputGradient();
    const start = performance.now();
    inputGradient();
    const stepSeconds = (performance.now() - start) / 1000;
    tf.dispose([pixels, targets]);
    let featuresMaxAbsDiff = 0;
    for (let i = 0; i < features.length; i++) featuresMaxAbsDiff = Math.max(featuresMaxAbsDiff, Math.abs(features[i]! - refFeatures[i]!));
    return {
      model: meta.model,
      featuresCos: cosine(features, refFeatures),
      gradientCos: cosine(gradient, refGradient),
      featuresMaxAbsDiff,
      loadSeconds,
      stepSeconds,
    };
  } finally {
    encoder.dispose();
  }
}
