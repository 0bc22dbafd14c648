/**
 * Recognises an EVA-CLIP checkpoint directory in open_clip's layout: open_clip_model.safetensors and an
 * open_clip_config.json whose model_cfg builds its vision tower with timm (vision_cfg.timm_model_name), the CLIP BPE
 * tokenizer beside them (merges.txt [+ vocab.json] or bpe_simple_vocab_16e6.txt[.gz]).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { readCheckpointJson } from '../checkpoint-files.js';
import { openSafetensors } from '../safetensors.js';
import { findClipTokenizer, isTimmTower, type ClipCheckpoint } from '../clip/clip-checkpoint.js';
import { architectureFromOpenClipCheckpoint, type EvaClipArchitecture } from './eva-architecture.js';

export interface EvaCheckpoint {
  dir: string;
  weights: string;
  architecture: EvaClipArchitecture;
  tokenizer: ClipCheckpoint['tokenizer'];
}

/**
 * The checkpoint in `dir`; null when the directory is not an open_clip checkpoint with a timm tower. A timm tower
 * that neither this family nor the siglip family (registered before it, src/models/create-encoder.ts) reads is refused
 * here, in one line naming it.
 */
export function inspectEvaCheckpoint(dir: string): EvaCheckpoint | null {
  const weights = join(dir, 'open_clip_model.safetensors');
  const configPath = join(dir, 'open_clip_config.json');
  if (!existsSync(weights) || !existsSync(configPath)) return null;
  const config = readCheckpointJson(configPath);
  const modelCfg = config.model_cfg;
  if (typeof modelCfg !== 'object' || modelCfg === null) throw new UserError(`${configPath}: missing object 'model_cfg'`);
  if (!isTimmTower(modelCfg as Record<string, unknown>)) return null;
  const source = openSafetensors(weights);
  try {
    const architecture = architectureFromOpenClipCheckpoint(modelCfg as Record<string, unknown>, config.preprocess_cfg as Record<string, unknown> | undefined, source, configPath);
    return { dir, weights, architecture, tokenizer: findClipTokenizer(dir) };
  } finally {
    source.close();
  }
}
