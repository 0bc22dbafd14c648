/**
 * createEncoder(spec): the single entry point from a `--target` value to a loaded Encoder.
 * `spec` is a preset name (configs/targets/<name>.json), a path to such a JSON file, or a checkpoint
 * directory that a family recognises.
 */
import { parseGuardedJson } from '../core/json-guard.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigChecker, isPlainObject } from '../core/config-checker.js';
import { UserError, errorMessage } from '../core/errors.js';
import { packagePath } from '../core/repo-paths.js';
import type { Encoder } from './encoder.js';
import type { EncoderFamily, LoadOptions, TargetConfig } from './encoder-family.js';
import { clipFamily } from './clip/clip-family.js';
import { dinov2Family } from './dinov2/dinov2-family.js';
import { evaClipFamily } from './eva/eva-family.js';
import { mobileNetV2Family } from './mobilenet/mobilenet-family.js';
import { siglipFamily } from './siglip/siglip-family.js';

/** The one registry of encoder families. */
const FAMILIES: readonly EncoderFamily<unknown>[] = [mobileNetV2Family, clipFamily, dinov2Family, siglipFamily, evaClipFamily];

/**
 * A --target value read and validated once: the config as written, and the family's typed target behind
 * `estimateBytes` and `load`, so nothing parses the config again.
 */
export interface ResolvedTarget {
  readonly config: TargetConfig;
  estimateBytes(options: LoadOptions): number;
  load(options: LoadOptions): Promise<Encoder>;
}

function resolvedBy<T>(family: EncoderFamily<T>, config: TargetConfig): ResolvedTarget {
  const target = family.validate(config);
  return { config, estimateBytes: (options) => family.estimateBytes(target, options), load: (options) => family.load(target, options) };
}

export function encoderFamilyNames(): string[] {
  return FAMILIES.map((family) => family.name);
}

/** The registry itself, read-only (the README's family table). */
export function encoderFamilies(): readonly EncoderFamily<unknown>[] {
  return FAMILIES;
}

export const TARGET_PRESET_DIR = packagePath('configs', 'targets');

export function targetPresetNames(): string[] {
  return readdirSync(TARGET_PRESET_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

function familyNamed(name: string, origin: string): EncoderFamily<unknown> {
  const family = FAMILIES.find((f) => f.name === name);
  if (!family) throw new UserError(`${origin}: unknown encoder family '${name}'; known: ${FAMILIES.map((f) => f.name).join(', ')}`);
  return family;
}

function readConfigFile(path: string, name: string): ResolvedTarget {
  let raw: unknown;
  try {
    raw = parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not a readable JSON target config (${errorMessage(error)})`);
  }
  const check: ConfigChecker = new ConfigChecker(path);
  if (!isPlainObject(raw)) check.fail('the config', 'must be a JSON object');
  const family = familyNamed(check.string(raw.family, 'family'), path);
  check.fields(raw, '', ['name', 'family', 'description', ...family.configFields]);
  return resolvedBy(family, { name, description: '', ...raw, origin: path } as TargetConfig);
}

function checkpointFormatList(): string {
  return FAMILIES.filter((f) => f.checkpointFormats).map((f) => `${f.name} (${f.checkpointFormats})`).join('; ');
}

/** What is wrong with a directory no family recognised: its config.json's model_type, when it has one. */
function unrecognisedCheckpoint(dir: string): string {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return `${dir}: a directory, but not a checkpoint any encoder family recognises`;
  let modelType: unknown;
  try {
    const config = parseGuardedJson(readFileSync(configPath, 'utf8'));
    modelType = isPlainObject(config) ? config.model_type : undefined;
  } catch (error) {
    return `${configPath}: not readable JSON (${errorMessage(error)})`;
  }
  return `${configPath}: model_type ${JSON.stringify(modelType ?? null)} is not one advood reads`;
}

/** Resolves a --target value to a validated target, without loading weights. */
export function resolveTarget(spec: string): ResolvedTarget {
  const preset = join(TARGET_PRESET_DIR, `${spec}.json`);
  if (/^[\w.-]+$/.test(spec) && existsSync(preset)) return readConfigFile(preset, spec);
  if (existsSync(spec) && statSync(spec).isFile()) return readConfigFile(spec, basename(spec, '.json'));
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    for (const family of FAMILIES) {
      const config = family.configFromCheckpointDir?.(resolve(spec));
      if (config) return resolvedBy(family, config);
    }
    throw new UserError(`${unrecognisedCheckpoint(spec)}; the families read: ${checkpointFormatList()}`);
  }
  throw new UserError(`unknown target '${spec}': not a preset (${targetPresetNames().join(', ')}), a config file or a checkpoint directory`);
}


/**
 * Loads the target. Before touching weights it checks that the target fits the backend's tensor heap
 * (wasm: 4 GiB), so a too-large model fails at once with advice instead of midway.
 */
export async function createEncoder(spec: string | ResolvedTarget, options: LoadOptions): Promise<Encoder> {
  const target = typeof spec === 'string' ? resolveTarget(spec) : spec;
  const { config } = target;
  const needed = target.estimateBytes(options);
  const limit = options.backend.heapLimitBytes;
  if (limit !== null && needed > limit) {
    const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 1 : 0);
    const gpu = options.backend.gpu;
    throw new UserError(
      `target '${config.name}' needs about ${gib(needed)} GiB of tensor memory for input gradients, ` +
        (options.backend.chosen === 'tensorflow-gpu' && gpu
          ? `more than the ${gib(limit)} GiB of GPU ${gpu.index} (${gpu.name}). Choose a GPU with more memory (CUDA_VISIBLE_DEVICES), or run on the CPU with --backend tensorflow.`
          : `more than the ${gib(limit)} GiB the ${options.backend.chosen} backend can hold. ` +
            "Set up the native TensorFlow backend ('npm run setup:native', or '-- --gpu' for CUDA) and run with --backend tensorflow|tensorflow-gpu."),
    );
  }
  return target.load(options);
}
