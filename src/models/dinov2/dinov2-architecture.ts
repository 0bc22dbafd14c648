/**
 * The shape of a DINOv2 model (Oquab et al. 2023), with or without registers (Darcet et al. 2024), parsed once from a
 * preset (configs/targets/dinov2-*.json) or from an HF checkpoint's config.json + preprocessor_config.json
 * (transformers' Dinov2Config / Dinov2WithRegistersConfig and BitImageProcessor).
 */
import { ConfigChecker, isPlainObject } from '../../core/config-checker.js';
import { UserError } from '../../core/errors.js';
import type { Rgb } from '../encoder.js';
import type { PositionResampling } from '../position-resampling.js';

/** The HF model_type values this family reads. */
export const DINOV2_MODEL_TYPES = ['dinov2', 'dinov2_with_registers'] as const;

/*
 * Position embeddings are resampled to another patch grid (src/models/position-resampling.ts): transformers'
 * Dinov2Embeddings calls F.interpolate(mode='bicubic', align_corners=False); Dinov2WithRegistersEmbeddings adds
 * antialias=True, a different kernel in PyTorch.
 */

export interface Dinov2Architecture {
  width: number;
  layers: number;
  heads: number;
  patchSize: number;
  /** Side of the patch grid the position embeddings were trained on (config image_size / patch_size). */
  positionGrid: number;
  /** The FFN: fc1 → GELU → fc2, or SwiGLU (use_swiglu_ffn, the giant model) with its rounded hidden width. */
  ffn: 'mlp' | 'swiglu';
  ffnHidden: number;
  /** Register tokens between the CLS token and the patch tokens (0 without registers). */
  registers: number;
  layerNormEps: number;
  resampling: PositionResampling;
  /** Model input: the centre crop side; the shortest image side is first resized to `resizeSize`. */
  inputSize: number;
  resizeSize: number;
  mean: Rgb;
  std: Rgb;
}

/** DINOv2's own pixel statistics (ImageNet's), and its eval transform: resize 256, centre-crop 224. */
export const DINOV2_MEAN: Rgb = [0.485, 0.456, 0.406];
export const DINOV2_STD: Rgb = [0.229, 0.224, 0.225];
const DEFAULT_RESIZE = 256;
const DEFAULT_CROP = 224;

type Json = Record<string, unknown>;
const POSITIVE_INTEGER = { integer: true, min: 1 };

function rgb(check: ConfigChecker, value: unknown, field: string, fallback: Rgb): Rgb {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length !== 3) check.fail(field, 'must be three numbers');
  return value.map((v, i) => check.number(v, `${field}[${i}]`)) as unknown as Rgb;
}

/** SwiGLU keeps two thirds of the MLP width, rounded up to a multiple of 8 (transformers' Dinov2SwiGLUFFN). */
export function swigluHidden(width: number, mlpRatio: number): number {
  const hidden = Math.trunc(width * mlpRatio);
  return Math.floor((Math.trunc((hidden * 2) / 3) + 7) / 8) * 8;
}

/** The rules every DINOv2 tower relies on. */
export function checkDinov2Architecture(arch: Dinov2Architecture, origin: string): Dinov2Architecture {
  if (arch.width % arch.heads) throw new UserError(`${origin}: width ${arch.width} is not divisible by ${arch.heads} heads`);
  if (arch.inputSize % arch.patchSize) {
    throw new UserError(`${origin}: crop size ${arch.inputSize} is not a multiple of patch size ${arch.patchSize}`);
  }
  if (arch.resizeSize < arch.inputSize) throw new UserError(`${origin}: resize size ${arch.resizeSize} is smaller than the crop size ${arch.inputSize}`);
  if (!arch.std.every((s) => s > 0)) throw new UserError(`${origin}: std must be positive`);
  return arch;
}

/** A square side from an int or a {height, width} / {shortest_edge} object of an HF image processor. */
function side(check: ConfigChecker, value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return check.number(value, field, POSITIVE_INTEGER);
  if (!isPlainObject(value)) check.fail(field, 'must be a number or an object');
  if (value.shortest_edge !== undefined) return check.number(value.shortest_edge, `${field}.shortest_edge`, POSITIVE_INTEGER);
  const height = check.number(value.height, `${field}.height`, POSITIVE_INTEGER);
  if (check.number(value.width, `${field}.width`, POSITIVE_INTEGER) !== height) check.fail(field, 'must be square');
  return height;
}

/**
 * transformers' config.json (model_type dinov2 / dinov2_with_registers) and, when present, the
 * preprocessor_config.json beside it. Fields absent fall back to the config classes' defaults.
 */
export function architectureFromHfConfig(config: Json, configPath: string, preprocessor?: Json, preprocessorPath?: string): Dinov2Architecture {
  const check = new ConfigChecker(configPath);
  const withRegisters = config.model_type === 'dinov2_with_registers';
  const width = check.number(config.hidden_size ?? 768, 'hidden_size', POSITIVE_INTEGER);
  const mlpRatio = check.number(config.mlp_ratio ?? 4, 'mlp_ratio', { above: 0 });
  const patchSize = check.number(config.patch_size ?? (withRegisters ? 16 : 14), 'patch_size', POSITIVE_INTEGER);
  const imageSize = check.number(config.image_size ?? 224, 'image_size', POSITIVE_INTEGER);
  if ((config.hidden_act ?? 'gelu') !== 'gelu') check.fail('hidden_act', `must be 'gelu' (the only activation DINOv2 checkpoints use), got ${JSON.stringify(config.hidden_act)}`);
  if ((config.qkv_bias ?? true) !== true) check.fail('qkv_bias', 'must be true (every DINOv2 checkpoint has q/k/v biases)');
  if ((config.num_channels ?? 3) !== 3) check.fail('num_channels', 'must be 3');
  if (imageSize % patchSize) check.fail('image_size', `${imageSize} is not a multiple of patch_size ${patchSize}`);
  const swiglu = config.use_swiglu_ffn === true;
  const pre = new ConfigChecker(preprocessorPath ?? configPath);
  const p = preprocessor ?? {};
  const inputSize = p.do_center_crop === false ? side(pre, p.size, 'size', DEFAULT_CROP) : side(pre, p.crop_size, 'crop_size', DEFAULT_CROP);
  return checkDinov2Architecture(
    {
      width,
      layers: check.number(config.num_hidden_layers ?? 12, 'num_hidden_layers', POSITIVE_INTEGER),
      heads: check.number(config.num_attention_heads ?? 12, 'num_attention_heads', POSITIVE_INTEGER),
      patchSize,
      positionGrid: imageSize / patchSize,
      ffn: swiglu ? 'swiglu' : 'mlp',
      ffnHidden: swiglu ? swigluHidden(width, mlpRatio) : Math.trunc(width * mlpRatio),
      registers: withRegisters ? check.number(config.num_register_tokens ?? 4, 'num_register_tokens', { integer: true, min: 0 }) : 0,
      layerNormEps: check.number(config.layer_norm_eps ?? 1e-6, 'layer_norm_eps', { above: 0 }),
      resampling: withRegisters ? 'bicubic-antialias' : 'bicubic',
      inputSize,
      resizeSize: p.do_resize === false ? inputSize : side(pre, p.size, 'size', preprocessor ? inputSize : DEFAULT_RESIZE),
      mean: rgb(pre, p.image_mean, 'image_mean', DINOV2_MEAN),
      std: rgb(pre, p.image_std, 'image_std', DINOV2_STD),
    },
    configPath,
  );
}

const PRESET_FIELDS = ['width', 'layers', 'heads', 'patchSize', 'positionGrid', 'ffn', 'ffnHidden', 'registers', 'inputSize', 'resizeSize'];

/** The `architecture` object of a preset, in advood's own field names (the HF config is read once downloaded). */
export function architectureFromPreset(raw: unknown, origin: string): Dinov2Architecture {
  const check = new ConfigChecker(origin);
  const a = check.fields(raw, 'architecture', PRESET_FIELDS);
  const count = (field: string, min = 1) => check.number(a[field], `architecture.${field}`, { integer: true, min });
  if (a.ffn !== 'mlp' && a.ffn !== 'swiglu') check.fail('architecture.ffn', `must be 'mlp' or 'swiglu', got ${JSON.stringify(a.ffn)}`);
  const registers = count('registers', 0);
  return checkDinov2Architecture(
    {
      width: count('width'),
      layers: count('layers'),
      heads: count('heads'),
      patchSize: count('patchSize'),
      positionGrid: count('positionGrid'),
      ffn: a.ffn as 'mlp' | 'swiglu',
      ffnHidden: count('ffnHidden'),
      registers,
      layerNormEps: 1e-6,
      resampling: registers > 0 ? 'bicubic-antialias' : 'bicubic',
      inputSize: count('inputSize'),
      resizeSize: count('resizeSize'),
      mean: DINOV2_MEAN,
      std: DINOV2_STD,
    },
    origin,
  );
}

/** Tokens per image: CLS, registers, patches. */
export function dinov2TokenCount(arch: Dinov2Architecture): number {
  const grid = arch.inputSize / arch.patchSize;
  return 1 + arch.registers + grid * grid;
}
