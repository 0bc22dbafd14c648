/**
 * The 'clip' encoder family: presets in configs/targets/ (vit-b-32 … vit-g) and any CLIP checkpoint
 * directory in the HF transformers or open_clip layout.
 *
 * Weights are found in this order: --weights DIR; the checkpoint directory the target names; the Hugging Face
 * cache (huggingface_hub's layout); a download from $HF_ENDPOINT into that cache.
 */
import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import { locateWeights, parseHub, weightsSha256, withCheckedWeights } from '../checkpoint-files.js';
import { LOCAL_FEATURE_KIND, type EmbeddingKind, type Encoder } from '../encoder.js';
import type { EncoderFamily, LoadOptions, TargetConfig } from '../encoder-family.js';
import { WASM_HEAP_PER_TENSOR_BYTE } from '../../runtime/backend.js';
import { recomputeBlocks } from '../../runtime/recompute-in-backward.js';
import type { HubFiles } from '../../hub/hub-download.js';
import { architectureFromPreset, visionTokenCount, type ClipArchitecture } from './clip-architecture.js';
import { inspectClipCheckpoint } from './clip-checkpoint.js';
import { CLIP_FEATURE_KINDS, ClipEncoder } from './clip-encoder.js';
import { ClipTokenizer } from './clip-tokenizer.js';
import { checkCheckpointKeys, type ClipLayout } from './clip-weight-map.js';

/** A validated clip target. */
export interface ClipTarget {
  /** The config it was read from (its name and origin name the encoder and the errors). */
  config: TargetConfig;
  architecture: ClipArchitecture | null;
  features: EmbeddingKind;
  layout: ClipLayout | null;
  hub: HubFiles | null;
  /** Set when the target *is* a checkpoint directory. */
  checkpointDir: string | null;
}

export function parseClipTarget(config: TargetConfig): ClipTarget {
  const origin = config.origin;
  const features = (config.features ?? 'pre-projection') as EmbeddingKind;
  if (!CLIP_FEATURE_KINDS.includes(features)) throw new UserError(`${origin}: 'features' must be one of ${CLIP_FEATURE_KINDS.join(', ')}`);
  const layout = config.layout ?? null;
  if (layout !== null && layout !== 'hf' && layout !== 'open_clip') throw new UserError(`${origin}: 'layout' must be 'hf' or 'open_clip'`);
  const checkpointDir = typeof config.checkpointDir === 'string' ? config.checkpointDir : null;
  const architecture = config.architecture === undefined ? null : architectureFromPreset(config.architecture, origin, config.mean, config.std);
  if (!architecture && !checkpointDir) throw new UserError(`${origin}: a clip target needs 'architecture' or 'checkpointDir'`);
  return { config, architecture, features, layout: layout as ClipLayout | null, hub: parseHub(config.hub, origin), checkpointDir };
}

function blockValues(width: number, mlp: number, transposedCopies: boolean): { weights: number; other: number } {
  const weights = 4 * width * width + 2 * width * mlp;
  // other: biases (q, k, v, out, fc2: 5·width; fc1: mlp) and two layer norms (4·width).
  return { weights: weights * (transposedCopies ? 2 : 1), other: 9 * width + mlp };
}

/**
 * Tensor memory (bytes) to hold both towers and run one image's input gradient through the vision tower.
 * Counts: vision weights once, twice where FastLinear keeps a transposed copy for dx (wasm only,
 * src/runtime/fast-linear.ts); text weights once (loaded on the first encodeText); and the activations of a
 * vision block — about 20 [T, W] tensors (layer norms, q/k/v and their head-split copies, residuals), 4 [T, MLP]
 * (fc1, activation pieces) and 3 [H, T, T] (scores, softmax) — doubled for the gradients alive during the
 * backward pass. With blocks recomputed in the backward pass (the default, src/runtime/recompute-in-backward.ts)
 * the tape keeps each block's [T, W] input and one block's activations at a time; otherwise every block's.
 * Measured on a random ViT-L/14 vision tower at batch 1 (tf.profile, tensorflow; bench/recompute.ts): 1.42 GB
 * recomputed, 4.45 GB kept, against 1.34 and 3.64 GB from this count without the text tower.
 */
export function estimateClipBytes(arch: ClipArchitecture, options: { transposedCopies: boolean; recompute: boolean }): number {
  const v = arch.vision;
  const t = arch.text;
  const T = visionTokenCount(v);
  const vb = blockValues(v.width, v.mlpDim, options.transposedCopies);
  const visionValues =
    v.layers * (vb.weights + vb.other) + 2 * v.patchSize * v.patchSize * 3 * v.width + T * v.width + 5 * v.width + 2 * v.width * arch.embedDim;
  const tb = blockValues(t.width, t.mlpDim, false);
  const textValues = t.layers * (tb.weights + tb.other) + (t.vocabSize + t.contextLength) * t.width + t.width * arch.embedDim + t.contextLength ** 2;
  const blockActivations = 20 * T * v.width + 4 * T * v.mlpDim + 3 * v.heads * T * T;
  const activationValues = options.recompute ? v.layers * T * v.width + 2 * blockActivations : 2 * v.layers * blockActivations;
  return 4 * (visionValues + textValues + activationValues);
}

function architectureOf(target: ClipTarget): ClipArchitecture {
  if (target.architecture) return target.architecture;
  const checkpoint = target.checkpointDir ? inspectClipCheckpoint(target.checkpointDir) : null;
  if (!checkpoint?.architecture) throw new UserError(`${target.config.origin}: cannot tell the architecture (no config in the checkpoint)`);
  return checkpoint.architecture;
}

export const clipFamily: EncoderFamily<ClipTarget> = {
  name: 'clip',
  featureKinds: [...CLIP_FEATURE_KINDS, LOCAL_FEATURE_KIND],
  configFields: ['features', 'layout', 'hub', 'openClip', 'architecture', 'checkpointDir', 'mean', 'std'],

  checkpointFormats: "HF config.json with model_type 'clip' + model.safetensors, or open_clip_model.safetensors + open_clip_config.json",

  validate: parseClipTarget,

  estimateBytes(target, options) {
    const wasm = options.backend.tfBackend === 'wasm';
    const tensors = estimateClipBytes(architectureOf(target), { transposedCopies: wasm, recompute: recomputeBlocks() });
    return wasm ? tensors * WASM_HEAP_PER_TENSOR_BYTE : tensors;
  },

  async load(target, options): Promise<Encoder> {
    const { config } = target;
    const dir = await locateWeights(target, options);
    const checkpoint = inspectClipCheckpoint(dir);
    if (!checkpoint) {
      throw new UserError(`${dir}: no CLIP checkpoint (expected config.json + model.safetensors[.index.json], or open_clip_model.safetensors)`);
    }
    if (target.layout && target.layout !== checkpoint.layout) {
      options.log?.(`${dir}: ${checkpoint.layout} layout, where ${config.origin} expects ${target.layout}; reading it as ${checkpoint.layout}`);
    }
    // The checkpoint's own config knows its activation and head count (shapes cannot tell); a preset
    // without one supplies them. Either way every key and shape is checked against the header.
    const arch = checkpoint.architecture ?? target.architecture;
    if (!arch) throw new UserError(`${dir}: the checkpoint has no config (config.json / open_clip_config.json) and the target names no architecture`);
    if (target.architecture && checkpoint.architecture && target.architecture.activation !== checkpoint.architecture.activation) {
      options.log?.(`${dir}: uses ${checkpoint.architecture.activation}, not the preset's ${target.architecture.activation}; following the checkpoint`);
    }
    return withCheckedWeights(
      checkpoint.weights,
      (source) => checkCheckpointKeys(source, arch, checkpoint.layout),
      async (source) => {
        const tokenizer = checkpoint.tokenizer ? ClipTokenizer.fromFiles(checkpoint.tokenizer.merges, checkpoint.tokenizer.vocab) : null;
        const features = options.features ?? target.features;
        if (!CLIP_FEATURE_KINDS.includes(features)) throw new UserError(`target '${config.name}': CLIP has no '${features}' features (it has ${CLIP_FEATURE_KINDS.join(', ')})`);
        return new ClipEncoder({
          id: config.name,
          architecture: arch,
          layout: checkpoint.layout,
          source,
          tokenizer,
          features,
          weightsSha256: await weightsSha256(source.files),
          onProgress: options.onProgress,
        });
      },
    );
  },

  configFromCheckpointDir(dir) {
    const checkpoint = inspectClipCheckpoint(dir);
    if (!checkpoint) return null;
    if (!checkpoint.architecture) {
      throw new UserError(`${dir}: open_clip weights without open_clip_config.json; add the model config or use a preset with --weights ${dir}`);
    }
    return {
      name: basename(dir),
      family: 'clip',
      description: `CLIP checkpoint (${checkpoint.layout} layout) in ${dir}`,
      origin: dir,
      checkpointDir: dir,
      layout: checkpoint.layout,
    };
  },
};
