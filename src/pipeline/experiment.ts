/**
 * runExperiment: an experiment config (configs/experiments/*.json) end to end — one release per attack preset,
 * then one evaluation of every detector with each release next to its clean images. This is how the paper's
 * CIFAR setup (paper-cifar.json) runs where its data, weights and a GPU exist.
 *
 * Data paths are `${VAR}` placeholders, filled from --var NAME=PATH or the environment, so one config serves
 * every machine. A release that already exists and verifies is reused, so a rerun after a crash only redoes
 * what is missing (an unfinished release resumes inside generate).
 */
import { parseGuardedJson } from '../core/json-guard.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstItems } from '../data/first-items.js';
import type { DetectorSpec } from '../detectors/registry.js';
import { createEncoder } from '../models/create-encoder.js';
import { MANIFEST_FILE } from '../release/release-manifest.js';
import { verifyRelease } from '../release/read/release-verify.js';
import type { BackendReport } from '../runtime/backend.js';
import { ConfigChecker, isPlainObject } from '../core/config-checker.js';
import { UserError, errorMessage } from '../core/errors.js';
import { acquireOutputLock } from '../core/output-lock.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import { openImageSource } from '../sources/open-source.js';
import { withChoiceDefaults } from '../sources/source-spec.js';
import { type EvaluateProgress, type EvaluateSummary, runEvaluation } from './evaluate.js';
import { type GenerateProgress, generateRelease } from './generate.js';

export interface DataRef {
  /** A source spec after ${VAR} substitution, with the ref's split/imageColumn/labelColumn in its query. */
  source: string;
  /** The first `size` images in source order; null = all. */
  size: number | null;
}

export interface ExperimentAttack {
  preset: string;
  /** Dotted-path overrides of preset fields, as `advood generate --set`. */
  overrides: Record<string, unknown>;
}

export interface ExperimentConfig {
  name: string;
  origin: string;
  target: string;
  /** Input size for targets whose size is free (null: the target's default). */
  inputSize: number | null;
  seed: number;
  data: { idTrain: DataRef; idTest: DataRef; ood: DataRef };
  attacks: ExperimentAttack[];
  detectors: (string | DetectorSpec)[] | null;
  bootstrap: { resamples: number; seed: number };
}

/** Replaces ${NAME} with vars[NAME] or process.env[NAME]; lists every missing name at once. */
function substitute(text: string, vars: Record<string, string>, missing: Set<string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = vars[name] ?? process.env[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return value;
  });
}

const TOP_FIELDS = ['$doc', 'name', 'description', 'target', 'inputSize', 'seed', 'data', 'attacks', 'evaluation'] as const;
const POSITIVE_INTEGER = { min: 1, integer: true } as const;

export function readExperimentConfig(path: string, vars: Record<string, string> = {}): ExperimentConfig {
  let raw: unknown;
  try {
    raw = parseGuardedJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not a readable JSON experiment config (${errorMessage(error)})`);
  }
  const check = new ConfigChecker(path);
  const config = check.fields(raw, '', TOP_FIELDS);
  const dataFields = check.fields(config.data, 'data', ['idTrain', 'idTest', 'ood']);
  const missing = new Set<string>();
  const dataRef = (key: 'idTrain' | 'idTest' | 'ood'): DataRef => {
    const ref = check.fields(dataFields[key], `data.${key}`, ['source', 'size', 'split', 'imageColumn', 'labelColumn']);
    const source = check.string(ref.source, `data.${key}.source`);
    const size = ref.size === undefined || ref.size === null ? null : check.number(ref.size, `data.${key}.size`, POSITIVE_INTEGER);
    const optional = (field: 'split' | 'imageColumn' | 'labelColumn') => (ref[field] === undefined ? undefined : check.string(ref[field], `data.${key}.${field}`));
    const choice = { split: optional('split'), imageColumn: optional('imageColumn'), labelColumn: optional('labelColumn') };
    return { source: withChoiceDefaults(substitute(source, vars, missing), choice), size };
  };
  const data = { idTrain: dataRef('idTrain'), idTest: dataRef('idTest'), ood: dataRef('ood') };
  if (missing.size > 0) {
    throw new UserError(`${path}: set ${[...missing].map((m) => `--var ${m}=PATH`).join(' ')} (or the environment variable${missing.size > 1 ? 's' : ''})`);
  }
  const target = check.string(config.target, 'target');
  const seed = check.number(config.seed ?? 0, 'seed', { integer: true });
  if (!Number.isSafeInteger(seed)) check.fail('seed', `must be a safe integer, got ${seed}`);
  const inputSize = config.inputSize === undefined || config.inputSize === null ? null : check.number(config.inputSize, 'inputSize', POSITIVE_INTEGER);
  if (!Array.isArray(config.attacks) || config.attacks.length === 0) check.fail('attacks', 'must be a non-empty list of attack presets');
  const attacks = (config.attacks as unknown[]).map((entry, i): ExperimentAttack => {
    if (typeof entry === 'string') return { preset: entry, overrides: {} };
    const attack = check.fields(entry, `attacks[${i}]`, ['preset', 'overrides']);
    if (attack.overrides !== undefined && !isPlainObject(attack.overrides)) check.fail(`attacks[${i}].overrides`, 'must be an object of dotted-path overrides');
    return { preset: check.string(attack.preset, `attacks[${i}].preset`), overrides: (attack.overrides as Record<string, unknown> | undefined) ?? {} };
  });
  if (new Set(attacks.map((a) => a.preset)).size !== attacks.length) check.fail('attacks', 'names a preset twice (each gets its own release directory)');
  const evaluation = config.evaluation === undefined ? {} : check.fields(config.evaluation, 'evaluation', ['detectors', 'bootstrap']);
  const detectors = evaluation.detectors ?? null;
  if (detectors !== null && !Array.isArray(detectors)) check.fail('evaluation.detectors', 'must be a list of detector specs');
  const bootstrap = evaluation.bootstrap === undefined ? {} : check.fields(evaluation.bootstrap, 'evaluation.bootstrap', ['resamples', 'seed']);
  const resamples = check.number(bootstrap.resamples ?? 1000, 'evaluation.bootstrap.resamples', { min: 0, integer: true });
  const bootstrapSeed = check.number(bootstrap.seed ?? seed, 'evaluation.bootstrap.seed', { integer: true });
  return {
    name: typeof config.name === 'string' ? config.name : 'experiment',
    origin: path,
    target,
    inputSize,
    seed,
    data,
    attacks,
    detectors: detectors as (string | DetectorSpec)[] | null,
    bootstrap: { resamples, seed: bootstrapSeed },
  };
}

export interface ExperimentOptions {
  config: ExperimentConfig;
  out: string;
  weights?: string;
  backend: BackendReport;
  command: string;
  onStage?: (message: string) => void;
  onGenerate?: (event: GenerateProgress) => void;
  onEvaluate?: (event: EvaluateProgress) => void;
}

export async function runExperiment(options: ExperimentOptions): Promise<{ releases: string[]; evaluation: EvaluateSummary }> {
  const { config } = options;
  const stage = options.onStage ?? (() => {});
  // Fail on bad data before loading weights (bigG takes minutes to load).
  for (const key of ['idTrain', 'idTest', 'ood'] as const) {
    const ref = config.data[key];
    firstItems(await openImageSource(ref.source), ref.size ?? undefined, `data.${key}.size`, ref.source);
  }
  refuseOutputInRelease(options.out);
  // Held for the whole run; its releases and its evaluation are sub-folders, each locked by its own writer.
  const lock = acquireOutputLock(options.out, 'advood experiment');
  try {
    return await experimentInto(options);
  } finally {
    lock.release();
  }
}

async function experimentInto(options: ExperimentOptions): Promise<{ releases: string[]; evaluation: EvaluateSummary }> {
  const { config } = options;
  const stage = options.onStage ?? (() => {});
  const encoder = await createEncoder(config.target, {
    weights: options.weights,
    inputSize: config.inputSize ?? undefined,
    backend: options.backend,
    log: stage,
  });
  try {
    const releases: string[] = [];
    for (const attack of config.attacks) {
      const dir = join(options.out, attack.preset);
      releases.push(dir);
      if (existsSync(join(dir, MANIFEST_FILE))) {
        const verified = await verifyRelease(dir);
        if (!verified.ok) throw new UserError(`${dir}: an existing release fails verification (${verified.problems[0]?.file}: ${verified.problems[0]?.problem}); move it away to regenerate`);
        stage(`${attack.preset}: reusing the verified release in ${dir}`);
        continue;
      }
      stage(`${attack.preset}: generating ${dir}`);
      await generateRelease({
        encoder,
        id: config.data.idTrain.source,
        idN: config.data.idTrain.size ?? undefined,
        ood: config.data.ood.source,
        n: config.data.ood.size ?? undefined,
        attack: attack.preset,
        overrides: attack.overrides,
        seed: config.seed,
        out: dir,
        backend: options.backend,
        command: options.command,
        onProgress: options.onGenerate,
      });
    }
    stage('evaluating');
    const evaluation = await runEvaluation({
      encoder,
      idTrain: config.data.idTrain.source,
      idTrainN: config.data.idTrain.size ?? undefined,
      idTest: config.data.idTest.source,
      idTestN: config.data.idTest.size ?? undefined,
      ood: config.attacks.map((attack, i) => `${attack.preset}=${releases[i]}`),
      detectors: config.detectors ?? undefined,
      out: join(options.out, 'evaluation'),
      batch: 16,
      bootstrap: config.bootstrap,
      gallery: 8,
      command: options.command,
      onProgress: options.onEvaluate,
    });
    return { releases, evaluation };
  } finally {
    encoder.dispose();
  }
}
