/**
 * Recognises a SigLIP checkpoint directory in either layout:
 * - HF transformers: config.json with model_type siglip or siglip_vision_model (or architectures naming SiglipModel /
 *   SiglipVisionModel), model.safetensors (or model.safetensors.index.json + shards), preprocessor_config.json for the
 *   resize and pixel statistics;
 * - open_clip: open_clip_model.safetensors + open_clip_config.json whose model_cfg builds a timm SigLIP tower
 *   (vision_cfg.timm_model_name vit_*_siglip_*), the pixel statistics in its preprocess_cfg;
 * and, for the text tower, tokenizer.json (+ tokenizer_config.json).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { hfSafetensorsWeights, readCheckpointJson } from '../checkpoint-files.js';
import { openSafetensors } from '../safetensors.js';
import { architectureFromHfConfig, architectureFromOpenClipCheckpoint, isOpenClipSiglipTower, SIGLIP_MODEL_TYPES, type SiglipArchitecture } from './siglip-architecture.js';
import type { PromptCleaning } from './prompt-cleaning.js';

export type SiglipLayout = 'hf' | 'open_clip';

export interface SiglipCheckpoint {
  dir: string;
  layout: SiglipLayout;
  /** The .safetensors file or the shard index. */
  weights: string;
  architecture: SiglipArchitecture;
  /** How prompts are cleaned before tokenizing: open_clip's text_cfg.tokenizer_kwargs.clean; transformers: none. */
  promptCleaning: PromptCleaning | null;
}

const ARCHITECTURES = ['SiglipModel', 'SiglipVisionModel'];

/** True when an HF config.json describes a SigLIP model this family reads. */
export function isSiglipConfig(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (SIGLIP_MODEL_TYPES as readonly unknown[]).includes(config.model_type) || architectures.some((a) => ARCHITECTURES.includes(a as string));
}

/** An open_clip SigLIP checkpoint in `dir`, or null when the directory is not one. */
function inspectOpenClipSiglip(dir: string): SiglipCheckpoint | null {
  const weights = join(dir, 'open_clip_model.safetensors');
  const configPath = join(dir, 'open_clip_config.json');
  if (!existsSync(weights) || !existsSync(configPath)) return null;
  const config = readCheckpointJson(configPath);
  const modelCfg = config.model_cfg as Record<string, unknown> | undefined;
  if (typeof modelCfg !== 'object' || modelCfg === null || !isOpenClipSiglipTower(modelCfg)) return null;
  const source = openSafetensors(weights);
  try {
    const architecture = architectureFromOpenClipCheckpoint(modelCfg, config.preprocess_cfg as Record<string, unknown> | undefined, source, configPath);
    const clean = ((modelCfg.text_cfg as Record<string, unknown> | undefined)?.tokenizer_kwargs as Record<string, unknown> | undefined)?.clean ?? 'whitespace';
    if (clean !== 'canonicalize' && clean !== 'lower' && clean !== 'whitespace') {
      throw new UserError(`${configPath}: text_cfg.tokenizer_kwargs.clean ${JSON.stringify(clean)} is not one of open_clip's (canonicalize, lower, whitespace)`);
    }
    return { dir, layout: 'open_clip', weights, architecture, promptCleaning: clean };
  } finally {
    source.close();
  }
}

/** The checkpoint in `dir`, or null when it holds neither a SigLIP config.json nor an open_clip SigLIP. */
export function inspectSiglipCheckpoint(dir: string): SiglipCheckpoint | null {
  const openClip = inspectOpenClipSiglip(dir);
  if (openClip) return openClip;
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return null;
  const config = readCheckpointJson(configPath);
  if (config.model_type === 'siglip2') {
    // NaFlex: a linear patch embedding over variable patch grids with per-image position resizing and a patch mask.
    throw new UserError(
      `${configPath}: model_type "siglip2" is SigLIP 2's NaFlex (variable-resolution) model, which advood does not read; ` +
        "the fixed-resolution SigLIP 2 checkpoints (google/siglip2-<size>-patch<P>-<S>) are model_type 'siglip' and load as they are",
    );
  }
  if (!isSiglipConfig(config)) return null;
  const weights = hfSafetensorsWeights(dir, 'SigLIP');
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const preprocessor = existsSync(preprocessorPath) ? readCheckpointJson(preprocessorPath) : undefined;
  return { dir, layout: 'hf', weights, architecture: architectureFromHfConfig(config, configPath, preprocessor, preprocessorPath), promptCleaning: null };
}
