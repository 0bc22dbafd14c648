/**
 * An experiment config (configs/experiments/*.json) read once into a typed plan: the target (or one of its
 * variants), the ID train/test sources, one or several named OOD sets (one of which the attacks perturb), the
 * attack presets, and the evaluation (detectors, bootstrap, and the adaptive attacks on each detector's score).
 *
 * Data paths are `${VAR}` placeholders, filled from --var NAME=PATH or the environment, so one config serves
 * every machine. A set marked `optional` whose placeholder is unset is skipped and listed as skipped (the
 * ImageNet suite's SUN, Places and NINCO have no readable copy on the Hub); any other unset placeholder is an
 * error naming every one of them.
 */
import { readFileSync } from 'node:fs';
import { ConfigChecker, isPlainObject } from '../core/config-checker.js';
import { UserError, errorMessage } from '../core/errors.js';
import { parseGuardedJson } from '../core/json-guard.js';
import type { DetectorSpec } from '../detectors/registry.js';
import { withChoiceDefaults } from '../sources/source-spec.js';
import type { AdaptiveSize } from './adaptive-releases.js';

export interface DataRef {
  /** A source spec after ${VAR} substitution, with the ref's split/imageColumn/labelColumn in its query. */
  source: string;
  /** The first `size` images in source order; null = all. */
  size: number | null;
}

export interface OodSet extends DataRef {
  /** The set's name in the report (a key of `data.ood`; 'ood' for a config with a single OOD source). */
  name: string;
}

/** An optional set left out because its placeholders are unset. */
export interface SkippedSet {
  role: DataRole;
  name: string;
  /** The unset placeholder names. */
  variables: string[];
}

export type DataRole = 'id-train' | 'id-test' | 'ood';

export interface ExperimentAttack {
  preset: string;
  /** Dotted-path overrides of preset fields, as `advood generate --set`. */
  overrides: Record<string, unknown>;
}

export interface ExperimentConfig {
  /** The experiment id, with the variant appended when the config has variants: the default output folder's name. */
  name: string;
  origin: string;
  /** The chosen variant (a key of `variants`), or null for a config without variants. */
  variant: string | null;
  target: string;
  /** Input size for targets whose size is free (null: the target's default). */
  inputSize: number | null;
  seed: number;
  data: {
    idTrain: DataRef;
    idTest: DataRef;
    /** Every OOD set that is present; the attacked one comes first. */
    ood: OodSet[];
    /** The name of the OOD set the attacks perturb (evaluated through its releases, clean and adversarial). */
    attacked: string;
  };
  skipped: SkippedSet[];
  attacks: ExperimentAttack[];
  detectors: (string | DetectorSpec)[] | null;
  bootstrap: { resamples: number; seed: number };
  /** The adaptive attacks on every differentiable detector's own score (`evaluate --adaptive`); null: none. */
  adaptive: AdaptiveSize | null;
}

const TOP_FIELDS = ['$doc', 'name', 'description', 'target', 'inputSize', 'seed', 'variants', 'data', 'attacks', 'evaluation'] as const;
const DATA_FIELDS = ['source', 'size', 'split', 'imageColumn', 'labelColumn', 'optional', 'about'] as const;
const VARIANT_FIELDS = ['description', 'target', 'inputSize'] as const;
const ADAPTIVE_FIELDS = ['n', 'steps', 'queries', 'restarts', 'attacks'] as const;
const POSITIVE_INTEGER = { min: 1, integer: true } as const;
const SET_NAME = /^[\w.-]+$/;

/** The ${NAME} placeholders of `text`. */
function placeholders(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!);
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => vars[name] ?? process.env[name] ?? '');
}

export interface ReadExperimentOptions {
  /** --var NAME=VALUE. */
  vars?: Record<string, string>;
  /** --variant NAME; default: the config's first variant. */
  variant?: string;
  /** Report unset placeholders of required sets as skipped instead of failing (`--dry-run` lists them). */
  allowMissing?: boolean;
}

export function readExperimentConfig(path: string, options: ReadExperimentOptions = {}): ExperimentConfig {
  let raw: unknown;
  try {
    raw = parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not a readable JSON experiment config (${errorMessage(error)})`);
  }
  const check = new ConfigChecker(path);
  const config = check.fields(raw, '', TOP_FIELDS);
  const vars = options.vars ?? {};
  const isSet = (name: string) => vars[name] !== undefined || process.env[name] !== undefined;

  const { variant, target, inputSize } = chooseVariant(check, config, options.variant);
  const baseName = typeof config.name === 'string' ? config.name : 'experiment';

  const dataFields = check.fields(config.data, 'data', ['idTrain', 'idTest', 'ood', 'attacked']);
  const missing = new Set<string>();
  const skipped: SkippedSet[] = [];
  /** A ref, or null when it is optional (or listing only) and a placeholder of it is unset. */
  const dataRef = (value: unknown, field: string, role: DataRole, name: string): DataRef | null => {
    const ref = check.fields(value, field, DATA_FIELDS);
    const template = check.string(ref.source, `${field}.source`);
    const size = ref.size === undefined || ref.size === null ? null : check.number(ref.size, `${field}.size`, POSITIVE_INTEGER);
    const optional = ref.optional === undefined ? false : ref.optional;
    if (typeof optional !== 'boolean') check.fail(`${field}.optional`, 'must be true or false');
    const text = (key: 'split' | 'imageColumn' | 'labelColumn') => (ref[key] === undefined ? undefined : check.string(ref[key], `${field}.${key}`));
    const choice = { split: text('split'), imageColumn: text('imageColumn'), labelColumn: text('labelColumn') };
    if (ref.about !== undefined) check.string(ref.about, `${field}.about`);
    const unset = placeholders(template).filter((variable) => !isSet(variable));
    if (unset.length > 0) {
      if (!optional && !options.allowMissing) {
        for (const variable of unset) missing.add(variable);
        return null;
      }
      skipped.push({ role, name, variables: unset });
      return null;
    }
    return { source: withChoiceDefaults(substitute(template, vars), choice), size };
  };

  const idTrain = dataRef(dataFields.idTrain, 'data.idTrain', 'id-train', 'id-train');
  const idTest = dataRef(dataFields.idTest, 'data.idTest', 'id-test', 'id-test');
  const { sets, attacked } = oodSets(check, dataFields, dataRef);
  if (missing.size > 0) {
    throw new UserError(`${path}: set ${[...missing].map((m) => `--var ${m}=PATH`).join(' ')} (or the environment variable${missing.size > 1 ? 's' : ''})`);
  }
  if (!options.allowMissing) {
    if (!sets.some((set) => set.name === attacked)) check.fail('data.attacked', `names '${attacked}', which is optional and not set; the attacked set must be present`);
  }

  const seed = check.number(config.seed ?? 0, 'seed', { integer: true });
  if (!Number.isSafeInteger(seed)) check.fail('seed', `must be a safe integer, got ${seed}`);
  const attacks = readAttacks(check, config.attacks);
  const evaluation = config.evaluation === undefined ? {} : check.fields(config.evaluation, 'evaluation', ['detectors', 'bootstrap', 'adaptive']);
  const detectors = evaluation.detectors ?? null;
  if (detectors !== null && !Array.isArray(detectors)) check.fail('evaluation.detectors', 'must be a list of detector specs');
  const bootstrap = evaluation.bootstrap === undefined ? {} : check.fields(evaluation.bootstrap, 'evaluation.bootstrap', ['resamples', 'seed']);
  const resamples = check.number(bootstrap.resamples ?? 1000, 'evaluation.bootstrap.resamples', { min: 0, integer: true });
  const bootstrapSeed = check.number(bootstrap.seed ?? seed, 'evaluation.bootstrap.seed', { integer: true });
  return {
    name: variant === null ? baseName : `${baseName}-${variant}`,
    origin: path,
    variant,
    target,
    inputSize,
    seed,
    // Placeholders of ID sets are never optional: a null here was listed as skipped for --dry-run.
    data: { idTrain: idTrain ?? { source: '', size: null }, idTest: idTest ?? { source: '', size: null }, ood: sets, attacked },
    skipped,
    attacks,
    detectors: detectors as (string | DetectorSpec)[] | null,
    bootstrap: { resamples, seed: bootstrapSeed },
    adaptive: readAdaptive(check, evaluation.adaptive),
  };
}

function chooseVariant(check: ConfigChecker, config: Record<string, unknown>, requested: string | undefined): { variant: string | null; target: string; inputSize: number | null } {
  const sizeOf = (value: unknown, field: string) => (value === undefined || value === null ? null : check.number(value, field, POSITIVE_INTEGER));
  if (config.variants === undefined) {
    if (requested !== undefined) check.fail('variants', `is absent, so --variant ${requested} names nothing`);
    return { variant: null, target: check.string(config.target, 'target'), inputSize: sizeOf(config.inputSize, 'inputSize') };
  }
  if (config.target !== undefined) check.fail('target', 'and variants exclude each other: give each variant its target');
  const variants = check.fields(config.variants, 'variants', Object.keys(isPlainObject(config.variants) ? config.variants : {}));
  const names = Object.keys(variants);
  if (names.length === 0) check.fail('variants', 'must name at least one variant');
  const variant = requested ?? names[0]!;
  if (!names.includes(variant)) check.fail('variants', `has no '${variant}' (it has: ${names.join(', ')})`);
  const chosen = check.fields(variants[variant], `variants.${variant}`, VARIANT_FIELDS);
  const inputSize = chosen.inputSize !== undefined ? sizeOf(chosen.inputSize, `variants.${variant}.inputSize`) : sizeOf(config.inputSize, 'inputSize');
  return { variant, target: check.string(chosen.target, `variants.${variant}.target`), inputSize };
}

type ReadRef = (value: unknown, field: string, role: DataRole, name: string) => DataRef | null;

/** `data.ood` is one source (named 'ood', and attacked) or an object of named sets with `data.attacked` naming one. */
function oodSets(check: ConfigChecker, data: Record<string, unknown>, dataRef: ReadRef): { sets: OodSet[]; attacked: string } {
  const ood = data.ood;
  if (isPlainObject(ood) && 'source' in ood) {
    if (data.attacked !== undefined && data.attacked !== 'ood') check.fail('data.attacked', "names a set, but data.ood is a single source (named 'ood')");
    const ref = dataRef(ood, 'data.ood', 'ood', 'ood');
    return { sets: ref ? [{ name: 'ood', ...ref }] : [], attacked: 'ood' };
  }
  if (!isPlainObject(ood) || Object.keys(ood).length === 0) check.fail('data.ood', 'must be a source {source, size, …} or an object of named sources');
  const names = Object.keys(ood);
  for (const name of names) if (!SET_NAME.test(name)) check.fail(`data.ood.${name}`, 'is not a set name (letters, digits, _ . -)');
  const attacked = data.attacked === undefined ? names[0]! : check.string(data.attacked, 'data.attacked');
  if (!names.includes(attacked)) check.fail('data.attacked', `names '${attacked}', not a set of data.ood (${names.join(', ')})`);
  const sets: OodSet[] = [];
  for (const name of [attacked, ...names.filter((n) => n !== attacked)]) {
    const ref = dataRef(ood[name], `data.ood.${name}`, 'ood', name);
    if (ref) sets.push({ name, ...ref });
  }
  return { sets, attacked };
}

function readAttacks(check: ConfigChecker, value: unknown): ExperimentAttack[] {
  if (!Array.isArray(value) || value.length === 0) check.fail('attacks', 'must be a non-empty list of attack presets');
  const attacks = (value as unknown[]).map((entry, i): ExperimentAttack => {
    if (typeof entry === 'string') return { preset: entry, overrides: {} };
    const attack = check.fields(entry, `attacks[${i}]`, ['preset', 'overrides']);
    if (attack.overrides !== undefined && !isPlainObject(attack.overrides)) check.fail(`attacks[${i}].overrides`, 'must be an object of dotted-path overrides');
    return { preset: check.string(attack.preset, `attacks[${i}].preset`), overrides: (attack.overrides as Record<string, unknown> | undefined) ?? {} };
  });
  if (new Set(attacks.map((a) => a.preset)).size !== attacks.length) check.fail('attacks', 'names a preset twice (each gets its own release directory)');
  return attacks;
}

function readAdaptive(check: ConfigChecker, value: unknown): AdaptiveSize | null {
  if (value === undefined || value === null) return null;
  const adaptive = check.fields(value, 'evaluation.adaptive', ADAPTIVE_FIELDS);
  const count = (key: 'n' | 'steps' | 'queries' | 'restarts') => check.optionalNumber(adaptive[key], `evaluation.adaptive.${key}`, POSITIVE_INTEGER);
  let attacks: string[] | undefined;
  if (adaptive.attacks !== undefined) {
    if (!Array.isArray(adaptive.attacks) || adaptive.attacks.length === 0) check.fail('evaluation.adaptive.attacks', "must be a non-empty list ('repeat' and attack presets)");
    attacks = (adaptive.attacks as unknown[]).map((attack, i) => check.string(attack, `evaluation.adaptive.attacks[${i}]`));
  }
  const size: AdaptiveSize = { n: count('n'), steps: count('steps'), queries: count('queries'), restarts: count('restarts'), attacks };
  return Object.fromEntries(Object.entries(size).filter(([, v]) => v !== undefined)) as AdaptiveSize;
}
