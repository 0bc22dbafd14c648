/**
 * ViT-B/32's vision tower with random weights and the real shapes, for benchmarks: speed does not depend on
 * the weight values. LN gains 1, every other parameter uniform with the std of N(0, 0.02²), seeded.
 */
import type * as tf from '@tensorflow/tfjs';
import { resolveTarget } from '../src/models/create-encoder.js';
import type { Encoder, FeatureKind } from '../src/models/encoder.js';
import type { ClipArchitecture } from '../src/models/clip/clip-architecture.js';
import { parseClipTarget } from '../src/models/clip/clip-family.js';
import { towerParams, towerWeightsFromMap } from '../src/models/clip/clip-weight-map.js';
import { ClipVisionTower } from '../src/models/clip/vision-tower.js';

export function vitB32Architecture(): ClipArchitecture {
  return parseClipTarget(resolveTarget('vit-b-32').config).architecture!;
}

export function randomVitB32Tower(): ClipVisionTower {
  return randomVisionTower('vit-b-32');
}

/** A target preset's vision tower with random weights (real shapes), e.g. 'vit-l-14'. */
export function randomVisionTower(preset: string): ClipVisionTower {
  const arch = parseClipTarget(resolveTarget(preset).config).architecture!;
  let state = 12345;
  const uniform = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
  const weights = new Map<string, Float32Array>();
  for (const p of towerParams(arch, 'open_clip', 'vision')) {
    const count = p.shape.reduce((a, b) => a * b, 1);
    const isGain = /ln\w*\.g$/.test(p.name);
    weights.set(p.name, Float32Array.from({ length: count }, () => (isGain ? 1 : 0.02 * (uniform() * 2 - 1) * Math.sqrt(3))));
  }
  return new ClipVisionTower(arch, towerWeightsFromMap(weights), { inputGradient: true });
}

/** The random tower behind the Encoder interface, so the real attack code can run on it. */
export function randomVitB32Encoder(): Encoder {
  const arch = vitB32Architecture();
  const tower = randomVitB32Tower();
  return {
    id: 'vit-b-32 (random weights)',
    inputSize: arch.vision.imageSize,
    embedDim: arch.vision.width,
    mean: arch.mean,
    std: arch.std,
    features: 'pre-projection',
    featureKinds: ['pre-projection', 'projected'],
    weightsSha256: 'random',
    encodeImage: (pixels: tf.Tensor4D, kind: FeatureKind = 'pre-projection') => tower.forward(pixels, kind),
    dispose: () => tower.dispose(),
  };
}
