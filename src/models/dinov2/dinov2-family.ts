/**
 * The 'dinov2' encoder family: presets in configs/targets/ (dinov2-s-14 … dinov2-g-14-reg) and any DINOv2 checkpoint
 * directory in the HF transformers layout (Dinov2Model, Dinov2WithRegistersModel). Weights are found as for CLIP
 * (src/models/checkpoint-files.ts). The checkpoint's own config.json and preprocessor_config.json decide the
 * architecture, crop and pixel statistics; a preset's architecture serves the memory estimate before any download.
 */
import { WASM_HEAP_PER_TENSOR_BYTE } from '../../runtime/backend.js';
import { recomputeBlocks } from '../../runtime/recompute-in-backward.js';
import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { HubFiles } from '../../hub/hub-download.js';
import { locateWeights, parseHub, sizedTargetId, weightsSha256, withCheckedWeights } from '../checkpoint-files.js';
import type { Encoder } from '../encoder.js';
import type { EncoderFamily, LoadOptions, TargetConfig } from '../encoder-family.js';
import { architectureFromPreset, dinov2TokenCount, type Dinov2Architecture } from './dinov2-architecture.js';
import { inspectDinov2Checkpoint } from './dinov2-checkpoint.js';
import { DINOV2_FEATURE_KINDS, Dinov2Encoder } from './dinov2-encoder.js';
import type { Dinov2Readout } from './dinov2-tower.js';
import { checkDinov2Checkpoint } from './dinov2-weight-map.js';

export interface Dinov2Target {
  config: TargetConfig;
  architecture: Dinov2Architecture | null;
  features: Dinov2Readout;
  hub: HubFiles | null;
  checkpointDir: string | null;
}

function featureKind(value: unknown, where: string): Dinov2Readout {
  if (!(DINOV2_FEATURE_KINDS as readonly unknown[]).includes(value)) {
    throw new UserError(`${where}: DINOv2 has ${DINOV2_FEATURE_KINDS.map((k) => `'${k}'`).join(' and ')} features (no projection head, no text tower), got ${JSON.stringify(value)}`);
  }
  return value as Dinov2Readout;
}

export function parseDinov2Target(config: TargetConfig): Dinov2Target {
  const origin = config.origin;
  const checkpointDir = typeof config.checkpointDir === 'string' ? config.checkpointDir : null;
  const architecture = config.architecture === undefined ? null : architectureFromPreset(config.architecture, origin);
  if (!architecture && !checkpointDir) throw new UserError(`${origin}: a dinov2 target needs 'architecture' or 'checkpointDir'`);
  return { config, architecture, features: featureKind(config.features ?? 'pre-projection', `${origin}: 'features'`), hub: parseHub(config.hub, origin), checkpointDir };
}

/**
 * Tensor memory (bytes) to hold the model and run one image's input gradient, counted as for CLIP
 * (src/models/clip/clip-family.ts): weights once, twice where FastLinear keeps a transposed copy for dx (wasm); per
 * block the activations the tape keeps, about 20 [T, W] tensors and 4 [T, FFN] (SwiGLU: 6, its gate and up halves
 * and their product) and 3 [H, T, T], doubled for the gradients alive during the backward pass; with blocks
 * recomputed in the backward pass (the default, src/runtime/recompute-in-backward.ts) each block's [T, W] input
 * and one block's activations at a time.
 */
export function estimateDinov2Bytes(arch: Dinov2Architecture, options: { transposedCopies: boolean; recompute: boolean }): number {
  const { width: W, ffnHidden: H, layers, heads, patchSize: p, positionGrid: G } = arch;
  const T = dinov2TokenCount(arch);
  const ffnWeights = (arch.ffn === 'swiglu' ? 3 : 2) * W * H;
  const blockWeights = (4 * W * W + ffnWeights) * (options.transposedCopies ? 2 : 1) + 10 * W + (arch.ffn === 'swiglu' ? 2 : 1) * H;
  const values = layers * blockWeights + p * p * 3 * W + (1 + G * G + T + arch.registers) * W + 3 * W;
  const blockActivations = 20 * T * W + (arch.ffn === 'swiglu' ? 6 : 4) * T * H + 3 * heads * T * T;
  const activations = options.recompute ? layers * T * W + 2 * blockActivations : 2 * layers * blockActivations;
  return 4 * (values + activations);
}

/**
 * The architecture at the input size asked for (an attack preset's or --input-size): the position embeddings are
 * resampled to any patch grid, and the resize before the crop keeps the checkpoint's ratio (256/224 for DINOv2).
 */
function atInputSize(arch: Dinov2Architecture, inputSize: number | undefined, origin: string): Dinov2Architecture {
  if (inputSize === undefined || inputSize === arch.inputSize) return arch;
  if (!Number.isInteger(inputSize) || inputSize <= 0 || inputSize % arch.patchSize) {
    throw new UserError(`${origin}: input size ${inputSize} is not a positive multiple of the patch size ${arch.patchSize}`);
  }
  return { ...arch, inputSize, resizeSize: Math.round((inputSize * arch.resizeSize) / arch.inputSize) };
}

function architectureOf(target: Dinov2Target, inputSize: number | undefined): Dinov2Architecture {
  if (target.architecture) return atInputSize(target.architecture, inputSize, target.config.origin);
  const checkpoint = target.checkpointDir ? inspectDinov2Checkpoint(target.checkpointDir) : null;
  if (!checkpoint) throw new UserError(`${target.config.origin}: no DINOv2 checkpoint in ${target.checkpointDir}`);
  return atInputSize(checkpoint.architecture, inputSize, target.config.origin);
}

export const dinov2Family: EncoderFamily<Dinov2Target> = {
  name: 'dinov2',
  featureKinds: DINOV2_FEATURE_KINDS,
  configFields: ['features', 'hub', 'architecture', 'checkpointDir'],

  checkpointFormats: "HF config.json with model_type 'dinov2' or 'dinov2_with_registers' + model.safetensors",

  validate: parseDinov2Target,

  estimateBytes(target, options) {
    const wasm = options.backend.tfBackend === 'wasm';
    const tensors = estimateDinov2Bytes(architectureOf(target, options.inputSize), { transposedCopies: wasm, recompute: recomputeBlocks() });
    return wasm ? tensors * WASM_HEAP_PER_TENSOR_BYTE : tensors;
  },

  async load(target, options: LoadOptions): Promise<Encoder> {
    const dir = await locateWeights(target, options);
    const checkpoint = inspectDinov2Checkpoint(dir);
    if (!checkpoint) throw new UserError(`${dir}: no DINOv2 checkpoint (expected config.json with model_type dinov2 or dinov2_with_registers, and model.safetensors)`);
    const features = options.features === undefined ? target.features : featureKind(options.features, '--features');
    const architecture = atInputSize(checkpoint.architecture, options.inputSize, '--input-size');
    const preset = target.architecture;
    if (preset && (preset.width !== architecture.width || preset.layers !== architecture.layers || preset.registers !== architecture.registers)) {
      // The memory estimate was the preset's; the checkpoint's own config decides what is built.
      options.log?.(
        `${dir}: width ${architecture.width}, ${architecture.layers} layers, ${architecture.registers} registers, where ${target.config.origin} says ` +
          `${preset.width}, ${preset.layers}, ${preset.registers}; following the checkpoint`,
      );
    }
    const id = sizedTargetId(target.config.name, architecture.inputSize, checkpoint.architecture.inputSize);
    return withCheckedWeights(
      checkpoint.weights,
      (source) => checkDinov2Checkpoint(source, architecture),
      async (source) => new Dinov2Encoder({ id, architecture, source, features, weightsSha256: await weightsSha256(source.files), onProgress: options.onProgress }),
    );
  },

  configFromCheckpointDir(dir) {
    const checkpoint = inspectDinov2Checkpoint(dir);
    if (!checkpoint) return null;
    const arch = checkpoint.architecture;
    return {
      name: basename(dir),
      family: 'dinov2',
      description: `DINOv2 checkpoint in ${dir} (width ${arch.width}, ${arch.layers} layers, ${arch.registers} registers, ${arch.ffn} FFN)`,
      origin: dir,
      checkpointDir: dir,
    };
  },
};
