/**
 * Recognises a DINOv2 checkpoint directory in the HF layout: config.json with model_type dinov2 or
 * dinov2_with_registers (or architectures naming Dinov2Model / Dinov2WithRegistersModel), model.safetensors (or
 * model.safetensors.index.json + shards), and preprocessor_config.json for the crop, resize and pixel statistics.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hfSafetensorsWeights, readCheckpointJson } from '../checkpoint-files.js';
import { architectureFromHfConfig, DINOV2_MODEL_TYPES, type Dinov2Architecture } from './dinov2-architecture.js';

export interface Dinov2Checkpoint {
  dir: string;
  /** The .safetensors file or the shard index. */
  weights: string;
  architecture: Dinov2Architecture;
}

const ARCHITECTURES = ['Dinov2Model', 'Dinov2WithRegistersModel'];

/** True when an HF config.json describes a DINOv2 model. */
export function isDinov2Config(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (DINOV2_MODEL_TYPES as readonly unknown[]).includes(config.model_type) || architectures.some((a) => ARCHITECTURES.includes(a as string));
}

/** The checkpoint in `dir`, or null when its config.json (if any) is not a DINOv2 model's. */
export function inspectDinov2Checkpoint(dir: string): Dinov2Checkpoint | null {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return null;
  const config = readCheckpointJson(configPath);
  if (!isDinov2Config(config)) return null;
  const weights = hfSafetensorsWeights(dir, 'DINOv2');
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const preprocessor = existsSync(preprocessorPath) ? readCheckpointJson(preprocessorPath) : undefined;
  return { dir, weights, architecture: architectureFromHfConfig(config, configPath, preprocessor, preprocessorPath) };
}
