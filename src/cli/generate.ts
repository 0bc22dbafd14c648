/** `advood generate`: flags → options → generateRelease (src/pipeline/generate.ts) → progress and a summary line. */
import type { Argv, CommandModule } from 'yargs';
import { attackPresetNames, resolveAttackPreset } from '../../attacks/attack-params.js';
import { FEATURE_COLLISION_OBJECTIVE } from '../../attacks/objective.js';
import { TARGET_STRATEGY_NAMES } from '../../attacks/targets/target-strategy-names.js';
import { DETECTORS } from '../detectors/registry.js';
import { resolveShard } from '../release/write/shard-spec.js';
import { initBackend } from '../runtime/backend.js';
import { checkFlags } from '../core/config-checker.js';
import { UserError } from '../core/errors.js';
import { JsonKeyError, parseGuardedJson } from '../core/json-guard.js';
import { checkOutputFolder } from '../core/output-lock.js';
import { createEncoder } from '../models/create-encoder.js';
import { loadProgressPrinter } from './load-progress-printer.js';
import { FEATURE_KINDS } from '../models/encoder.js';
import { type GenerateProgress, type GenerateSummary, generateRelease } from '../pipeline/generate.js';
import { sourceKindsHelp, sourceSpecHelp } from '../sources/source-help.js';
import { commandLine } from './command-line.js';
import { abortOnSignals } from './interrupt-signals.js';
import { createProgress, type Progress } from './progress.js';
import { SOURCE_OPTIONS, type SourceArgs, specWithSourceFlags } from './source-options.js';
import { stagePrinter } from './stage-printer.js';
import { TARGET_OPTIONS } from './target-options.js';

interface GenerateArgs extends SourceArgs {
  backend: string;
  json: boolean;
  target: string;
  weights?: string;
  id: string;
  'id-n'?: number;
  ood: string;
  attack: string;
  objective: string;
  n?: number;
  seed: number;
  batch?: number;
  out: string;
  shard?: string;
  'shard-count'?: number;
  'on-error': string;
  'clean-image': boolean;
  steps?: number;
  lr?: number;
  lambda?: number;
  threshold?: number;
  'success-threshold'?: number;
  'input-size'?: number;
  'init-std'?: number;
  features?: string;
  'target-strategy'?: string;
  'target-class'?: string;
  scale?: number;
  'dct-k'?: number;
  restarts?: number;
  budget?: string;
  set?: string[];
}

/** Flags that override a preset field, and the field's dotted path. */
const OVERRIDE_FLAGS: Record<string, string> = {
  steps: 'steps',
  restarts: 'restarts',
  lr: 'lr',
  batch: 'batch',
  lambda: 'constraints.smoothness.lambda',
  threshold: 'threshold',
  'success-threshold': 'successThreshold',
  'input-size': 'inputSize',
  'init-std': 'initStd',
  features: 'features',
  'target-strategy': 'target.strategy',
  scale: 'constraints.lowResolution.scale',
  'dct-k': 'constraints.dctLowPass.k',
};

/** --set key=value (JSON value, or a bare string): overrides any preset field by dotted path. */
function parseSet(entries: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${JSON.stringify(entry)}: expected field=value, e.g. constraints.dctLowPass.k=8`);
    const raw = entry.slice(eq + 1);
    let value: unknown;
    try {
      value = parseGuardedJson(raw);
    } catch (error) {
      if (error instanceof JsonKeyError) throw new UserError(`--set ${JSON.stringify(entry)}: ${error.message}`);
      value = raw;
    }
    out[entry.slice(0, eq)] = value;
  }
  return out;
}

/** --budget linf:0.03 | l2:2 | none. */
function parseBudget(flag: string): unknown {
  if (flag === 'none') return null;
  const match = /^(linf|l2):([0-9.eE+-]+)$/.exec(flag);
  if (!match) throw new UserError(`--budget ${JSON.stringify(flag)}: expected linf:EPS, l2:EPS or none`);
  return { norm: match[1], epsilon: Number(match[2]) };
}

export function overridesFromArgs(args: Partial<GenerateArgs>): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [flag, path] of Object.entries(OVERRIDE_FLAGS)) {
    const value = (args as Record<string, unknown>)[flag];
    if (value !== undefined) overrides[path] = value;
  }
  if (args['target-class'] !== undefined) {
    const raw = args['target-class'];
    overrides['target.class'] = /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  if (args.budget !== undefined) overrides['constraints.budget'] = parseBudget(args.budget);
  return { ...overrides, ...parseSet(args.set ?? []) };
}

/** One line for a generation event, for callers that log stages rather than draw a bar (demo, experiment). */
export function generateEventLine(event: GenerateProgress): string | null {
  if (event.kind === 'stage') return event.message;
  if (event.kind === 'batch') return `attacked ${event.done}/${event.total}, success ${(100 * event.successRate).toFixed(0)} %`;
  if (event.kind === 'skipped') return `skipped ${event.item}: ${event.reason}`;
  return null;
}

/** The closing line of `advood generate`. */
export function generateSummaryLine(summary: Pick<GenerateSummary, 'rows' | 'skipped' | 'successRate' | 'median' | 'manifest' | 'detectorScore' | 'alreadyComplete'>, out: string): string {
  const m = summary.median;
  const counts = summary.manifest.counts;
  if (summary.alreadyComplete) return `generate: already complete: ${out} holds this run's finished release (${counts.rows} rows, ${counts.errors} skipped), verified; nothing was written`;
  // A rerun that only had to finish the release attacked nothing: there are no statistics (medians of nothing) to show.
  if (summary.rows + summary.skipped === 0) return `generate: nothing left to attack; finished the release in ${out} (${counts.rows} rows, ${counts.errors} skipped)`;
  return (
    `generate: ${summary.rows} rows (${summary.skipped} skipped) in ${out}; success ${(100 * summary.successRate).toFixed(1)} %; ` +
    `median cos ${m.cosBefore.toFixed(3)} → ${m.cosAfter.toFixed(3)} (8-bit), PSNR ${m.psnr.toFixed(1)} dB, L∞ ${(255 * m.linf).toFixed(1)}/255, steps ${m.steps}` +
    (summary.detectorScore ? `; median attacked-detector score ${summary.detectorScore.before.toPrecision(4)} → ${summary.detectorScore.after.toPrecision(4)}` : '')
  );
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Perturb OOD images until their features collide with ID targets; write an adversarial release',
  builder: (yargs: Argv<object>) =>
    yargs
      .options(TARGET_OPTIONS)
      .options(SOURCE_OPTIONS)
      .option('id', { type: 'string', demandOption: true, describe: `ID training source (targets, prototypes): ${sourceSpecHelp()}` })
      .option('id-n', { type: 'number', describe: 'use the first N ID images (default: all)' })
      .option('ood', { type: 'string', demandOption: true, describe: 'OOD source to attack' })
      .option('attack', { type: 'string', default: 'paper-smooth', describe: `attack preset (${attackPresetNames().join(', ')}) or JSON file` })
      .option('objective', {
        type: 'string',
        default: FEATURE_COLLISION_OBJECTIVE,
        describe: `what the attack maximises: ${FEATURE_COLLISION_OBJECTIVE} (the paper: cos to the ID target) or detector:NAME (that detector's ID score, fitted on --id as evaluate fits it; attackable: ${DETECTORS.filter((d) => d.differentiable).map((d) => d.name).join(', ')})`,
      })
      .option('n', { type: 'number', describe: 'attack the first N OOD images (default: all)' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of inits and target draws' })
      .option('out', { type: 'string', demandOption: true, describe: 'release directory (resumes an interrupted run there)' })
      .option('shard', { type: 'string', describe: 'this job covers part i/n of the OOD source (else Slurm/K8s env)' })
      .option('shard-count', { type: 'number', describe: 'part count for Slurm arrays without SLURM_ARRAY_TASK_COUNT and K8s Indexed Jobs' })
      .option('on-error', { type: 'string', choices: ['skip', 'fail'], default: 'skip', describe: 'a bad image is skipped and recorded, or stops the run' })
      // Declared positively: yargs reads --no-X as X=false, so an option named 'no-clean-image' could never be set.
      .option('clean-image', { type: 'boolean', default: true, describe: 'store the clean image beside each adversarial one (--no-clean-image: do not)' })
      .option('batch', { type: 'number', describe: 'override: images attacked together' })
      .option('steps', { type: 'number', describe: 'override: optimiser steps' })
      .option('restarts', { type: 'number', describe: 'override: random starts per item; each keeps the one whose saved image scores best' })
      .option('lr', { type: 'number', describe: 'override: learning rate (Adam) / step size (PGD)' })
      .option('lambda', { type: 'number', describe: 'override: smoothness weight λ' })
      .option('threshold', { type: 'number', describe: 'override: per-item early stop at cos ≥ threshold' })
      .option('success-threshold', { type: 'number', describe: 'override: success when cos after 8-bit quantisation ≥ this' })
      .option('init-std', { type: 'number', describe: 'override: σ of the N(0, σ²) init' })
      .option('features', { type: 'string', describe: `override: ${FEATURE_KINDS.join(' | ')}` })
      .option('target-strategy', { type: 'string', describe: `override: ${TARGET_STRATEGY_NAMES.join(' | ')}` })
      .option('target-class', { type: 'string', describe: 'override: class name or index for prototype/text targets' })
      .option('scale', { type: 'number', describe: 'override: low-resolution parametrisation factor s' })
      .option('dct-k', { type: 'number', describe: 'override: keep the k×k lowest DCT coefficients' })
      .option('budget', { type: 'string', describe: 'override: linf:EPS, l2:EPS or none' })
      .option('set', { type: 'string', array: true, describe: 'override any preset field: field.path=JSON' })
      .epilog(sourceKindsHelp()) as unknown as Argv<GenerateArgs>,
  handler: async (args) => {
    // Flags are checked (and the preset resolved) before any weights load.
    checkFlags.number(args.seed, '--seed', { integer: true });
    checkFlags.optionalNumber(args.n, '--n', { min: 1, integer: true });
    checkFlags.optionalNumber(args['id-n'], '--id-n', { min: 1, integer: true });
    /** The success rate as the summary line writes it (a percentage); JSON keeps the number. */
    const successField = (rate: number) => (args.json ? rate : `${(100 * rate).toFixed(1)} %`);
    const backend = await initBackend({ request: args.backend });
    const overrides = overridesFromArgs(args);
    const shard = resolveShard(args.shard, process.env, args['shard-count']);
    let progress: Progress | null = null;
    let shown = 0;
    const stage = stagePrinter('generate', args.json);
    // A bad --out is refused before the target loads (generateRelease checks it again, and locks it).
    checkOutputFolder(args.out);
    stage(`loading target ${args.target}`);
    // Resolved once: the encoder loads at its input size, and generate takes it as it is.
    const preset = resolveAttackPreset(args.attack, overrides);
    const loads = loadProgressPrinter(args.json);
    const encoder = await createEncoder(args.target, { weights: args.weights, inputSize: preset.params.inputSize ?? undefined, backend, log: stage, onProgress: loads });
    const interrupt = abortOnSignals('generate', stage);
    const summary = await generateRelease({
      encoder,
      id: specWithSourceFlags(args.id, args),
      idN: args['id-n'],
      ood: specWithSourceFlags(args.ood, args),
      n: args.n,
      attack: preset,
      objective: args.objective,
      seed: args.seed,
      out: args.out,
      shard: shard.count > 1 ? shard : null,
      onError: args['on-error'] as 'skip' | 'fail',
      backend,
      command: commandLine(),
      includeCleanImage: args['clean-image'],
      signal: interrupt.signal,
      onProgress: (event) => {
        if (event.kind === 'stage') stage(event.message);
        else if (event.kind === 'download') loads(event);
        else if (event.kind === 'start') {
          progress = createProgress('generate', event.total, { json: args.json });
          shown = event.resumeFrom;
          if (shown > 0) progress.tick(shown, { resumed: true });
        } else if (event.kind === 'batch' && progress) {
          progress.tick(event.done - shown, { success: successField(event.successRate), cos: event.meanCosAfter });
          shown = event.done;
        } else if (event.kind === 'skipped') {
          if (progress) progress.event('skipped', { item: event.item, reason: event.reason });
          else stage(`skipped ${event.item}: ${event.reason}`);
        }
      },
    }).finally(() => {
      interrupt.dispose();
      encoder.dispose();
    });
    (progress as Progress | null)?.done({ rows: summary.rows, skipped: summary.skipped, success: successField(summary.successRate) });
    const m = summary.median;
    const line = generateSummaryLine(summary, args.out);
    if (args.json) process.stdout.write(JSON.stringify({ event: 'summary', ...(summary.alreadyComplete && { alreadyComplete: true }), rows: summary.rows, skipped: summary.skipped, successRate: summary.successRate, median: m, ...(summary.detectorScore && { detectorScore: summary.detectorScore }), paramsHash: summary.preset.paramsHash }) + '\n');
    else process.stderr.write(line + '\n');
  },
};
