/**
 * Where a family's checkpoint files come from and what identifies them, shared by the safetensors families
 * (clip/, dinov2/, siglip/): a preset's `hub` entry, the directory to load from, its JSON files and safetensors weights,
 * and the sha256 of the weights loaded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { advoodCacheDir } from '../core/cache-dir.js';
import { digestFile } from '../core/digest.js';
import { UserError, errorMessage } from '../core/errors.js';
import { parseGuardedJson } from '../core/json-guard.js';
import { resolveHubFiles, type HubFiles } from '../hub/hub-download.js';
import type { LoadOptions, TargetConfig } from './encoder-family.js';
import { openSafetensors, type TensorSource } from './safetensors.js';

/** A preset's `hub` entry ({repo, revision, files}), or null when it has none. */
export function parseHub(raw: unknown, origin: string): HubFiles | null {
  if (raw === undefined) return null;
  const hub = raw as Partial<HubFiles>;
  if (typeof hub !== 'object' || hub === null || typeof hub.repo !== 'string' || typeof hub.revision !== 'string') {
    throw new UserError(`${origin}: 'hub' must be {repo, revision, files}`);
  }
  if (!Array.isArray(hub.files) || hub.files.length === 0 || !hub.files.every((f) => typeof f === 'string')) {
    throw new UserError(`${origin}: 'hub.files' must list the files to fetch`);
  }
  return { repo: hub.repo, revision: hub.revision, files: hub.files };
}

/** What a target says about where its weights are. */
export interface WeightsLocation {
  /** The config the target was read from (its origin names the errors). */
  config: TargetConfig;
  hub: HubFiles | null;
  /** Set when the target *is* a checkpoint directory. */
  checkpointDir: string | null;
}

/**
 * The directory to load: --weights DIR; the checkpoint directory the target names; the Hugging Face cache
 * (huggingface_hub's layout); a download from $HF_ENDPOINT into that cache.
 */
export async function locateWeights(target: WeightsLocation, options: LoadOptions): Promise<string> {
  if (options.weights) {
    if (!existsSync(options.weights) || !statSync(options.weights).isDirectory()) throw new UserError(`--weights ${options.weights}: not a directory`);
    return options.weights;
  }
  if (target.checkpointDir) return target.checkpointDir;
  if (!target.hub) throw new UserError(`${target.config.origin}: no 'hub' entry and no --weights DIR; say where the weights are`);
  const onProgress = options.onProgress;
  return resolveHubFiles(target.hub, { log: options.log, fallbackHint: 'pass --weights DIR', ...(onProgress && { onProgress: (event) => onProgress({ kind: 'download', ...event }) }) });
}

/** sha256 of the weight files; free for hub blobs (their file name is the verified sha256), cached otherwise. */
export async function weightsSha256(files: readonly string[]): Promise<string> {
  const perFile: string[] = [];
  for (const file of files) {
    const real = realpathSync(file);
    const name = basename(real);
    if (/^[0-9a-f]{64}$/.test(name)) {
      perFile.push(name);
      continue;
    }
    const stat = statSync(real);
    const key = createHash('sha256').update(`${real}\0${stat.size}\0${stat.mtimeMs}`).digest('hex');
    const memo = join(advoodCacheDir('weights-sha256'), key);
    if (existsSync(memo)) {
      perFile.push(readFileSync(memo, 'utf8').trim());
      continue;
    }
    const digest = (await digestFile(real)).sha256;
    writeFileSync(memo, digest);
    perFile.push(digest);
  }
  return perFile.length === 1 ? perFile[0] : createHash('sha256').update(perFile.join('\n')).digest('hex');
}

/** A checkpoint's JSON file (config.json, preprocessor_config.json, …), or a UserError naming it. */
export function readCheckpointJson(path: string): Record<string, unknown> {
  try {
    return parseGuardedJson(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${path}: not readable JSON (${errorMessage(error)})`);
  }
}

/**
 * The weights of an HF-layout checkpoint directory: model.safetensors, or model.safetensors.index.json with its
 * shards. `family` names the model in the error where neither is there.
 */
export function hfSafetensorsWeights(dir: string, family: string): string {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) return single;
  if (existsSync(index)) return index;
  throw new UserError(`${dir}: a ${family} config.json but no model.safetensors or model.safetensors.index.json (PyTorch .bin files are not read: they are pickles)`);
}

/**
 * Opens a checkpoint's safetensors weights, checks their header against the model (`check` throws naming the first
 * mismatches) and hands them to `build`, whose encoder owns the source from then on; when anything before that
 * fails, the source is closed.
 */
export async function withCheckedWeights<T>(weights: string, check: (source: TensorSource) => void, build: (source: TensorSource) => Promise<T>): Promise<T> {
  const source = openSafetensors(weights);
  try {
    check(source);
    return await build(source);
  } catch (error) {
    source.close();
    throw error;
  }
}

/** A target's id at an input size: its name, with `@size` where that is not the checkpoint's own size. */
export function sizedTargetId(name: string, inputSize: number, checkpointSize: number): string {
  return inputSize === checkpointSize ? name : `${name}@${inputSize}`;
}
