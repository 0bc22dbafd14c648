/**
 * advood's command line. Each command lives in its own module; this file only registers them and sends every
 * failure through the error boundary (error-boundary.ts): one clear line and a documented exit code.
 */
import { UserError } from '../core/errors.js';
import { debugRequested, reportFailure } from './error-boundary.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { evaluateCommand } from './evaluate.js';
import { experimentCommand } from './experiment.js';
import { featuresCommand } from './features.js';
import { releaseCommand } from './release.js';
import { generateCommand } from './generate.js';
import { helpWidth, yargs } from './help-layout.js';

/**
 * `--flag -1/2` → `--flag=-1/2`. yargs reads a value starting with '-' and a digit that is not a number as a
 * cluster of short flags ("Unknown argument: 1"); joined, it reaches the option, whose own check names it.
 */
export function joinDashValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z][\w-]*$/.test(arg) && next !== undefined && /^-\d/.test(next) && !Number.isFinite(Number(next))) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(joinDashValues(argv))
    .scriptName('advood')
    .usage('$0 <command> [options]\n\nGenerate, publish and evaluate adversarial OOD datasets.')
    .option('backend', {
      type: 'string',
      describe: 'tensor backend: auto, tensorflow-gpu, tensorflow, wasm, cpu (default: auto; env ADVOOD_BACKEND)',
      default: 'auto',
      global: true,
    })
    .option('json', { type: 'boolean', describe: 'one JSON line per event instead of a progress bar', default: false, global: true })
    .option('debug', { type: 'boolean', describe: 'on failure, print the stack trace too (env ADVOOD_DEBUG=1)', default: false, global: true })
    .command(doctorCommand)
    .command(featuresCommand)
    .command(releaseCommand)
    .command(generateCommand)
    .command(evaluateCommand)
    .command(demoCommand)
    .command(experimentCommand)
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(helpWidth())
    .fail((message, error) => {
      throw error ?? new UserError(message);
    });
  try {
    await parser.parseAsync();
    if (typeof process.exitCode === 'number') exitCode = process.exitCode;
  } catch (error) {
    return reportFailure(error, debugRequested(argv));
  }
  return exitCode;
}
