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
import { mobileNetV2Family } from './mobilenet/mobilenet-family.js';

/** The one registry of encoder families. */
const FAMILIES: readonly EncoderFamily[] = [mobileNetV2Family, clipFamily];

export function encoderFamilyNames(): string[] {
  return FAMILIES.map((family) => family.name);
}

export const TARGET_PRESET_DIR = packagePath('configs', 'targets');

export function targetPresetNames(): string[] {
  return readdirSync(TARGET_PRESET_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

function familyNamed(name: string, origin: string): EncoderFamily {
  const family = FAMILIES.find((f) => f.name === name);
  if (!family) throw new UserError(`${origin}: unknown encoder family '${name}'; known: ${FAMILIES.map((f) => f.name).join(', ')}`);
  return family;
}

function readConfigFile(path: string, name: string): TargetConfig {
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
  const config = { name, description: '', ...raw, origin: path } as TargetConfig;
  family.validate(config);
  return config;
}

/** Resolves a --target value to a validated config, without loading weights. */
export function resolveTarget(spec: string): TargetConfig {
  const preset = join(TARGET_PRESET_DIR, `${spec}.json`);
  if (/^[\w.-]+$/.test(spec) && existsSync(preset)) return readConfigFile(preset, spec);
  if (existsSync(spec) && statSync(spec).isFile()) return readConfigFile(spec, basename(spec, '.json'));
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    for (const family of FAMILIES) {
      const config = family.configFromCheckpointDir?.(resolve(spec));
      if (config) {
        family.validate(config);
        return config;
      }
    }
    throw new UserError(`${spec}: a directory, but not a checkpoint any encoder family recognises (expected config.json + *.safetensors or open_clip files)`);
  }
  throw new UserError(`unknown target '${spec}': not a preset (${targetPresetNames().join(', ')}), a config file or a checkpoint directory`);
}

export function estimateTargetBytes(config: TargetConfig, options: LoadOptions): number {
  return familyNamed(config.family, config.origin).estimateBytes(config, options);
}

/**
 * Loads the target. Before touching weights it checks that the target fits the backend's tensor heap
 * (wasm: 4 GiB), so a too-large model fails at once with advice instead of midway.
 */
export async function createEncoder(spec: string | TargetConfig, options: LoadOptions): Promise<Encoder> {
  const config = typeof spec === 'string' ? resolveTarget(spec) : spec;
  const family = familyNamed(config.family, config.origin);
  const needed = family.estimateBytes(config, options);
  const limit = options.backend.heapLimitBytes;
  if (limit !== null && needed > limit) {
    throw new UserError(
      `target '${config.name}' needs about ${(needed / 1024 ** 3).toFixed(1)} GiB of tensor memory for input gradients, ` +
        `more than the ${(limit / 1024 ** 3).toFixed(0)} GiB the ${options.backend.chosen} backend can hold. ` +
        "Set up the native TensorFlow backend ('npm run setup:native', or '-- --gpu' for CUDA) and run with --backend tensorflow|tensorflow-gpu.",
    );
  }
  return family.load(config, options);
}
