/**
 * Recognises a CLIP checkpoint directory in either layout and says which files hold what.
 * - HF transformers: config.json + model.safetensors (or model.safetensors.index.json + shards),
 *   tokenizer in vocab.json + merges.txt, pixel statistics in preprocessor_config.json.
 * - open_clip: open_clip_model.safetensors + open_clip_config.json ({model_cfg, preprocess_cfg}),
 *   tokenizer in merges.txt (+ vocab.json) or open_clip's bpe_simple_vocab_16e6.txt[.gz].
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { hfSafetensorsWeights, readCheckpointJson } from '../checkpoint-files.js';
import { architectureFromHfConfig, architectureFromOpenClipConfig, type ClipArchitecture } from './clip-architecture.js';
import type { ClipLayout } from './clip-weight-map.js';

export interface ClipCheckpoint {
  dir: string;
  layout: ClipLayout;
  /** The .safetensors file or the shard index. */
  weights: string;
  /** Architecture from the directory's own config, when it has one. */
  architecture: ClipArchitecture | null;
  tokenizer: { merges: string; vocab?: string } | null;
}

/** The CLIP BPE files in `dir`: merges.txt (+ vocab.json), or open_clip's bpe_simple_vocab_16e6.txt[.gz]. */
export function findClipTokenizer(dir: string): ClipCheckpoint['tokenizer'] {
  const merges = join(dir, 'merges.txt');
  const vocab = join(dir, 'vocab.json');
  if (existsSync(merges)) return existsSync(vocab) ? { merges, vocab } : { merges };
  for (const name of ['bpe_simple_vocab_16e6.txt.gz', 'bpe_simple_vocab_16e6.txt']) {
    if (existsSync(join(dir, name))) return { merges: join(dir, name) };
  }
  return null;
}

function isHfClipConfig(config: Record<string, unknown>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  return config.model_type === 'clip' || architectures.includes('CLIPModel');
}

/** True when an open_clip model config builds its vision tower with timm (vision_cfg.timm_model_name). */
export function isTimmTower(modelCfg: Record<string, unknown>): boolean {
  const vision = modelCfg.vision_cfg as Record<string, unknown> | undefined;
  return typeof vision?.timm_model_name === 'string';
}

/** The checkpoint in `dir`, or null when the directory holds no CLIP checkpoint in a known layout. */
export function inspectClipCheckpoint(dir: string): ClipCheckpoint | null {
  const openClipWeights = join(dir, 'open_clip_model.safetensors');
  if (existsSync(openClipWeights)) {
    const configPath = join(dir, 'open_clip_config.json');
    let architecture: ClipArchitecture | null = null;
    if (existsSync(configPath)) {
      const config = readCheckpointJson(configPath);
      if (typeof config.model_cfg !== 'object' || config.model_cfg === null) throw new UserError(`${configPath}: missing object 'model_cfg'`);
      // A timm vision tower is not open_clip's own ViT: the siglip and eva-clip families read theirs (src/models/siglip/, eva/).
      if (isTimmTower(config.model_cfg as Record<string, unknown>)) return null;
      architecture = architectureFromOpenClipConfig(config.model_cfg as Record<string, unknown>, configPath, config.preprocess_cfg as Record<string, unknown>);
    }
    return { dir, layout: 'open_clip', weights: openClipWeights, architecture, tokenizer: findClipTokenizer(dir) };
  }
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return null;
  const config = readCheckpointJson(configPath);
  if (!isHfClipConfig(config)) return null;
  const weights = hfSafetensorsWeights(dir, 'CLIP');
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const preprocessor = existsSync(preprocessorPath) ? readCheckpointJson(preprocessorPath) : undefined;
  return { dir, layout: 'hf', weights, architecture: architectureFromHfConfig(config, configPath, preprocessor), tokenizer: findClipTokenizer(dir) };
}
