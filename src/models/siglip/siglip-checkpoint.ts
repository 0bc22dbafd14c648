/**
 * Recognises a SigLIP checkpoint directory in the HF layout: config.json with model_type siglip or
 * siglip_vision_model (or architectures naming SiglipModel / SiglipVisionModel), model.safetensors (or
 * model.safetensors.index.json + shards), preprocessor_config.json for the resize and pixel statistics, and
 * tokenizer.json (+ tokenizer_config.json) for the text tower.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, errorMessage } from '../../core/errors.js';
import { parseGuardedJson } from '../../core/json-guard.js';
import { architectureFromHfConfig, SIGLIP_MODEL_TYPES, type SiglipArchitecture } from './siglip-architecture.js';

export interface SiglipCheckpoint {
  dir: string;
  /** The .safetensors file or the shard index. */
  weights: string;
  architecture: SiglipArchitecture;
}

const ARCHITECTURES = ['SiglipModel', 'SiglipVisionModel'];

function readJson(path: string): Record<string, unknown> {
  try {
    return parseGuardedJson(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${path}: not readable JSON (${errorMessage(error)})`);
  }
}

/** True when an HF config.json describes a SigLIP model this family reads. */
export function isSiglipConfig(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (SIGLIP_MODEL_TYPES as readonly unknown[]).includes(config.model_type) || architectures.some((a) => ARCHITECTURES.includes(a as string));
}

/** The checkpoint in `dir`, or null when its config.json (if any) is not a SigLIP model's. */
export function inspectSiglipCheckpoint(dir: string): SiglipCheckpoint | null {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return null;
  const config = readJson(configPath);
  if (config.model_type === 'siglip2') {
    // NaFlex: a linear patch embedding over variable patch grids with per-image position resizing and a patch mask.
    throw new UserError(
      `${configPath}: model_type "siglip2" is SigLIP 2's NaFlex (variable-resolution) model, which advood does not read; ` +
        "the fixed-resolution SigLIP 2 checkpoints (google/siglip2-<size>-patch<P>-<S>) are model_type 'siglip' and load as they are",
    );
  }
  if (!isSiglipConfig(config)) return null;
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const weights = existsSync(single) ? single : existsSync(index) ? index : null;
  if (!weights) {
    throw new UserError(`${dir}: a SigLIP config.json but no model.safetensors or model.safetensors.index.json (PyTorch .bin files are not read: they are pickles)`);
  }
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const preprocessor = existsSync(preprocessorPath) ? readJson(preprocessorPath) : undefined;
  return { dir, weights, architecture: architectureFromHfConfig(config, configPath, preprocessor, preprocessorPath) };
}
