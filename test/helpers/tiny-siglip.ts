/**
 * A tiny random SigLIP checkpoint in the HF layout (config.json, model.safetensors, preprocessor_config.json,
 * tokenizer.json, tokenizer_config.json, as transformers' save_pretrained writes them) made without Python, so that
 * the end-to-end tests run everywhere: vision width 32, 2 layers, patch 7 trained on a 4×4 grid (28 px) and used at
 * 35 px (positions resampled on every call); a text tower of 2 layers over 12 positions and a word-level tokenizer.
 * Weights come from the project's seeded PRNG; the transformers parity of the same loader is
 * test/models/siglip-transformers-parity.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { architectureFromHfConfig, SIGLIP_MEAN, SIGLIP_STD, type SiglipArchitecture } from '../../src/models/siglip/siglip-architecture.js';
import { openClipSiglipParams, siglipParams } from '../../src/models/siglip/siglip-weight-map.js';
import type { TowerParam } from '../../src/models/tower-weights.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';

const SPECIALS = ['<pad>', '</s>', '<unk>'];
const WORDS = 'a an the of photo picture drawing image texture close-up blurry small large red cat dog bird car plane house flower tree shirt shoe bag dress coat trouser sandal sneaker boot pullover'.split(' ');

export const TINY_SIGLIP_CONFIG = {
  architectures: ['SiglipModel'],
  model_type: 'siglip',
  text_config: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, vocab_size: SPECIALS.length + WORDS.length, max_position_embeddings: 12, projection_size: 32, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6 },
  vision_config: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, image_size: 28, patch_size: 7, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6 },
};

export const TINY_SIGLIP_PREPROCESSOR = { do_resize: true, size: { height: 35, width: 35 }, resample: 3, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], image_processor_type: 'SiglipImageProcessor' };

/** A word-level tokenizer.json that ends every prompt with </s> (the layout of a converted SigLIP vocabulary). */
function tokenizerJson(): object {
  const added = SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const vocab = Object.fromEntries([...SPECIALS, ...WORDS].map((w, i) => [w, i]));
  const eos = { SpecialToken: { id: '</s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, eos],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, eos, { Sequence: { id: 'B', type_id: 0 } }, eos],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
}

/** Seeded values for every source tensor the parameters read, scaled like a trained net (norm gains ≈ 1, small biases). */
function randomTensors(params: readonly TowerParam[], seed: number): TensorToWrite[] {
  const random = new SeededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const tensors: TensorToWrite[] = [];
  for (const key of new Set(params.map((p) => `${p.source}\0${p.sourceShape.join(',')}`))) {
    const [name, dims] = key.split('\0') as [string, string];
    const shape = dims.split(',').map(Number);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const isNormGain = /(norm\d?|layernorm|post_layernorm|final_layer_norm|ln_\d|ln_final)\.weight$/.test(name);
    const isEmbedding = /embedding(\.weight)?$|probe$|latent$|pos_embed$/.test(name);
    const scale = isNormGain ? 0.1 : name.endsWith('bias') ? 0.05 : isEmbedding ? 0.5 : 1 / Math.sqrt(fanIn);
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (isNormGain ? 1 : 0) + scale * normal());
    tensors.push({ name, shape, data });
  }
  return tensors;
}

/** Writes the checkpoint into `dir` and returns `dir`. */
export function writeTinySiglip(dir: string, seed = 20261203): string {
  mkdirSync(dir, { recursive: true });
  const arch = architectureFromHfConfig(TINY_SIGLIP_CONFIG, 'tiny config', TINY_SIGLIP_PREPROCESSOR);
  const tensors = randomTensors([...siglipParams(arch, 'vision'), ...siglipParams(arch, 'text')], seed);
  tensors.push({ name: 'logit_scale', shape: [1], data: Float32Array.of(Math.log(10)) }, { name: 'logit_bias', shape: [1], data: Float32Array.of(-10) });
  writeSafetensors(join(dir, 'model.safetensors'), tensors.sort((a, b) => (a.name < b.name ? -1 : 1)));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(TINY_SIGLIP_CONFIG, null, 2));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(TINY_SIGLIP_PREPROCESSOR, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '</s>', pad_token: '</s>', unk_token: '<unk>', model_max_length: 12 }));
  return dir;
}


/**
 * The same sizes in open_clip's layout (open_clip_model.safetensors with a timm tower under `visual.trunk.` and the
 * text tower under `text.`, an open_clip_config.json, the tokenizer files beside them), for the open_clip presets and
 * loaders. open_clip's config names the timm tower, whose size word gives the head count: 'so400m', 16 heads of 2.
 */
export const TINY_OPEN_CLIP_SIGLIP_CONFIG = {
  embed_dim: 32,
  custom_text: true,
  vision_cfg: { image_size: 28, timm_model_name: 'vit_so400m_patch7_siglip_28', timm_model_pretrained: false, timm_pool: 'map', timm_proj: 'none' },
  text_cfg: {
    context_length: 12, vocab_size: SPECIALS.length + WORDS.length, width: 32, heads: 4, layers: 2, mlp_ratio: 2,
    no_causal_mask: true, proj_bias: true, pool_type: 'last', norm_kwargs: { eps: 1e-6 }, tokenizer_kwargs: { clean: 'canonicalize' },
  },
};

export function writeTinyOpenClipSiglip(dir: string, seed = 20261203): string {
  mkdirSync(dir, { recursive: true });
  const text = TINY_OPEN_CLIP_SIGLIP_CONFIG.text_cfg;
  const arch: SiglipArchitecture = {
    vision: { width: 32, layers: 2, heads: 16, mlpDim: 64, activation: 'gelu', layerNormEps: 1e-6, patchSize: 7, positionGrid: 4, head: true },
    text: { width: 32, layers: 2, heads: 4, mlpDim: 64, activation: 'gelu', layerNormEps: 1e-6, vocabSize: text.vocab_size, contextLength: 12, projection: 32 },
    inputSize: 28,
    mean: SIGLIP_MEAN,
    std: SIGLIP_STD,
  };
  const tensors = randomTensors([...openClipSiglipParams(arch, 'vision'), ...openClipSiglipParams(arch, 'text')], seed);
  tensors.push({ name: 'logit_scale', shape: [], data: Float32Array.of(Math.log(10)) }, { name: 'logit_bias', shape: [1], data: Float32Array.of(-10) });
  writeSafetensors(join(dir, 'open_clip_model.safetensors'), tensors.sort((a, b) => (a.name < b.name ? -1 : 1)));
  const preprocess = { size: 28, mean: [...SIGLIP_MEAN], std: [...SIGLIP_STD], interpolation: 'bicubic', resize_mode: 'squash' };
  writeFileSync(join(dir, 'open_clip_config.json'), JSON.stringify({ model_cfg: TINY_OPEN_CLIP_SIGLIP_CONFIG, preprocess_cfg: preprocess }, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '</s>', pad_token: '</s>', unk_token: '<unk>', model_max_length: 12 }));
  return dir;
}
