/**
 * The shape of a SigLIP model (Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training"), parsed once from a
 * preset (configs/targets/siglip*.json) or from an HF checkpoint's config.json + preprocessor_config.json
 * (transformers' SiglipConfig / SiglipVisionConfig and SiglipImageProcessor). The fixed-resolution SigLIP 2
 * checkpoints (google/siglip2-*-patchP-S) are SiglipModel checkpoints too: same layout, a Gemma tokenizer.
 */
import { ConfigChecker, isPlainObject } from '../../core/config-checker.js';
import { UserError } from '../../core/errors.js';
import type { MlpActivation } from '../../runtime/fast-activation.js';
import type { Rgb } from '../encoder.js';

/** The HF model_type values this family reads: the two-tower model and the vision tower saved alone. */
export const SIGLIP_MODEL_TYPES = ['siglip', 'siglip_vision_model'] as const;

export interface SiglipTowerShape {
  width: number;
  layers: number;
  heads: number;
  mlpDim: number;
  activation: MlpActivation;
  layerNormEps: number;
}

export interface SiglipVisionShape extends SiglipTowerShape {
  patchSize: number;
  /** Side of the patch grid the position embeddings were trained on (config image_size / patch_size). */
  positionGrid: number;
  /** The attention-pooling (MAP) head, vision_use_head; without it only the mean of the tokens is a feature. */
  head: boolean;
}

export interface SiglipTextShape extends SiglipTowerShape {
  vocabSize: number;
  /** max_position_embeddings: prompts are padded to exactly this length, as SigLIP was trained. */
  contextLength: number;
  /** Width of the text head's output, the joint space (projection_size; the width when unset). */
  projection: number;
}

export interface SiglipArchitecture {
  vision: SiglipVisionShape;
  /** Null for a SiglipVisionModel checkpoint (no text tower). */
  text: SiglipTextShape | null;
  /** Model input side; SiglipImageProcessor resizes both sides to it (no crop). */
  inputSize: number;
  mean: Rgb;
  std: Rgb;
}

/** SigLIP's pixel statistics: [0, 1] → [−1, 1]. */
export const SIGLIP_MEAN: Rgb = [0.5, 0.5, 0.5];
export const SIGLIP_STD: Rgb = [0.5, 0.5, 0.5];

type Json = Record<string, unknown>;
const POSITIVE_INTEGER = { integer: true, min: 1 };

/** transformers' names for the activations a SigLIP config may give, in the runtime's names. */
const ACTIVATIONS: Record<string, MlpActivation> = { gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh', gelu: 'gelu', quick_gelu: 'quick_gelu' };

function activation(check: ConfigChecker, value: unknown, field: string): MlpActivation {
  const name = value ?? 'gelu_pytorch_tanh';
  const kind = typeof name === 'string' ? ACTIVATIONS[name] : undefined;
  if (!kind) check.fail(field, `must be one of ${Object.keys(ACTIVATIONS).join(', ')}, got ${JSON.stringify(value)}`);
  return kind;
}

function towerShape(check: ConfigChecker, c: Json, prefix: string): SiglipTowerShape {
  const width = check.number(c.hidden_size ?? 768, `${prefix}hidden_size`, POSITIVE_INTEGER);
  const heads = check.number(c.num_attention_heads ?? 12, `${prefix}num_attention_heads`, POSITIVE_INTEGER);
  if (width % heads) check.fail(`${prefix}hidden_size`, `${width} is not divisible by ${heads} heads`);
  return {
    width,
    layers: check.number(c.num_hidden_layers ?? 12, `${prefix}num_hidden_layers`, POSITIVE_INTEGER),
    heads,
    mlpDim: check.number(c.intermediate_size ?? 3072, `${prefix}intermediate_size`, POSITIVE_INTEGER),
    activation: activation(check, c.hidden_act, `${prefix}hidden_act`),
    layerNormEps: check.number(c.layer_norm_eps ?? 1e-6, `${prefix}layer_norm_eps`, { above: 0 }),
  };
}

function visionShape(check: ConfigChecker, c: Json, prefix: string, head: boolean): SiglipVisionShape {
  const patchSize = check.number(c.patch_size ?? 16, `${prefix}patch_size`, POSITIVE_INTEGER);
  const imageSize = check.number(c.image_size ?? 224, `${prefix}image_size`, POSITIVE_INTEGER);
  if (imageSize < patchSize) check.fail(`${prefix}image_size`, `${imageSize} is smaller than patch_size ${patchSize}`);
  if ((c.num_channels ?? 3) !== 3) check.fail(`${prefix}num_channels`, 'must be 3');
  // A 'valid' stride-p conv: the last imageSize mod p rows and columns reach no patch (So400m/14 at 384 px: 27×27).
  return { ...towerShape(check, c, prefix), patchSize, positionGrid: Math.floor(imageSize / patchSize), head };
}

function rgb(check: ConfigChecker, value: unknown, field: string, fallback: Rgb): Rgb {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length !== 3) check.fail(field, 'must be three numbers');
  return value.map((v, i) => check.number(v, `${field}[${i}]`)) as unknown as Rgb;
}

/** SiglipImageProcessor's size: {height, width} (square), or a bare number. */
function processorSide(check: ConfigChecker, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return check.number(value, 'size', POSITIVE_INTEGER);
  if (!isPlainObject(value)) check.fail('size', 'must be a number or {height, width}');
  const height = check.number(value.height, 'size.height', POSITIVE_INTEGER);
  if (check.number(value.width, 'size.width', POSITIVE_INTEGER) !== height) check.fail('size', 'must be square');
  return height;
}

export function checkSiglipArchitecture(arch: SiglipArchitecture, origin: string): SiglipArchitecture {
  if (arch.inputSize < arch.vision.patchSize) {
    throw new UserError(`${origin}: input size ${arch.inputSize} is smaller than the patch size ${arch.vision.patchSize}`);
  }
  if (!arch.std.every((s) => s > 0)) throw new UserError(`${origin}: std must be positive`);
  return arch;
}

/**
 * config.json (model_type siglip, with text_config and vision_config; or siglip_vision_model, the vision fields at
 * the top) and, when present, preprocessor_config.json. Absent fields take the config classes' defaults.
 */
export function architectureFromHfConfig(config: Json, configPath: string, preprocessor?: Json, preprocessorPath?: string): SiglipArchitecture {
  const check: ConfigChecker = new ConfigChecker(configPath);
  const visionOnly = config.model_type === 'siglip_vision_model';
  const visionConfig: unknown = visionOnly ? config : config.vision_config ?? {};
  if (!isPlainObject(visionConfig)) check.fail('vision_config', 'must be an object');
  const head = (visionConfig.vision_use_head ?? true) !== false;
  const vision = visionShape(check, visionConfig, visionOnly ? '' : 'vision_config.', head);
  let text: SiglipTextShape | null = null;
  if (!visionOnly) {
    const t: unknown = config.text_config ?? {};
    if (!isPlainObject(t)) check.fail('text_config', 'must be an object');
    const shape = towerShape(check, t, 'text_config.');
    text = {
      ...shape,
      vocabSize: check.number(t.vocab_size ?? 32000, 'text_config.vocab_size', POSITIVE_INTEGER),
      contextLength: check.number(t.max_position_embeddings ?? 64, 'text_config.max_position_embeddings', POSITIVE_INTEGER),
      projection: check.number(t.projection_size ?? shape.width, 'text_config.projection_size', POSITIVE_INTEGER),
    };
    if (head && text.projection !== vision.width) {
      check.fail('text_config.projection_size', `${text.projection} differs from the vision width ${vision.width}: the joint space must be one width`);
    }
  }
  const pre: ConfigChecker = new ConfigChecker(preprocessorPath ?? configPath);
  const p = preprocessor ?? {};
  if (p.do_resize === false) pre.fail('do_resize', 'must be true: advood resizes every image to the model input');
  if (p.do_center_crop === true) pre.fail('do_center_crop', "SigLIP's processor does not crop; a crop here is not one advood reproduces");
  return checkSiglipArchitecture(
    {
      vision,
      text,
      inputSize: processorSide(pre, p.size, vision.positionGrid * vision.patchSize),
      mean: rgb(pre, p.image_mean, 'image_mean', SIGLIP_MEAN),
      std: rgb(pre, p.image_std, 'image_std', SIGLIP_STD),
    },
    configPath,
  );
}

const VISION_FIELDS = ['width', 'layers', 'heads', 'mlpDim', 'patchSize', 'positionGrid'];
const TEXT_FIELDS = ['width', 'layers', 'heads', 'mlpDim', 'vocabSize', 'contextLength', 'projection'];

/** The `architecture` object of a preset, in advood's field names (the checkpoint's own config decides once downloaded). */
export function architectureFromPreset(raw: unknown, origin: string): SiglipArchitecture {
  const check: ConfigChecker = new ConfigChecker(origin);
  const a = check.fields(raw, 'architecture', ['vision', 'text', 'inputSize']);
  const count = (o: Json, field: string, where: string) => check.number(o[field], `architecture.${where}.${field}`, POSITIVE_INTEGER);
  const v = check.fields(a.vision, 'architecture.vision', VISION_FIELDS);
  const common = { activation: 'gelu_tanh' as const, layerNormEps: 1e-6 };
  const vision: SiglipVisionShape = {
    width: count(v, 'width', 'vision'),
    layers: count(v, 'layers', 'vision'),
    heads: count(v, 'heads', 'vision'),
    mlpDim: count(v, 'mlpDim', 'vision'),
    patchSize: count(v, 'patchSize', 'vision'),
    positionGrid: count(v, 'positionGrid', 'vision'),
    head: true,
    ...common,
  };
  let text: SiglipTextShape | null = null;
  if (a.text !== undefined) {
    const t = check.fields(a.text, 'architecture.text', TEXT_FIELDS);
    text = {
      width: count(t, 'width', 'text'),
      layers: count(t, 'layers', 'text'),
      heads: count(t, 'heads', 'text'),
      mlpDim: count(t, 'mlpDim', 'text'),
      vocabSize: count(t, 'vocabSize', 'text'),
      contextLength: count(t, 'contextLength', 'text'),
      projection: count(t, 'projection', 'text'),
      ...common,
    };
  }
  const inputSize = check.number(a.inputSize, 'architecture.inputSize', POSITIVE_INTEGER);
  return checkSiglipArchitecture({ vision, text, inputSize, mean: SIGLIP_MEAN, std: SIGLIP_STD }, origin);
}

/** Side of the patch grid at the input size: the patch conv is 'valid', so a remainder of pixels is dropped. */
export function siglipPatchGrid(arch: SiglipArchitecture): number {
  return Math.floor(arch.inputSize / arch.vision.patchSize);
}

/** Patch tokens per image (SigLIP has no class token). */
export function siglipTokenCount(arch: SiglipArchitecture): number {
  const grid = siglipPatchGrid(arch);
  return grid * grid;
}

/**
 * timm's SigLIP vision towers as open_clip names them (vit_<size>_patch<P>_siglip_<S>: the MAP-head models of timm
 * models/vision_transformer.py), with the head count of each size, which their tensors cannot show. The `_gap_`
 * towers (global average pooling with their own norm) are another read-out and are not read.
 */
export const OPEN_CLIP_SIGLIP_TOWER = /^vit_(base|large|so400m|giantopt)_patch(\d+)_siglip_(\d+)$/;
const TIMM_SIGLIP_HEADS: Record<string, number> = { base: 12, large: 16, so400m: 16, giantopt: 16 };
/** nn.LayerNorm's default eps (open_clip's text tower unless norm_kwargs sets one) and timm's ViT eps. */
const OPEN_CLIP_LAYER_NORM_EPS = 1e-5;
const TIMM_LAYER_NORM_EPS = 1e-6;

/** The timm tower an open_clip model config names, when it is a SigLIP tower this family reads. */
export function isOpenClipSiglipTower(modelCfg: Json): boolean {
  const name = (modelCfg.vision_cfg as Json | undefined)?.timm_model_name;
  return typeof name === 'string' && /_siglip_/.test(name);
}

/** The sizes a tensor shape gives, or a UserError naming the file and the tensor. */
interface HeaderShapes {
  readonly origin: string;
  has(name: string): boolean;
  info(name: string): { shape: number[] };
}

function headerShape(source: HeaderShapes, name: string, rank: number): number[] {
  if (!source.has(name)) throw new UserError(`${source.origin}: missing ${name}, which every open_clip SigLIP checkpoint has`);
  const dims = source.info(name).shape;
  if (dims.length !== rank) throw new UserError(`${source.origin}: ${name} is [${dims.join(', ')}], expected ${rank} dimensions`);
  return dims;
}

/**
 * open_clip's SigLIP (model config with a timm SigLIP tower, custom_text) from open_clip_config.json's model_cfg and
 * preprocess_cfg, with the vision sizes read from the weights' header (open_clip names the timm tower, not its sizes):
 * width and patch from `patch_embed.proj`, depth from the blocks, MLP width from `mlp.fc1`, the trained grid from
 * `pos_embed`; heads from the size in the tower's name. timm builds these towers with exact GELU and LayerNorm eps
 * 1e-6; open_clip's text tower uses nn.GELU (tanh-approximated where act_kwargs says so) and text_cfg.norm_kwargs.eps.
 */
export function architectureFromOpenClipCheckpoint(modelCfg: Json, preprocess: Json | undefined, source: HeaderShapes, origin: string): SiglipArchitecture {
  const check: ConfigChecker = new ConfigChecker(origin);
  const v = (modelCfg.vision_cfg ?? {}) as Json;
  const t = (modelCfg.text_cfg ?? {}) as Json;
  const match = OPEN_CLIP_SIGLIP_TOWER.exec(v.timm_model_name as string);
  if (!match) check.fail('vision_cfg.timm_model_name', `${JSON.stringify(v.timm_model_name)} is not a timm SigLIP tower with an attention-pooling head advood reads (vit_{base,large,so400m,giantopt}_patchP_siglip_S)`);
  if ((v.timm_pool ?? 'map') !== 'map') check.fail('vision_cfg.timm_pool', `must be 'map' (the attention-pooling head), got ${JSON.stringify(v.timm_pool)}`);
  if (!['none', '', null, undefined].includes(v.timm_proj as string)) check.fail('vision_cfg.timm_proj', `must be 'none' (SigLIP's head is the projection), got ${JSON.stringify(v.timm_proj)}`);
  if (t.hf_model_name !== undefined) check.fail('text_cfg.hf_model_name', "a Hugging Face text model is not read; SigLIP's text tower is open_clip's own");
  if (t.no_causal_mask !== true || t.pool_type !== 'last' || t.proj_bias !== true) {
    check.fail('text_cfg', "SigLIP's text tower attends to every position, pools the last and projects with a bias (no_causal_mask, pool_type 'last', proj_bias)");
  }
  const [width, , patchSize] = headerShape(source, 'visual.trunk.patch_embed.proj.weight', 4) as [number, number, number, number];
  if (patchSize !== Number(match[2])) check.fail('vision_cfg.timm_model_name', `says patch ${match[2]}, the weights have ${patchSize}`);
  const heads = TIMM_SIGLIP_HEADS[match[1]!]!;
  if (width % heads) throw new UserError(`${source.origin}: vision width ${width} is not divisible by the ${heads} heads of a timm '${match[1]}' SigLIP tower`);
  const positions = headerShape(source, 'visual.trunk.pos_embed', 3)[1]!;
  const positionGrid = Math.round(Math.sqrt(positions));
  if (positionGrid * positionGrid !== positions) throw new UserError(`${source.origin}: visual.trunk.pos_embed holds ${positions} positions, not a square grid`);
  let layers = 0;
  while (source.has(`visual.trunk.blocks.${layers}.norm1.weight`)) layers++;
  if (layers === 0) throw new UserError(`${source.origin}: no visual.trunk.blocks.N tensors`);
  const vision: SiglipVisionShape = {
    width,
    layers,
    heads,
    mlpDim: headerShape(source, 'visual.trunk.blocks.0.mlp.fc1.weight', 2)[0]!,
    activation: 'gelu',
    layerNormEps: TIMM_LAYER_NORM_EPS,
    patchSize,
    positionGrid,
    head: source.has('visual.trunk.attn_pool.latent'),
  };
  const textWidth = check.number(t.width ?? 512, 'text_cfg.width', POSITIVE_INTEGER);
  const textHeads = check.number(t.heads ?? 8, 'text_cfg.heads', POSITIVE_INTEGER);
  if (textWidth % textHeads) check.fail('text_cfg.width', `${textWidth} is not divisible by ${textHeads} heads`);
  const norm = (t.norm_kwargs ?? {}) as Json;
  const act = (t.act_kwargs ?? {}) as Json;
  const text: SiglipTextShape = {
    width: textWidth,
    layers: check.number(t.layers ?? 12, 'text_cfg.layers', POSITIVE_INTEGER),
    heads: textHeads,
    mlpDim: Math.trunc(textWidth * check.number(t.mlp_ratio ?? 4, 'text_cfg.mlp_ratio', { above: 0 })),
    activation: act.approximate === 'tanh' ? 'gelu_tanh' : 'gelu',
    layerNormEps: check.number(norm.eps ?? OPEN_CLIP_LAYER_NORM_EPS, 'text_cfg.norm_kwargs.eps', { above: 0 }),
    vocabSize: check.number(t.vocab_size ?? 49408, 'text_cfg.vocab_size', POSITIVE_INTEGER),
    contextLength: check.number(t.context_length ?? 77, 'text_cfg.context_length', POSITIVE_INTEGER),
    projection: check.number(modelCfg.embed_dim, 'embed_dim', POSITIVE_INTEGER),
  };
  const imageSize = Array.isArray(v.image_size) ? v.image_size[0] : (v.image_size ?? Number(match[3]));
  const p = preprocess ?? {};
  return checkSiglipArchitecture(
    {
      vision,
      text,
      inputSize: check.number(imageSize, 'vision_cfg.image_size', POSITIVE_INTEGER),
      mean: rgb(check, p.mean, 'preprocess_cfg.mean', SIGLIP_MEAN),
      std: rgb(check, p.std, 'preprocess_cfg.std', SIGLIP_STD),
    },
    origin,
  );
}
