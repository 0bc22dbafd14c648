/**
 * `advood experiment CONFIG`: run an experiment config end to end (configs/experiments/: the paper's CIFAR
 * setup, the ImageNet-1K OOD suite): one release per attack preset, then every detector on clean vs adversarial.
 * `--dry-run` resolves and lists every source instead (src/pipeline/experiment-plan.ts).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { initBackend } from '../runtime/backend.js';
import { UserError } from '../core/errors.js';
import { evaluateProgressPrinter } from './evaluate.js';
import { generateEventLine } from './generate.js';
import { ADAPTIVE_ATTACK_DEFAULTS } from '../pipeline/adaptive-releases.js';
import { readExperimentConfig, runExperiment } from '../pipeline/experiment.js';
import { type ExperimentPlan, type SourcePlan, planExperiment } from '../pipeline/experiment-plan.js';
import { commandLine } from './command-line.js';
import { loadProgressPrinter } from './load-progress-printer.js';
import { stagePrinter } from './stage-printer.js';
import { TARGET_OPTIONS } from './target-options.js';

interface ExperimentArgs {
  backend: string;
  json: boolean;
  config: string;
  var?: string[];
  variant?: string;
  'dry-run': boolean;
  out?: string;
  weights?: string;
}

function parseVars(entries: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const entry of entries) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(entry);
    if (!match) throw new UserError(`--var ${JSON.stringify(entry)}: expected NAME=VALUE, e.g. CIFAR10_TEST=/data/cifar10/test`);
    vars[match[1]!] = match[2]!;
  }
  return vars;
}

export const experimentCommand: CommandModule<object, ExperimentArgs> = {
  command: 'experiment <config>',
  describe: 'Run an experiment config (configs/experiments/*.json): a release per attack, then the evaluation',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('config', { type: 'string', demandOption: true, describe: 'experiment JSON, e.g. configs/experiments/paper-cifar.json' })
      .option('var', { type: 'string', array: true, describe: 'fill a ${NAME} placeholder of the config: NAME=VALUE (else from the environment)' })
      .option('variant', { type: 'string', describe: "one of the config's variants (e.g. vit-l-14, vit-g); default: its first" })
      .option('dry-run', { type: 'boolean', default: false, describe: 'resolve and list every source (Hub commits, file counts and sizes, local image counts) without downloading images or loading weights' })
      .option('out', { type: 'string', describe: 'output directory (default: experiments/<name>)' })
      .option('weights', TARGET_OPTIONS.weights)
      .example(
        '$0 experiment configs/experiments/paper-cifar.json --var CIFAR100_TRAIN=/data/c100/train --var CIFAR100_TEST=/data/c100/test --var CIFAR10_TEST=/data/c10/test --weights /models/bigG',
        "the paper's CIFAR setup on a CUDA machine",
      )
      .example('$0 experiment configs/experiments/imagenet-ood.json --variant vit-g --dry-run', 'list every ImageNet OOD set the bigG run would read, with its commit and size') as unknown as Argv<ExperimentArgs>,
  handler: async (args) => {
    const config = readExperimentConfig(args.config, { vars: parseVars(args.var ?? []), variant: args.variant, allowMissing: args['dry-run'] });
    const out = resolve(args.out ?? `experiments/${config.name}`);
    if (args['dry-run']) {
      const plan = await planExperiment(config, out);
      process.stdout.write(args.json ? JSON.stringify({ event: 'plan', ...plan }) + '\n' : planText(plan));
      const problems = plan.sources.filter((source) => source.status === 'problem');
      if (problems.length > 0) throw new UserError(`${problems.length} of ${plan.sources.length} sources cannot be read: ${problems.map((p) => p.name).join(', ')} (see the list above)`);
      return;
    }
    const backend = await initBackend({ request: args.backend });
    const say = stagePrinter('experiment', args.json);
    const loads = loadProgressPrinter(args.json);
    const { releases, evaluation } = await runExperiment({
      config,
      out,
      weights: args.weights,
      backend,
      command: commandLine(),
      onStage: say,
      onGenerate: (event) => {
        if (event.kind === 'download') return loads(event);
        const line = generateEventLine(event);
        if (line) say(line);
      },
      onLoad: loads,
      onEvaluate: evaluateProgressPrinter(args.json, say),
    });
    if (args.json) process.stdout.write(JSON.stringify({ event: 'done', releases, files: evaluation.files }) + '\n');
    else process.stdout.write(`${evaluation.markdown}\nreleases: ${releases.join(', ')}\nwritten: ${evaluation.files.join(', ')}\n`);
  },
};

function bytesText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function sourceLine(source: SourcePlan): string {
  const first = source.size === null ? '' : `, first ${source.size}`;
  const where = source.spec ?? '(not set)';
  let what = '';
  if (source.hub) {
    const hub = source.hub;
    const gate = hub.gated ? `, gated (${hub.hasToken ? 'HF_TOKEN set' : 'no HF_TOKEN'})` : '';
    what = `commit ${hub.commit.slice(0, 12)}, ${hub.files} files, ${bytesText(hub.bytes)}${hub.cached ? ', cached' : ''}${gate}`;
  } else if (source.images !== undefined) what = `${source.images} images`;
  const status = source.status === 'ok' ? '' : ` — ${source.status === 'skipped' ? 'skipped' : 'CANNOT BE READ'}: ${source.reason}`;
  return `  ${source.role.padEnd(8)} ${source.name.padEnd(12)} ${where}${what ? `  [${what}${first}]` : first ? `  [${first.slice(2)}]` : ''}${status}\n`;
}

/** The dry run as a reader scans it: the target, every source with what it holds, then what would run on them. */
function planText(plan: ExperimentPlan): string {
  const adaptive = plan.adaptive
    ? `adaptive: ${(plan.adaptive.attacks ?? ADAPTIVE_ATTACK_DEFAULTS).join(', ')} on each differentiable detector's score${plan.adaptive.n ? `, first ${plan.adaptive.n} images` : ''}`
    : 'adaptive: none';
  return [
    `experiment ${plan.name}${plan.variant ? ` (variant ${plan.variant})` : ''}: target ${plan.target} — ${plan.targetDescription.split('. ')[0]}`,
    `output: ${plan.out}`,
    'sources (nothing was downloaded):',
    plan.sources.map(sourceLine).join('').trimEnd(),
    `attacks: ${plan.attacks.join(', ')} on '${plan.attacked}'`,
    adaptive,
    `detectors: ${plan.detectors?.join(', ') ?? 'every detector the target supports'}`,
  ].join('\n') + '\n';
}
