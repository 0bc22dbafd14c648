/**
 * The shape of an EVA-CLIP model (EVA-02-CLIP: Sun et al. 2023, "EVA-CLIP: Improved Training Techniques for CLIP at
 * Scale") as open_clip builds it: a timm `eva02_<size>_patch<P>_clip_<S>` vision tower (timm models/eva.py) and
 * open_clip's own text transformer (model config `custom_text`). Read from a preset (configs/targets/eva02-*.json) or
 * from a checkpoint's open_clip_config.json plus its safetensors header.
 *
 * open_clip's config names the timm tower but none of its sizes (timm keeps them in its model functions), so a
 * checkpoint's vision sizes are read from the tensors themselves: width from `cls_token`, depth from the blocks, the
 * SwiGLU width from `mlp.fc1_g`, the patch from `patch_embed.proj`. What the shapes cannot say is the same in every
 * EVA-02 CLIP tower timm defines (base 768 = 12 × 64, large 1024 = 16 × 64): 64-wide heads, rotary positions over a
 * 16 × 16 reference grid with temperature 10⁴, LayerNorm eps 1e-6. eva02_enormous is another block (post-norm, GELU,
 * no rotary positions) and is refused.
 */
import { UserError } from '../../core/errors.js';
import type { Rgb } from '../encoder.js';
import type { TensorSource } from '../safetensors.js';
import {
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  openClipPixelStatistics,
  openClipTextArchitecture,
  textArchitectureFromPreset,
  type ClipActivation,
  type ClipTextArchitecture,
} from '../clip/clip-architecture.js';

/** timm's EVA-02 CLIP towers: eva02_base_patch16_clip_224, eva02_large_patch14_clip_224, eva02_large_patch14_clip_336. */
export const EVA02_CLIP_TOWER = /^eva02_([a-z0-9]+)_patch(\d+)_clip_(\d+)$/;
/** The head width of every EVA-02 tower (timm models/eva.py: embed_dim / num_heads = 64). */
export const EVA02_HEAD_WIDTH = 64;
/** timm's ref_feat_shape of the EVA-02 CLIP towers: rotary angles are scaled as if the grid were 16 × 16 (224 / 14). */
export const EVA02_ROPE_REFERENCE_GRID = 16;
export const EVA02_ROPE_TEMPERATURE = 10000;
export const EVA02_LAYER_NORM_EPS = 1e-6;

export interface EvaVisionArchitecture {
  width: number;
  layers: number;
  heads: number;
  /** SwiGLU hidden width (timm: int(width · 4 · 2/3)). */
  mlpDim: number;
  patchSize: number;
  /** Input side (open_clip's vision_cfg.image_size); the learned positions cover its patch grid. */
  imageSize: number;
}

export interface EvaClipArchitecture {
  /** The timm tower's name, for messages. */
  timmModel: string;
  /** Width of the joint space: the trunk head's output and the text projection's. */
  embedDim: number;
  vision: EvaVisionArchitecture;
  text: ClipTextArchitecture;
  /** The text tower's MLP activation: exact GELU unless the config sets quick_gelu (timm's towers ignore it). */
  activation: ClipActivation;
  mean: Rgb;
  std: Rgb;
}

type Json = Record<string, unknown>;

function positiveInt(value: unknown, field: string, origin: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new UserError(`${origin}: '${field}' must be a positive integer, got ${JSON.stringify(value)}`);
  return value as number;
}

export function evaGrid(vision: EvaVisionArchitecture): number {
  return vision.imageSize / vision.patchSize;
}

/** Tokens through the vision blocks: the CLS token and the patches. */
export function evaTokenCount(vision: EvaVisionArchitecture): number {
  return evaGrid(vision) ** 2 + 1;
}

function checkVision(vision: EvaVisionArchitecture, origin: string): EvaVisionArchitecture {
  if (vision.imageSize % vision.patchSize) throw new UserError(`${origin}: image size ${vision.imageSize} is not a multiple of patch size ${vision.patchSize}`);
  if (!Number.isInteger(vision.heads) || vision.width !== vision.heads * EVA02_HEAD_WIDTH) {
    throw new UserError(`${origin}: vision width ${vision.width} is not a whole number of EVA-02's ${EVA02_HEAD_WIDTH}-wide heads (${vision.heads} heads given)`);
  }
  return vision;
}

/** The `architecture` object of a preset, in advood's field names (as the CLIP presets', less the vision activation). */
export function architectureFromPreset(raw: unknown, origin: string): EvaClipArchitecture {
  if (typeof raw !== 'object' || raw === null) throw new UserError(`${origin}: missing object 'architecture'`);
  const a = raw as Json;
  const v = (a.vision ?? {}) as Json;
  if (typeof a.timmModel !== 'string' || !EVA02_CLIP_TOWER.test(a.timmModel)) throw new UserError(`${origin}: 'architecture.timmModel' must name an eva02_*_clip_* timm tower`);
  const activation = a.activation ?? 'gelu';
  if (activation !== 'gelu' && activation !== 'quick_gelu') throw new UserError(`${origin}: 'architecture.activation' must be 'gelu' or 'quick_gelu'`);
  const field = (name: string) => positiveInt(v[name], `architecture.vision.${name}`, origin);
  return {
    timmModel: a.timmModel,
    embedDim: positiveInt(a.embedDim, 'architecture.embedDim', origin),
    vision: checkVision({ width: field('width'), layers: field('layers'), heads: field('heads'), mlpDim: field('mlpDim'), patchSize: field('patchSize'), imageSize: field('imageSize') }, origin),
    text: textArchitectureFromPreset(a.text, origin),
    activation,
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
  };
}

/** The timm tower an open_clip model config names, when it is one this family reads; null when it names none. */
export function evaTowerName(modelCfg: Json): string | null {
  const name = (modelCfg.vision_cfg as Json | undefined)?.timm_model_name;
  return typeof name === 'string' && EVA02_CLIP_TOWER.test(name) ? name : null;
}

/**
 * From an open_clip_config.json's model_cfg and preprocess_cfg, with the vision sizes from the weights' header (see the
 * file comment). Throws a UserError naming `origin` for a config this family cannot build.
 */
export function architectureFromOpenClipCheckpoint(modelCfg: Json, preprocess: Json | undefined, source: TensorSource, origin: string): EvaClipArchitecture {
  const v = (modelCfg.vision_cfg ?? {}) as Json;
  const t = (modelCfg.text_cfg ?? {}) as Json;
  const timmModel = v.timm_model_name as string;
  const match = EVA02_CLIP_TOWER.exec(timmModel);
  if (!match || match[1] === 'enormous') {
    throw new UserError(
      `${origin}: vision tower timm '${timmModel}' is not one advood reads; of open_clip's timm towers it reads the EVA-02 CLIP ones (eva02_base_patch16_clip_224, eva02_large_patch14_clip_224, eva02_large_patch14_clip_336) and SigLIP's (vit_*_siglip_*, family 'siglip')`,
    );
  }
  if ((v.timm_pool ?? 'token') !== 'token') throw new UserError(`${origin}: 'vision_cfg.timm_pool' ${JSON.stringify(v.timm_pool)}: EVA-CLIP pools its CLS token ('token')`);
  if (v.timm_proj !== undefined && v.timm_proj !== null && v.timm_proj !== 'none') {
    throw new UserError(`${origin}: 'vision_cfg.timm_proj' ${JSON.stringify(v.timm_proj)}: EVA-CLIP projects with the trunk's own head (timm_proj null)`);
  }
  if (t.hf_model_name !== undefined) throw new UserError(`${origin}: 'text_cfg.hf_model_name': a Hugging Face text tower is not read; EVA-CLIP's is open_clip's own`);
  if ((t.pool_type ?? 'argmax') !== 'argmax' || t.proj_bias === true || t.no_causal_mask === true) {
    throw new UserError(`${origin}: text_cfg pool_type/proj_bias/no_causal_mask differ from open_clip's CLIP text tower, which is all advood reads`);
  }
  const shape = (name: string, rank: number): number[] => {
    if (!source.has(name)) throw new UserError(`${source.origin}: missing ${name}, which every ${timmModel} tower has`);
    const dims = source.info(name).shape;
    if (dims.length !== rank) throw new UserError(`${source.origin}: ${name} is [${dims.join(', ')}], expected ${rank} dimensions`);
    return dims;
  };
  const width = shape('visual.trunk.cls_token', 3)[2]!;
  let layers = 0;
  while (source.has(`visual.trunk.blocks.${layers}.norm1.weight`)) layers++;
  const patchSize = shape('visual.trunk.patch_embed.proj.weight', 4)[2]!;
  if (patchSize !== Number(match[2])) throw new UserError(`${source.origin}: patch ${patchSize} in the weights, where ${timmModel} says ${match[2]}`);
  const imageSize = Array.isArray(v.image_size) ? v.image_size[0] : (v.image_size ?? Number(match[3]));
  return {
    timmModel,
    embedDim: positiveInt(modelCfg.embed_dim, 'embed_dim', origin),
    vision: checkVision(
      {
        width,
        layers: positiveInt(layers, `blocks in ${source.origin}`, origin),
        heads: width / EVA02_HEAD_WIDTH,
        mlpDim: shape('visual.trunk.blocks.0.mlp.fc1_g.weight', 2)[0]!,
        patchSize,
        imageSize: positiveInt(imageSize, 'vision_cfg.image_size', origin),
      },
      origin,
    ),
    text: openClipTextArchitecture(t, origin),
    activation: modelCfg.quick_gelu === true ? 'quick_gelu' : 'gelu',
    ...openClipPixelStatistics(preprocess, origin),
  };
}
