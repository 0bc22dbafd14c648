/**
 * The 'siglip' encoder family: presets in configs/targets/ (siglip-*, siglip2-*) and any SigLIP checkpoint directory in
 * the HF transformers layout (SiglipModel, SiglipVisionModel; the fixed-resolution SigLIP 2 checkpoints are
 * SiglipModel) or in open_clip's (ViT-*-SigLIP*: a timm tower and open_clip's text tower). Weights are found as for
 * CLIP (src/models/checkpoint-files.ts). The checkpoint's own config (config.json and preprocessor_config.json, or
 * open_clip_config.json and the weights' header) decides the architecture, input size and pixel statistics; a preset's
 * architecture serves the memory estimate before any download.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { HubFiles } from '../../hub/hub-download.js';
import { WASM_HEAP_PER_TENSOR_BYTE } from '../../runtime/backend.js';
import { recomputeBlocks } from '../../runtime/recompute-in-backward.js';
import { locateWeights, parseHub, sizedTargetId, weightsSha256, withCheckedWeights } from '../checkpoint-files.js';
import type { Encoder } from '../encoder.js';
import type { EncoderFamily, LoadOptions, TargetConfig } from '../encoder-family.js';
import { HfTokenizer } from '../hf-tokenizer.js';
import { architectureFromPreset, siglipTokenCount, type SiglipArchitecture } from './siglip-architecture.js';
import { inspectSiglipCheckpoint } from './siglip-checkpoint.js';
import { SIGLIP_FEATURE_KINDS, SiglipEncoder } from './siglip-encoder.js';
import type { SiglipReadout } from './siglip-vision-tower.js';
import { checkOpenClipSiglipCheckpoint, checkSiglipCheckpoint } from './siglip-weight-map.js';

export interface SiglipTarget {
  config: TargetConfig;
  architecture: SiglipArchitecture | null;
  features: SiglipReadout;
  hub: HubFiles | null;
  checkpointDir: string | null;
}

function featureKind(value: unknown, where: string): SiglipReadout {
  if (!(SIGLIP_FEATURE_KINDS as readonly unknown[]).includes(value)) {
    throw new UserError(`${where}: SigLIP has ${SIGLIP_FEATURE_KINDS.map((k) => `'${k}'`).join(' and ')} features, got ${JSON.stringify(value)}`);
  }
  return value as SiglipReadout;
}

export function parseSiglipTarget(config: TargetConfig): SiglipTarget {
  const origin = config.origin;
  const checkpointDir = typeof config.checkpointDir === 'string' ? config.checkpointDir : null;
  const architecture = config.architecture === undefined ? null : architectureFromPreset(config.architecture, origin);
  if (!architecture && !checkpointDir) throw new UserError(`${origin}: a siglip target needs 'architecture' or 'checkpointDir'`);
  return { config, architecture, features: featureKind(config.features ?? 'projected', `${origin}: 'features'`), hub: parseHub(config.hub, origin), checkpointDir };
}

/**
 * Tensor memory (bytes) to hold the model and run one image's input gradient, counted as for DINOv2
 * (src/models/dinov2/dinov2-family.ts): weights once, twice for the vision tower where FastLinear keeps a transposed
 * copy for dx (wasm), the text tower once (never differentiated; loaded on the first zero-shot prompt); per vision
 * block about 20 [T, W] tensors, 4 [T, FFN] and 3 [H, T, T] kept by the tape, doubled during the backward pass; with
 * blocks recomputed in the backward pass (the default) each block's [T, W] input and one block's activations.
 */
export function estimateSiglipBytes(arch: SiglipArchitecture, options: { transposedCopies: boolean; recompute: boolean }): number {
  const { width: W, mlpDim: H, layers, heads, patchSize: p, positionGrid: G } = arch.vision;
  const T = siglipTokenCount(arch);
  const copies = options.transposedCopies ? 2 : 1;
  const blockWeights = (4 * W * W + 2 * W * H) * copies + 9 * W + H;
  const headWeights = arch.vision.head ? (3 * W * W + 2 * W * H) * copies + 8 * W + H : 0;
  const text = arch.text;
  const textWeights = text ? text.layers * (4 * text.width ** 2 + 2 * text.width * text.mlpDim) + (text.vocabSize + text.contextLength) * text.width + text.width * text.projection : 0;
  const values = layers * blockWeights + headWeights + p * p * 3 * W + (G * G + T) * W + textWeights;
  const blockActivations = 20 * T * W + 4 * T * H + 3 * heads * T * T;
  const activations = options.recompute ? layers * T * W + 2 * blockActivations : 2 * layers * blockActivations;
  return 4 * (values + activations);
}

/** The architecture at the input size asked for (an attack preset's or --input-size): positions are resampled. */
function atInputSize(arch: SiglipArchitecture, inputSize: number | undefined, origin: string): SiglipArchitecture {
  if (inputSize === undefined || inputSize === arch.inputSize) return arch;
  if (!Number.isInteger(inputSize) || inputSize < arch.vision.patchSize) {
    throw new UserError(`${origin}: input size ${inputSize} is not an integer of at least the patch size ${arch.vision.patchSize}`);
  }
  return { ...arch, inputSize };
}

function architectureOf(target: SiglipTarget, inputSize: number | undefined): SiglipArchitecture {
  if (target.architecture) return atInputSize(target.architecture, inputSize, target.config.origin);
  const checkpoint = target.checkpointDir ? inspectSiglipCheckpoint(target.checkpointDir) : null;
  if (!checkpoint) throw new UserError(`${target.config.origin}: no SigLIP checkpoint in ${target.checkpointDir}`);
  return atInputSize(checkpoint.architecture, inputSize, target.config.origin);
}

/** The checkpoint's tokenizer, or the one line encodeText gives when it has none. */
function tokenizerIn(dir: string): HfTokenizer | { missing: string } {
  const tokenizer = HfTokenizer.fromDir(dir);
  if (tokenizer) return tokenizer;
  const sentencePiece = existsSync(join(dir, 'spiece.model')) || existsSync(join(dir, 'tokenizer.model'));
  return {
    missing:
      `${join(dir, 'tokenizer.json')} is missing: the text tower reads tokenizer.json (+ tokenizer_config.json)` +
      (sentencePiece ? '; this checkpoint ships only a SentencePiece model file, which advood does not parse' : ''),
  };
}

export const siglipFamily: EncoderFamily<SiglipTarget> = {
  name: 'siglip',
  featureKinds: SIGLIP_FEATURE_KINDS,
  configFields: ['features', 'hub', 'architecture', 'checkpointDir'],

  checkpointFormats:
    "HF config.json with model_type 'siglip' or 'siglip_vision_model' + model.safetensors, or open_clip_model.safetensors + open_clip_config.json naming a timm vit_*_siglip_* tower (+ tokenizer.json for text)",

  validate: parseSiglipTarget,

  estimateBytes(target, options) {
    const wasm = options.backend.tfBackend === 'wasm';
    const tensors = estimateSiglipBytes(architectureOf(target, options.inputSize), { transposedCopies: wasm, recompute: recomputeBlocks() });
    return wasm ? tensors * WASM_HEAP_PER_TENSOR_BYTE : tensors;
  },

  async load(target, options: LoadOptions): Promise<Encoder> {
    const dir = await locateWeights(target, options);
    const checkpoint = inspectSiglipCheckpoint(dir);
    if (!checkpoint) {
      throw new UserError(`${dir}: no SigLIP checkpoint (expected config.json with model_type siglip or siglip_vision_model and model.safetensors, or open_clip_model.safetensors + open_clip_config.json)`);
    }
    const features = options.features === undefined ? target.features : featureKind(options.features, '--features');
    if (checkpoint.layout === 'open_clip' && options.inputSize !== undefined && options.inputSize !== checkpoint.architecture.inputSize) {
      // timm resamples positions with an antialiased bicubic filter, which SiglipVisionTower does not reproduce.
      throw new UserError(`target '${target.config.name}': an open_clip SigLIP runs at its configured ${checkpoint.architecture.inputSize} px only, not ${options.inputSize} px`);
    }
    const architecture = atInputSize(checkpoint.architecture, options.inputSize, '--input-size');
    const preset = target.architecture;
    if (preset && (preset.vision.width !== architecture.vision.width || preset.vision.layers !== architecture.vision.layers)) {
      // The memory estimate was the preset's; the checkpoint's own config decides what is built.
      options.log?.(`${dir}: width ${architecture.vision.width}, ${architecture.vision.layers} layers, where ${target.config.origin} says ${preset.vision.width}, ${preset.vision.layers}; following the checkpoint`);
    }
    const tokenizer = architecture.text ? tokenizerIn(dir) : { missing: 'no text tower (a SiglipVisionModel checkpoint)' };
    const id = sizedTargetId(target.config.name, architecture.inputSize, checkpoint.architecture.inputSize);
    return withCheckedWeights(
      checkpoint.weights,
      (source) => (checkpoint.layout === 'open_clip' ? checkOpenClipSiglipCheckpoint(source, architecture) : checkSiglipCheckpoint(source, architecture)),
      async (source) =>
        new SiglipEncoder({
          id,
          architecture,
          layout: checkpoint.layout,
          promptCleaning: checkpoint.promptCleaning,
          source,
          tokenizer,
          features,
          weightsSha256: await weightsSha256(source.files),
          onProgress: options.onProgress,
        }),
    );
  },

  configFromCheckpointDir(dir) {
    const checkpoint = inspectSiglipCheckpoint(dir);
    if (!checkpoint) return null;
    const { vision, text } = checkpoint.architecture;
    return {
      name: basename(dir),
      family: 'siglip',
      description: `SigLIP checkpoint (${checkpoint.layout} layout) in ${dir} (vision width ${vision.width}, ${vision.layers} layers, patch ${vision.patchSize}${text ? `; text tower, ${text.contextLength} tokens` : '; no text tower'})`,
      origin: dir,
      checkpointDir: dir,
    };
  },
};
