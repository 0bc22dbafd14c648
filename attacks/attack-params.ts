/**
 * Attack parameters: the typed form of a preset (configs/attacks/*.json) after CLI overrides, validated once.
 * Every field has a value after resolution; the params hash identifies exactly these values.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { canonicalJson } from '../src/core/canonical-json.js';
import { ConfigChecker, isPlainObject } from '../src/core/config-checker.js';
import { sha256Hex } from '../src/core/digest.js';
import { UserError, errorMessage } from '../src/core/errors.js';
import { parseGuardedJson } from '../src/core/json-guard.js';
import { packagePath } from '../src/core/repo-paths.js';
import { FEATURE_KINDS, type FeatureKind } from '../src/models/encoder.js';
import { CONSTRAINT_FIELDS, constraintEntries, noConstraints, type ConstraintParams } from './constraints/constraint-set.js';
import { DEFAULT_OPTIMISER, OPTIMISERS, optimiserNames } from './optimisers/optimisers.js';
import { ATTACKS, attackNames } from './registry.js';
import { TARGET_STRATEGY_NAMES, type TargetStrategyName } from './targets/target-strategy-names.js';

export { BUDGET_NORMS, type BudgetNorm } from './constraints/norm-budget.js';

export interface AttackParams {
  /** Key into the attack registry (attacks/registry.ts). */
  attack: string;
  steps: number;
  /**
   * Key into the optimiser registry (attacks/optimisers/optimisers.ts). Absent means the default (Adam, the
   * paper's): validation leaves the default out, so a preset that names it has the same params hash as one
   * written before presets could name an optimiser.
   */
  optimiser?: string;
  /**
   * Random starts per item (each item keeps the start whose saved 8-bit image scores best on the objective).
   * Absent means 1: validation leaves 1 out, so that presets written before restarts keep their params hash.
   */
  restarts?: number;
  /** Adam learning rate, or the step size of the signed-gradient optimiser. */
  lr: number;
  /** Items optimised together; also the 1/B in the paper's batch-mean loss. */
  batch: number;
  /** σ of the N(0, σ²) init of the optimised variable. */
  initStd: number;
  /** Early stop for an item once cos ≥ threshold (float, before quantisation); null runs every step. */
  threshold: number | null;
  /** Success threshold on the cosine after 8-bit quantisation. */
  successThreshold: number;
  features: FeatureKind;
  /** Encoder input side; null keeps the target's default. */
  inputSize: number | null;
  target: {
    strategy: TargetStrategyName;
    /** Class name or index for 'prototype' / 'text'; null draws one per item. */
    class: string | number | null;
  };
  /** One field per entry of the constraint registry (attacks/constraints/constraint-set.ts). */
  constraints: ConstraintParams;
  /** Side of the low DCT band for the energy statistic, as a fraction of the input side. */
  energyBand: number;
}

export interface ResolvedAttackPreset {
  /** Preset name (file stem). */
  name: string;
  description: string;
  /** Where it came from, for messages and provenance. */
  origin: string;
  params: AttackParams;
  /** sha256 (hex) of the canonical JSON of params. */
  paramsHash: string;
}

export const ATTACK_PRESET_DIR = packagePath('configs', 'attacks');

export function attackPresetNames(): string[] {
  if (!existsSync(ATTACK_PRESET_DIR)) return [];
  return readdirSync(ATTACK_PRESET_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Values every preset inherits; a preset states only what it changes (the paper's settings where they exist). */
const DEFAULTS: AttackParams = {
  attack: 'feature-collision',
  steps: 250,
  lr: 1e-3,
  batch: 16,
  initStd: 1e-3,
  threshold: null,
  successThreshold: 0.9,
  features: 'pre-projection',
  inputSize: null,
  target: { strategy: 'sample', class: null },
  constraints: noConstraints(),
  energyBand: 0.125,
};

export function paramsHash(params: AttackParams): string {
  return sha256Hex(canonicalJson(params));
}

/** Deep merge where objects merge field by field and anything else replaces; null replaces too. */
function merge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base && isPlainObject(base[k]) && isPlainObject(v) ? merge(base[k], v) : v;
  return out;
}

/** Turns {'constraints.smoothness.lambda': 50} into {constraints: {smoothness: {lambda: 50}}}. */
function expandDotted(overrides: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const parts = path.split('.');
    // Such a segment would set an object's prototype in merge() rather than a field, past every check.
    const forbidden = parts.find((part) => part === '__proto__' || part === 'constructor' || part === 'prototype');
    if (forbidden) throw new UserError(`override ${JSON.stringify(path)}: '${forbidden}' is not a field name`);
    let patch: unknown = value;
    for (let i = parts.length - 1; i >= 0; i--) patch = { [parts[i]!]: patch };
    out = merge(out, patch) as Record<string, unknown>;
  }
  return out;
}

const TOP_FIELDS = ['name', 'description', 'optimiser', 'restarts', ...Object.keys(DEFAULTS)] as const;

/** Validates a merged raw object into AttackParams (plus name/description). */
export function validateAttackParams(raw: unknown, origin: string): { params: AttackParams; description: string } {
  const check = new ConfigChecker(origin);
  const top = check.fields(raw, '', TOP_FIELDS);
  const target = check.fields(top.target, 'target', ['strategy', 'class']);
  const constraints = check.fields(top.constraints, 'constraints', CONSTRAINT_FIELDS);
  const targetClass = target.class;
  if (targetClass !== null && typeof targetClass !== 'string' && !(typeof targetClass === 'number' && Number.isInteger(targetClass) && targetClass >= 0)) {
    check.fail('target.class', `must be a class name, a class index ≥ 0 or null, got ${JSON.stringify(targetClass)}`);
  }
  const params: AttackParams = {
    attack: check.oneOf(top.attack, 'attack', attackNames()),
    steps: check.number(top.steps, 'steps', { min: 1, integer: true }),
    lr: check.number(top.lr, 'lr', { above: 0 }),
    batch: check.number(top.batch, 'batch', { min: 1, integer: true }),
    initStd: check.number(top.initStd, 'initStd', { min: 0 }),
    threshold: top.threshold === null ? null : check.number(top.threshold, 'threshold', { min: -1, max: 1 }),
    successThreshold: check.number(top.successThreshold, 'successThreshold', { min: -1, max: 1 }),
    features: check.oneOf(top.features, 'features', FEATURE_KINDS),
    inputSize: top.inputSize === null ? null : check.number(top.inputSize, 'inputSize', { min: 8, integer: true }),
    target: {
      strategy: check.oneOf(target.strategy, 'target.strategy', TARGET_STRATEGY_NAMES),
      class: targetClass as string | number | null,
    },
    constraints: readConstraints(constraints, check),
    energyBand: check.number(top.energyBand, 'energyBand', { above: 0, max: 1 }),
  };
  const parametrisations = constraintEntries().filter((entry) => entry.role === 'parametrisation');
  const given = parametrisations.filter((entry) => (params.constraints as Record<string, unknown>)[entry.field] !== null);
  if (given.length > 1) {
    check.fail('constraints', `may hold one parametrisation of δ (${parametrisations.map((e) => e.field).join(' or ')}), not ${given.map((e) => e.field).join(' and ')}`);
  }
  if (top.optimiser !== undefined) {
    const optimiser = check.oneOf(top.optimiser, 'optimiser', optimiserNames());
    const fixed = ATTACKS[params.attack]!.fixedOptimiser;
    if (fixed !== undefined && optimiser !== fixed) check.fail('optimiser', `must be '${fixed}' (or absent) with attack '${params.attack}', got '${optimiser}'`);
    if (optimiser !== DEFAULT_OPTIMISER && optimiser !== fixed) params.optimiser = optimiser;
    if (OPTIMISERS[optimiser]!.needsBudget && params.constraints.budget === null) {
      check.fail('optimiser', `'${optimiser}' needs constraints.budget, since its step sizes start at 2ε (e.g. {"norm": "linf", "epsilon": 0.0314})`);
    }
  }
  if (top.restarts !== undefined) {
    const restarts = check.number(top.restarts, 'restarts', { min: 1, integer: true });
    if (restarts > 1) params.restarts = restarts;
  }
  const [problem] = ATTACKS[params.attack]!.validate?.(params) ?? [];
  if (problem) check.fail(...problem);
  if (params.target.strategy === 'text' && params.features !== 'projected') {
    check.fail('features', "must be 'projected' with target.strategy 'text' (text embeddings live in the projected space)");
  }
  return { params, description: typeof top.description === 'string' ? top.description : '' };
}

/** Each registered constraint field: null when absent, else its entry's validated value. */
function readConstraints(raw: Record<string, unknown>, check: ConfigChecker): ConstraintParams {
  const out: Record<string, unknown> = {};
  for (const entry of constraintEntries()) {
    const value = raw[entry.field];
    const path = `constraints.${entry.field}`;
    out[entry.field] = value === null || value === undefined ? null : entry.read(check.fields(value, path, entry.keys), check, path);
  }
  return out as ConstraintParams;
}

function readPresetFile(path: string): unknown {
  try {
    return parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not a readable JSON attack preset (${errorMessage(error)})`);
  }
}

/**
 * Resolves `--attack` (a preset name in configs/attacks/ or a path to a JSON file) and applies overrides.
 * Overrides are dotted paths into the params ({'steps': 10, 'constraints.smoothness.lambda': 50}); an
 * override of null removes an optional constraint.
 */
export function resolveAttackPreset(spec: string, overrides: Record<string, unknown> = {}): ResolvedAttackPreset {
  const presetPath = resolve(ATTACK_PRESET_DIR, `${spec}.json`);
  let path: string;
  if (/^[\w.-]+$/.test(spec) && existsSync(presetPath)) path = presetPath;
  else if (existsSync(spec)) path = resolve(spec);
  else throw new UserError(`unknown attack preset '${spec}': not a preset (${attackPresetNames().join(', ')}) or a JSON file`);
  const raw = readPresetFile(path);
  if (!isPlainObject(raw)) throw new UserError(`${path}: an attack preset must be a JSON object`);
  const name = basename(path, '.json');
  const merged = merge(merge(DEFAULTS, raw), expandDotted(overrides));
  const origin = Object.keys(overrides).length ? `${path} (with overrides ${Object.keys(overrides).join(', ')})` : path;
  const { params, description } = validateAttackParams(merged, origin);
  return { name, description, origin: path, params, paramsHash: paramsHash(params) };
}

/** Params from an in-memory object (tests, library callers), with the same validation as a preset file. */
export function attackParamsFrom(raw: Record<string, unknown>, origin = 'attack params'): AttackParams {
  return validateAttackParams(merge(DEFAULTS, raw), origin).params;
}
