/**
 * Tiny random CLIP checkpoints in both layouts (width 64, 2 layers, patch 8, 32 px; text width 64, 2 layers,
 * a 16-merge vocabulary), generated deterministically from a seed so that committed golden outputs can be
 * tied to the exact bytes by sha256.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipArchitecture } from '../../src/models/clip/clip-architecture.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../../src/models/clip/clip-architecture.js';
import { expectedCheckpointShapes } from '../../src/models/clip/clip-weight-map.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

export const TINY_SEED = 20241127;

/** The small merges file for the tokenizer tests and the tiny text tower. */
export const TINY_MERGES = [
  'p h', 'o t', 'ph ot', 'o </w>', 'phot o</w>', 'a </w>', 't h', 'th e</w>', 'o f</w>', 'c a', 'ca t</w>',
  'd o', 'do g</w>', 'l a', 'r g', 'e </w>',
];

export function tinyArchitecture(activation: 'quick_gelu' | 'gelu'): ClipArchitecture {
  return {
    embedDim: 32,
    activation,
    vision: { width: 64, layers: 2, heads: 4, mlpDim: 256, patchSize: 8, imageSize: 32 },
    text: { width: 64, layers: 2, heads: 4, mlpDim: 256, contextLength: 77, vocabSize: 512 + TINY_MERGES.length + 2 },
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
  };
}

/** The project's seeded PRNG (mulberry32) as a function. */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Pixels in [0,1], [n, size, size, 3] flattened. */
export function seededPixels(seed: number, n: number, size: number): Float32Array {
  const uniform = seededRandom(seed);
  return Float32Array.from({ length: n * size * size * 3 }, () => uniform());
}

/** Random tensors for every key of the layout, scaled like a trained net (LN gains ≈ 1, small biases). */
export function tinyTensors(arch: ClipArchitecture, layout: 'hf' | 'open_clip', seed = TINY_SEED): TensorToWrite[] {
  const normal = seededNormal(seed);
  const tensors: TensorToWrite[] = [];
  const shapes = [...expectedCheckpointShapes(arch, layout)].sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [name, shape] of shapes) {
    const count = shape.reduce((a, b) => a * b, 1);
    const isNorm = /(ln_|layer_?norm|layrnorm)/.test(name);
    const isBias = name.endsWith('bias');
    // Matrices: 1/√fan_in (fan_in = all but the first axis); embeddings and LN offsets: fixed small scales.
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const isEmbedding = /embedding|positional|class/.test(name);
    const scale = isNorm ? 0.1 : isBias ? 0.05 : isEmbedding || shape.length < 2 ? 0.5 : 1 / Math.sqrt(fanIn);
    const data = Float32Array.from({ length: count }, () => (isNorm && !isBias ? 1 : 0) + scale * normal());
    tensors.push({ name, shape, data });
  }
  tensors.push({ name: 'logit_scale', shape: [], data: Float32Array.of(Math.log(100)) });
  return tensors;
}

function openClipConfig(arch: ClipArchitecture) {
  return {
    model_cfg: {
      embed_dim: arch.embedDim,
      quick_gelu: arch.activation === 'quick_gelu',
      vision_cfg: {
        image_size: arch.vision.imageSize,
        layers: arch.vision.layers,
        width: arch.vision.width,
        head_width: arch.vision.width / arch.vision.heads,
        mlp_ratio: arch.vision.mlpDim / arch.vision.width,
        patch_size: arch.vision.patchSize,
      },
      text_cfg: {
        context_length: arch.text.contextLength,
        vocab_size: arch.text.vocabSize,
        width: arch.text.width,
        heads: arch.text.heads,
        layers: arch.text.layers,
        mlp_ratio: arch.text.mlpDim / arch.text.width,
      },
    },
    preprocess_cfg: { mean: [...arch.mean], std: [...arch.std] },
  };
}

function hfConfig(arch: ClipArchitecture) {
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: arch.embedDim,
    text_config: {
      hidden_size: arch.text.width,
      intermediate_size: arch.text.mlpDim,
      num_attention_heads: arch.text.heads,
      num_hidden_layers: arch.text.layers,
      max_position_embeddings: arch.text.contextLength,
      vocab_size: arch.text.vocabSize,
      hidden_act: arch.activation,
    },
    vision_config: {
      hidden_size: arch.vision.width,
      intermediate_size: arch.vision.mlpDim,
      num_attention_heads: arch.vision.heads,
      num_hidden_layers: arch.vision.layers,
      image_size: arch.vision.imageSize,
      patch_size: arch.vision.patchSize,
      hidden_act: arch.activation,
    },
  };
}

/** Writes a complete checkpoint directory (weights, config, tokenizer files); returns the weights' sha256. */
export function writeTinyClip(dir: string, layout: 'hf' | 'open_clip', activation: 'quick_gelu' | 'gelu', seed = TINY_SEED): string {
  mkdirSync(dir, { recursive: true });
  const arch = tinyArchitecture(activation);
  const weightsFile = layout === 'hf' ? 'model.safetensors' : 'open_clip_model.safetensors';
  writeSafetensors(join(dir, weightsFile), tinyTensors(arch, layout, seed), { format: 'pt' });
  if (layout === 'hf') writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(arch), null, 2));
  else writeFileSync(join(dir, 'open_clip_config.json'), JSON.stringify(openClipConfig(arch), null, 2));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${TINY_MERGES.join('\n')}\n`);
  return createHash('sha256').update(readFileSync(join(dir, weightsFile))).digest('hex');
}
