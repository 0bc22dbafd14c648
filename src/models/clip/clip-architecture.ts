/**
 * The shape of a CLIP model, whatever layout its weights come in. Parsed once from a preset
 * (configs/targets/*.json), an HF transformers `config.json` or an open_clip model config.
 */
import { UserError } from '../../core/errors.js';
import type { Rgb } from '../encoder.js';

export type ClipActivation = 'quick_gelu' | 'gelu';

export interface ClipVisionArchitecture {
  width: number;
  layers: number;
  heads: number;
  mlpDim: number;
  patchSize: number;
  imageSize: number;
}

export interface ClipTextArchitecture {
  width: number;
  layers: number;
  heads: number;
  mlpDim: number;
  contextLength: number;
  vocabSize: number;
}

export interface ClipArchitecture {
  /** Width of the joint image–text space (the projections' output). */
  embedDim: number;
  /** QuickGELU for OpenAI's weights, exact GELU for the laion/open_clip-trained ones. */
  activation: ClipActivation;
  vision: ClipVisionArchitecture;
  text: ClipTextArchitecture;
  mean: Rgb;
  std: Rgb;
}

/** What CLIP's text tower needs of a model: its shape, its MLP activation and the joint space it projects into. */
export type ClipTextModel = Pick<ClipArchitecture, 'embedDim' | 'activation' | 'text'>;

/** OpenAI CLIP's pixel statistics; the laion models were trained with the same ones. */
export const OPENAI_CLIP_MEAN: Rgb = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: Rgb = [0.26862954, 0.26130258, 0.27577711];
/** LayerNorm epsilon of both reference implementations. */
export const CLIP_LAYER_NORM_EPS = 1e-5;

type Json = Record<string, unknown>;

function positiveInt(value: unknown, field: string, origin: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new UserError(`${origin}: '${field}' must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

function rgb(value: unknown, field: string, origin: string, fallback: Rgb): Rgb {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new UserError(`${origin}: '${field}' must be three numbers`);
  }
  return value as unknown as Rgb;
}

function activation(value: unknown, field: string, origin: string): ClipActivation {
  if (value === 'quick_gelu' || value === 'gelu') return value;
  throw new UserError(`${origin}: '${field}' must be 'quick_gelu' or 'gelu', got ${JSON.stringify(value)}`);
}

/** Checks the divisibility rules every CLIP tower relies on. */
export function checkArchitecture(arch: ClipArchitecture, origin: string): ClipArchitecture {
  const { vision, text } = arch;
  if (vision.width % vision.heads) throw new UserError(`${origin}: vision width ${vision.width} is not divisible by ${vision.heads} heads`);
  if (text.width % text.heads) throw new UserError(`${origin}: text width ${text.width} is not divisible by ${text.heads} heads`);
  if (vision.imageSize % vision.patchSize) {
    throw new UserError(`${origin}: image size ${vision.imageSize} is not a multiple of patch size ${vision.patchSize}`);
  }
  if (!arch.std.every((s) => s > 0)) throw new UserError(`${origin}: std must be positive`);
  return arch;
}

/** A preset's `architecture.text`, in advood's own field names (the CLIP text tower; EVA-CLIP's is the same). */
export function textArchitectureFromPreset(raw: unknown, origin: string): ClipTextArchitecture {
  const t = (raw ?? {}) as Json;
  return {
    width: positiveInt(t.width, 'architecture.text.width', origin),
    layers: positiveInt(t.layers, 'architecture.text.layers', origin),
    heads: positiveInt(t.heads, 'architecture.text.heads', origin),
    mlpDim: positiveInt(t.mlpDim, 'architecture.text.mlpDim', origin),
    contextLength: positiveInt(t.contextLength, 'architecture.text.contextLength', origin),
    vocabSize: positiveInt(t.vocabSize, 'architecture.text.vocabSize', origin),
  };
}

/** The `architecture` object of a preset, in advood's own field names. */
export function architectureFromPreset(raw: unknown, origin: string, mean?: unknown, std?: unknown): ClipArchitecture {
  if (typeof raw !== 'object' || raw === null) throw new UserError(`${origin}: missing object 'architecture'`);
  const a = raw as Json;
  const v = (a.vision ?? {}) as Json;
  return checkArchitecture(
    {
      embedDim: positiveInt(a.embedDim, 'architecture.embedDim', origin),
      activation: activation(a.activation, 'architecture.activation', origin),
      vision: {
        width: positiveInt(v.width, 'architecture.vision.width', origin),
        layers: positiveInt(v.layers, 'architecture.vision.layers', origin),
        heads: positiveInt(v.heads, 'architecture.vision.heads', origin),
        mlpDim: positiveInt(v.mlpDim, 'architecture.vision.mlpDim', origin),
        patchSize: positiveInt(v.patchSize, 'architecture.vision.patchSize', origin),
        imageSize: positiveInt(v.imageSize, 'architecture.vision.imageSize', origin),
      },
      text: textArchitectureFromPreset(a.text, origin),
      mean: rgb(mean, 'mean', origin, OPENAI_CLIP_MEAN),
      std: rgb(std, 'std', origin, OPENAI_CLIP_STD),
    },
    origin,
  );
}

/**
 * HF transformers' CLIPConfig. Old configs (openai/clip-vit-base-patch32) also carry `*_config_dict`; fields
 * absent from both fall back to CLIPTextConfig/CLIPVisionConfig's documented defaults.
 */
export function architectureFromHfConfig(config: Json, origin: string, preprocessor?: Json): ClipArchitecture {
  const t = { ...((config.text_config_dict ?? {}) as Json), ...((config.text_config ?? {}) as Json) };
  const v = { ...((config.vision_config_dict ?? {}) as Json), ...((config.vision_config ?? {}) as Json) };
  const visionAct = activation(v.hidden_act ?? 'quick_gelu', 'vision_config.hidden_act', origin);
  const textAct = activation(t.hidden_act ?? 'quick_gelu', 'text_config.hidden_act', origin);
  if (visionAct !== textAct) throw new UserError(`${origin}: vision and text towers use different activations (${visionAct}, ${textAct}); not supported`);
  return checkArchitecture(
    {
      embedDim: positiveInt(config.projection_dim ?? 512, 'projection_dim', origin),
      activation: visionAct,
      vision: {
        width: positiveInt(v.hidden_size ?? 768, 'vision_config.hidden_size', origin),
        layers: positiveInt(v.num_hidden_layers ?? 12, 'vision_config.num_hidden_layers', origin),
        heads: positiveInt(v.num_attention_heads ?? 12, 'vision_config.num_attention_heads', origin),
        mlpDim: positiveInt(v.intermediate_size ?? 3072, 'vision_config.intermediate_size', origin),
        patchSize: positiveInt(v.patch_size ?? 32, 'vision_config.patch_size', origin),
        imageSize: positiveInt(v.image_size ?? 224, 'vision_config.image_size', origin),
      },
      text: {
        width: positiveInt(t.hidden_size ?? 512, 'text_config.hidden_size', origin),
        layers: positiveInt(t.num_hidden_layers ?? 12, 'text_config.num_hidden_layers', origin),
        heads: positiveInt(t.num_attention_heads ?? 8, 'text_config.num_attention_heads', origin),
        mlpDim: positiveInt(t.intermediate_size ?? 2048, 'text_config.intermediate_size', origin),
        contextLength: positiveInt(t.max_position_embeddings ?? 77, 'text_config.max_position_embeddings', origin),
        vocabSize: positiveInt(t.vocab_size ?? 49408, 'text_config.vocab_size', origin),
      },
      mean: rgb(preprocessor?.image_mean, 'image_mean', origin, OPENAI_CLIP_MEAN),
      std: rgb(preprocessor?.image_std, 'image_std', origin, OPENAI_CLIP_STD),
    },
    origin,
  );
}

function mlpRatio(value: unknown, field: string, origin: string): number {
  if (value === undefined) return 4;
  if (typeof value !== 'number' || !(value > 0)) throw new UserError(`${origin}: '${field}' must be a positive number`);
  return value;
}

/** open_clip's TextTransformer from a model config's `text_cfg` (the fields and defaults of open_clip's CLIPTextCfg). */
export function openClipTextArchitecture(t: Json, origin: string): ClipTextArchitecture {
  const width = positiveInt(t.width ?? 512, 'text_cfg.width', origin);
  return {
    width,
    layers: positiveInt(t.layers ?? 12, 'text_cfg.layers', origin),
    heads: positiveInt(t.heads ?? 8, 'text_cfg.heads', origin),
    mlpDim: Math.trunc(width * mlpRatio(t.mlp_ratio, 'text_cfg.mlp_ratio', origin)),
    contextLength: positiveInt(t.context_length ?? 77, 'text_cfg.context_length', origin),
    vocabSize: positiveInt(t.vocab_size ?? 49408, 'text_cfg.vocab_size', origin),
  };
}

/** A preprocess_cfg's mean and std, OpenAI's where it gives none. */
export function openClipPixelStatistics(preprocess: Json | undefined, origin: string): { mean: Rgb; std: Rgb } {
  return { mean: rgb(preprocess?.mean, 'preprocess_cfg.mean', origin, OPENAI_CLIP_MEAN), std: rgb(preprocess?.std, 'preprocess_cfg.std', origin, OPENAI_CLIP_STD) };
}

/**
 * open_clip's model config (src/open_clip/model_configs/*.json, or `model_cfg` of a hub
 * open_clip_config.json). Heads: vision `width / head_width` (head_width defaults to 64), text `heads`;
 * MLP width `width · mlp_ratio` (default 4), rounded as open_clip's int() does.
 */
export function architectureFromOpenClipConfig(modelCfg: Json, origin: string, preprocess?: Json): ClipArchitecture {
  const v = (modelCfg.vision_cfg ?? {}) as Json;
  const visionWidth = positiveInt(v.width ?? 768, 'vision_cfg.width', origin);
  const headWidth = positiveInt(v.head_width ?? 64, 'vision_cfg.head_width', origin);
  const imageSize = v.image_size ?? 224;
  return checkArchitecture(
    {
      embedDim: positiveInt(modelCfg.embed_dim, 'embed_dim', origin),
      activation: modelCfg.quick_gelu === true ? 'quick_gelu' : 'gelu',
      vision: {
        width: visionWidth,
        layers: positiveInt(v.layers, 'vision_cfg.layers', origin),
        heads: positiveInt(visionWidth / headWidth, 'vision_cfg.width / head_width', origin),
        mlpDim: Math.trunc(visionWidth * mlpRatio(v.mlp_ratio, 'vision_cfg.mlp_ratio', origin)),
        patchSize: positiveInt(v.patch_size, 'vision_cfg.patch_size', origin),
        imageSize: positiveInt(Array.isArray(imageSize) ? imageSize[0] : imageSize, 'vision_cfg.image_size', origin),
      },
      text: openClipTextArchitecture((modelCfg.text_cfg ?? {}) as Json, origin),
      ...openClipPixelStatistics(preprocess, origin),
    },
    origin,
  );
}

export function visionTokenCount(vision: ClipVisionArchitecture): number {
  const grid = vision.imageSize / vision.patchSize;
  return grid * grid + 1;
}
