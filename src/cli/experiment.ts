/**
 * `advood experiment CONFIG`: run an experiment config end to end (configs/experiments/, e.g. the paper's
 * CIFAR setup): one release per attack preset, then every detector on clean vs adversarial.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { initBackend } from '../runtime/backend.js';
import { UserError } from '../core/errors.js';
import { evaluateProgressPrinter } from './evaluate.js';
import { generateEventLine } from './generate.js';
import { readExperimentConfig, runExperiment } from '../pipeline/experiment.js';
import { commandLine } from './command-line.js';
import { stagePrinter } from './stage-printer.js';
import { TARGET_OPTIONS } from './target-options.js';

interface ExperimentArgs {
  backend: string;
  json: boolean;
  config: string;
  var?: string[];
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
      .option('out', { type: 'string', describe: 'output directory (default: experiments/<name>)' })
      .option('weights', TARGET_OPTIONS.weights)
      .example(
        '$0 experiment configs/experiments/paper-cifar.json --var CIFAR100_TRAIN=/data/c100/train --var CIFAR100_TEST=/data/c100/test --var CIFAR10_TEST=/data/c10/test --weights /models/bigG',
        "the paper's CIFAR setup on a CUDA machine",
      ) as unknown as Argv<ExperimentArgs>,
  handler: async (args) => {
    const config = readExperimentConfig(args.config, parseVars(args.var ?? []));
    const backend = await initBackend({ request: args.backend });
    const say = stagePrinter('experiment', args.json);
    const { releases, evaluation } = await runExperiment({
      config,
      out: resolve(args.out ?? `experiments/${config.name}`),
      weights: args.weights,
      backend,
      command: commandLine(),
      onStage: say,
      onGenerate: (event) => {
        const line = generateEventLine(event);
        if (line) say(line);
      },
      onEvaluate: evaluateProgressPrinter(args.json, say),
    });
    if (args.json) process.stdout.write(JSON.stringify({ event: 'done', releases, files: evaluation.files }) + '\n');
    else process.stdout.write(`${evaluation.markdown}\nreleases: ${releases.join(', ')}\nwritten: ${evaluation.files.join(', ')}\n`);
  },
};
