/**
 * Recognises a SigLIP checkpoint directory in the HF layout: config.json with model_type siglip or
 * siglip_vision_model (or architectures naming SiglipModel / SiglipVisionModel), model.safetensors (or
 * model.safetensors.index.json + shards), preprocessor_config.json for the resize and pixel statistics, and
 * tokenizer.json (+ tokenizer_config.json) for the text tower.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { hfSafetensorsWeights, readCheckpointJson } from '../checkpoint-files.js';
import { architectureFromHfConfig, SIGLIP_MODEL_TYPES, type SiglipArchitecture } from './siglip-architecture.js';

export interface SiglipCheckpoint {
  dir: string;
  /** The .safetensors file or the shard index. */
  weights: string;
  architecture: SiglipArchitecture;
}

const ARCHITECTURES = ['SiglipModel', 'SiglipVisionModel'];

/** True when an HF config.json describes a SigLIP model this family reads. */
export function isSiglipConfig(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (SIGLIP_MODEL_TYPES as readonly unknown[]).includes(config.model_type) || architectures.some((a) => ARCHITECTURES.includes(a as string));
}

/** The checkpoint in `dir`, or null when its config.json (if any) is not a SigLIP model's. */
export function inspectSiglipCheckpoint(dir: string): SiglipCheckpoint | null {
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
  return { dir, weights, architecture: architectureFromHfConfig(config, configPath, preprocessor, preprocessorPath) };
}
