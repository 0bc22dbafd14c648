/**
 * A tiny random DINOv2 checkpoint in the HF layout (config.json, model.safetensors, preprocessor_config.json, as
 * transformers' save_pretrained writes them) made without Python, so that the end-to-end tests run everywhere:
 * width 32, 2 layers, patch 7, trained on a 4×4 grid (28 px), 2 register tokens, and a 35 px crop after a 40 px
 * resize, so positions are resampled on every call. Its weights come from the project's seeded PRNG; the
 * transformers parity of the same loader is test/models/dinov2-transformers-parity.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { architectureFromHfConfig } from '../../src/models/dinov2/dinov2-architecture.js';
import { dinov2Params } from '../../src/models/dinov2/dinov2-weight-map.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';

export const TINY_DINOV2_CONFIG = {
  architectures: ['Dinov2WithRegistersModel'],
  model_type: 'dinov2_with_registers',
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  mlp_ratio: 4,
  hidden_act: 'gelu',
  image_size: 28,
  patch_size: 7,
  num_register_tokens: 2,
  layer_norm_eps: 1e-6,
  qkv_bias: true,
  use_swiglu_ffn: false,
};

export const TINY_DINOV2_PREPROCESSOR = {
  crop_size: { height: 35, width: 35 },
  do_center_crop: true,
  do_resize: true,
  size: { shortest_edge: 40 },
  image_mean: [0.485, 0.456, 0.406],
  image_std: [0.229, 0.224, 0.225],
  image_processor_type: 'BitImageProcessor',
  resample: 3,
};

/** Writes the checkpoint into `dir` and returns `dir`. */
export function writeTinyDinov2(dir: string, seed = 20261203): string {
  mkdirSync(dir, { recursive: true });
  const arch = architectureFromHfConfig(TINY_DINOV2_CONFIG, 'tiny config');
  const random = new SeededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const tensors: TensorToWrite[] = [];
  for (const key of new Set(dinov2Params(arch).map((p) => `${p.source}\0${p.sourceShape.join(',')}`))) {
    const [name, dims] = key.split('\0') as [string, string];
    const shape = dims.split(',').map(Number);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const isNormGain = /norm\d?\.weight$|layernorm\.weight$/.test(name);
    // Matrices and the patch conv: 1/√fan_in; tokens and positions: 0.5; layer scales and LN gains ≈ 1; small biases.
    const isEmbedding = /_token|position_embeddings/.test(name);
    const scale = name.endsWith('lambda1') ? 0.3 : isNormGain ? 0.1 : name.endsWith('bias') ? 0.05 : isEmbedding ? 0.5 : 1 / Math.sqrt(fanIn);
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (isNormGain || name.endsWith('lambda1') ? 1 : 0) + scale * normal());
    tensors.push({ name, shape, data });
  }
  tensors.push({ name: 'embeddings.mask_token', shape: [1, 32], data: new Float32Array(32) });
  writeSafetensors(join(dir, 'model.safetensors'), tensors.sort((a, b) => (a.name < b.name ? -1 : 1)));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(TINY_DINOV2_CONFIG, null, 2));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(TINY_DINOV2_PREPROCESSOR, null, 2));
  return dir;
}
