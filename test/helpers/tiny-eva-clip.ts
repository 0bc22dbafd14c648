/**
 * A tiny random EVA-CLIP checkpoint in open_clip's layout (open_clip_model.safetensors, open_clip_config.json naming
 * a timm eva02_*_clip_* tower, merges.txt) made without Python, so that the end-to-end tests run everywhere: vision
 * width 64 (one 64-wide head), 2 blocks, SwiGLU 170, patch 8 on a 4 × 4 grid (32 px); open_clip's text tower of
 * width 32 over 16 positions with the tiny CLIP vocabulary (test/helpers/tiny-clip.ts). The open_clip parity of the
 * same loader is test/models/openclip-timm-parity.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../../src/models/clip/clip-architecture.js';
import type { EvaClipArchitecture } from '../../src/models/eva/eva-architecture.js';
import { evaParams } from '../../src/models/eva/eva-weight-map.js';
import { seededNormal, TINY_MERGES } from './tiny-clip.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';

export const TINY_EVA_MODEL_CONFIG = {
  embed_dim: 24,
  vision_cfg: { image_size: 32, timm_model_name: 'eva02_tiny_patch8_clip_32', timm_model_pretrained: false, timm_pool: 'token', timm_proj: null },
  text_cfg: { context_length: 16, vocab_size: 512 + TINY_MERGES.length + 2, width: 32, heads: 2, layers: 2 },
  custom_text: true,
};

const ARCHITECTURE: EvaClipArchitecture = {
  timmModel: TINY_EVA_MODEL_CONFIG.vision_cfg.timm_model_name,
  embedDim: 24,
  vision: { width: 64, layers: 2, heads: 1, mlpDim: 170, patchSize: 8, imageSize: 32 },
  text: { width: 32, layers: 2, heads: 2, mlpDim: 128, contextLength: 16, vocabSize: TINY_EVA_MODEL_CONFIG.text_cfg.vocab_size },
  activation: 'gelu',
  mean: OPENAI_CLIP_MEAN,
  std: OPENAI_CLIP_STD,
};

/** Writes the checkpoint into `dir` and returns `dir`; `reshape` renames a tensor's shape (the bad-input tests). */
export function writeTinyEvaClip(dir: string, options: { seed?: number; reshape?: { name: string; shape: number[] } } = {}): string {
  mkdirSync(dir, { recursive: true });
  const normal = seededNormal(options.seed ?? 20261204);
  const tensors: TensorToWrite[] = [];
  const params = [...evaParams(ARCHITECTURE, 'vision'), ...evaParams(ARCHITECTURE, 'text')];
  for (const key of new Set(params.map((p) => `${p.source}\0${p.sourceShape.join(',')}`))) {
    const [name, dims] = key.split('\0') as [string, string];
    const shape = name === options.reshape?.name ? options.reshape.shape : dims.split(',').map(Number);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const isNormGain = /(norm\d?|ln_\w+|ln_final)\.weight$/.test(name);
    const isEmbedding = /(embedding\.weight|positional_embedding|pos_embed|cls_token)$/.test(name);
    const scale = isNormGain ? 0.1 : name.endsWith('bias') ? 0.05 : isEmbedding ? 0.5 : 1 / Math.sqrt(fanIn);
    tensors.push({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (isNormGain ? 1 : 0) + scale * normal()) });
  }
  tensors.push({ name: 'logit_scale', shape: [], data: Float32Array.of(Math.log(100)) });
  writeSafetensors(join(dir, 'open_clip_model.safetensors'), tensors.sort((a, b) => (a.name < b.name ? -1 : 1)), { format: 'pt' });
  const preprocess = { size: 32, mode: 'RGB', mean: [...OPENAI_CLIP_MEAN], std: [...OPENAI_CLIP_STD], interpolation: 'bicubic', resize_mode: 'shortest' };
  writeFileSync(join(dir, 'open_clip_config.json'), JSON.stringify({ model_cfg: TINY_EVA_MODEL_CONFIG, preprocess_cfg: preprocess }, null, 2));
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${TINY_MERGES.join('\n')}\n`);
  return dir;
}
