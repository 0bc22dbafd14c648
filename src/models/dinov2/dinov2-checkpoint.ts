/**
 * Recognises a DINOv2 checkpoint directory in the HF layout: config.json with model_type dinov2 or
 * dinov2_with_registers (or architectures naming Dinov2Model / Dinov2WithRegistersModel), model.safetensors (or
 * model.safetensors.index.json + shards), and preprocessor_config.json for the crop, resize and pixel statistics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, errorMessage } from '../../core/errors.js';
import { parseGuardedJson } from '../../core/json-guard.js';
import { architectureFromHfConfig, DINOV2_MODEL_TYPES, type Dinov2Architecture } from './dinov2-architecture.js';

export interface Dinov2Checkpoint {
  dir: string;
  /** The .safetensors file or the shard index. */
  weights: string;
  architecture: Dinov2Architecture;
}

const ARCHITECTURES = ['Dinov2Model', 'Dinov2WithRegistersModel'];

function readJson(path: string): Record<string, unknown> {
  try {
    return parseGuardedJson(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${path}: not readable JSON (${errorMessage(error)})`);
  }
}

/** True when an HF config.json describes a DINOv2 model. */
export function isDinov2Config(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return (DINOV2_MODEL_TYPES as readonly unknown[]).includes(config.model_type) || architectures.some((a) => ARCHITECTURES.includes(a as string));
}

/** The checkpoint in `dir`, or null when its config.json (if any) is not a DINOv2 model's. */
export function inspectDinov2Checkpoint(dir: string): Dinov2Checkpoint | null {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return null;
  const config = readJson(configPath);
  if (!isDinov2Config(config)) return null;
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const weights = existsSync(single) ? single : existsSync(index) ? index : null;
  if (!weights) {
    throw new UserError(`${dir}: a DINOv2 config.json but no model.safetensors or model.safetensors.index.json (PyTorch .bin files are not read: they are pickles)`);
  }
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const preprocessor = existsSync(preprocessorPath) ? readJson(preprocessorPath) : undefined;
  return { dir, weights, architecture: architectureFromHfConfig(config, configPath, preprocessor, preprocessorPath) };
}
