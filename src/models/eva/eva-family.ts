/**
 * The 'eva-clip' encoder family: presets in configs/targets/ (eva02-*) and any EVA-CLIP checkpoint directory in
 * open_clip's layout (open_clip's EVA02-B-16, EVA02-L-14, EVA02-L-14-336). Weights are found as for CLIP
 * (src/models/checkpoint-files.ts); the checkpoint's own config and header decide what is built, a preset's
 * architecture serves the memory estimate before any download.
 */
import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { HubFiles } from '../../hub/hub-download.js';
import { WASM_HEAP_PER_TENSOR_BYTE } from '../../runtime/backend.js';
import { recomputeBlocks } from '../../runtime/recompute-in-backward.js';
import { locateWeights, parseHub, weightsSha256, withCheckedWeights } from '../checkpoint-files.js';
import type { Encoder } from '../encoder.js';
import type { EncoderFamily, LoadOptions, TargetConfig } from '../encoder-family.js';
import { ClipTokenizer } from '../clip/clip-tokenizer.js';
import { architectureFromPreset, evaTokenCount, type EvaClipArchitecture } from './eva-architecture.js';
import { inspectEvaCheckpoint } from './eva-checkpoint.js';
import { EVA_FEATURE_KINDS, EvaEncoder } from './eva-encoder.js';
import type { EvaReadout } from './eva-vision-tower.js';
import { checkEvaCheckpoint } from './eva-weight-map.js';

export interface EvaTarget {
  config: TargetConfig;
  architecture: EvaClipArchitecture | null;
  features: EvaReadout;
  hub: HubFiles | null;
  checkpointDir: string | null;
}

function featureKind(value: unknown, where: string): EvaReadout {
  if (!(EVA_FEATURE_KINDS as readonly unknown[]).includes(value)) {
    throw new UserError(`${where}: EVA-CLIP has ${EVA_FEATURE_KINDS.map((k) => `'${k}'`).join(' and ')} features, got ${JSON.stringify(value)}`);
  }
  return value as EvaReadout;
}

export function parseEvaTarget(config: TargetConfig): EvaTarget {
  const origin = config.origin;
  const checkpointDir = typeof config.checkpointDir === 'string' ? config.checkpointDir : null;
  const architecture = config.architecture === undefined ? null : architectureFromPreset(config.architecture, origin);
  if (!architecture && !checkpointDir) throw new UserError(`${origin}: an eva-clip target needs 'architecture' or 'checkpointDir'`);
  return { config, architecture, features: featureKind(config.features ?? 'pre-projection', `${origin}: 'features'`), hub: parseHub(config.hub, origin), checkpointDir };
}

/**
 * Tensor memory (bytes) to hold the model and run one image's input gradient, counted as for SigLIP
 * (src/models/siglip/siglip-family.ts): vision weights once, twice where FastLinear keeps a transposed copy for dx
 * (wasm), the text tower once (loaded on the first zero-shot prompt); per vision block about 24 [T, W] tensors (the
 * rotated q and k and the inner norm add to CLIP's 20), 6 [T, MLP] (gate, up, their product and its norm) and 3
 * [H, T, T], kept by the tape and doubled in the backward pass; with blocks recomputed in the backward pass (the
 * default) each block's [T, W] input and one block's activations.
 */
export function estimateEvaBytes(arch: EvaClipArchitecture, options: { transposedCopies: boolean; recompute: boolean }): number {
  const { width: W, mlpDim: H, layers, heads, patchSize: p } = arch.vision;
  const T = evaTokenCount(arch.vision);
  const copies = options.transposedCopies ? 2 : 1;
  const blockWeights = (4 * W * W + 3 * W * H) * copies + 11 * W + 3 * H;
  const t = arch.text;
  const textWeights = t.layers * (4 * t.width ** 2 + 2 * t.width * t.mlpDim) + (t.vocabSize + t.contextLength) * t.width + t.width * arch.embedDim + t.contextLength ** 2;
  const values = layers * blockWeights + p * p * 3 * W + T * W * 3 + W * arch.embedDim + textWeights;
  const blockActivations = 24 * T * W + 6 * T * H + 3 * heads * T * T;
  const activations = options.recompute ? layers * T * W + 2 * blockActivations : 2 * layers * blockActivations;
  return 4 * (values + activations);
}

function architectureOf(target: EvaTarget): EvaClipArchitecture {
  if (target.architecture) return target.architecture;
  const checkpoint = target.checkpointDir ? inspectEvaCheckpoint(target.checkpointDir) : null;
  if (!checkpoint) throw new UserError(`${target.config.origin}: no EVA-CLIP checkpoint in ${target.checkpointDir}`);
  return checkpoint.architecture;
}

/** The tower's input side is its trained one: its learned positions are not resampled. */
function checkInputSize(arch: EvaClipArchitecture, inputSize: number | undefined, name: string): void {
  if (inputSize !== undefined && inputSize !== arch.vision.imageSize) {
    throw new UserError(`target '${name}': EVA-CLIP runs at its trained ${arch.vision.imageSize} px only, not ${inputSize} px (drop --input-size / the preset's inputSize)`);
  }
}

export const evaClipFamily: EncoderFamily<EvaTarget> = {
  name: 'eva-clip',
  featureKinds: EVA_FEATURE_KINDS,
  configFields: ['features', 'hub', 'openClip', 'architecture', 'checkpointDir'],

  checkpointFormats: 'open_clip_model.safetensors + open_clip_config.json naming a timm eva02_*_clip_* vision tower',

  validate: parseEvaTarget,

  estimateBytes(target, options) {
    const wasm = options.backend.tfBackend === 'wasm';
    const tensors = estimateEvaBytes(architectureOf(target), { transposedCopies: wasm, recompute: recomputeBlocks() });
    return wasm ? tensors * WASM_HEAP_PER_TENSOR_BYTE : tensors;
  },

  async load(target, options: LoadOptions): Promise<Encoder> {
    const dir = await locateWeights(target, options);
    const checkpoint = inspectEvaCheckpoint(dir);
    if (!checkpoint) throw new UserError(`${dir}: no EVA-CLIP checkpoint (expected open_clip_model.safetensors + open_clip_config.json naming a timm eva02_*_clip_* tower)`);
    const { architecture } = checkpoint;
    checkInputSize(architecture, options.inputSize, target.config.name);
    const features = options.features === undefined ? target.features : featureKind(options.features, '--features');
    const preset = target.architecture;
    if (preset && (preset.vision.width !== architecture.vision.width || preset.vision.layers !== architecture.vision.layers)) {
      // The memory estimate was the preset's; the checkpoint's own config and tensors decide what is built.
      options.log?.(`${dir}: width ${architecture.vision.width}, ${architecture.vision.layers} blocks, where ${target.config.origin} says ${preset.vision.width}, ${preset.vision.layers}; following the checkpoint`);
    }
    return withCheckedWeights(
      checkpoint.weights,
      (source) => checkEvaCheckpoint(source, architecture),
      async (source) =>
        new EvaEncoder({
          id: target.config.name,
          architecture,
          source,
          tokenizer: checkpoint.tokenizer ? ClipTokenizer.fromFiles(checkpoint.tokenizer.merges, checkpoint.tokenizer.vocab) : null,
          features,
          weightsSha256: await weightsSha256(source.files),
          onProgress: options.onProgress,
        }),
    );
  },

  configFromCheckpointDir(dir) {
    const checkpoint = inspectEvaCheckpoint(dir);
    if (!checkpoint) return null;
    const { vision, timmModel } = checkpoint.architecture;
    return {
      name: basename(dir),
      family: 'eva-clip',
      description: `EVA-CLIP checkpoint in ${dir} (open_clip layout, timm ${timmModel}: width ${vision.width}, ${vision.layers} blocks, patch ${vision.patchSize})`,
      origin: dir,
      checkpointDir: dir,
    };
  },
};
