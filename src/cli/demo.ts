/**
 * `advood demo`: the whole story on the embedded default (MobileNetV2 from nsfwjs; Fashion-MNIST as ID,
 * openclipart and textures as OOD), offline, in minutes. Prints the collapse table and the report's path.
 */
import { checkOutputFolder } from '../core/output-lock.js';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { initBackend } from '../runtime/backend.js';
import { DEMO_SIZES, runDemo } from '../pipeline/demo.js';
import { evaluateProgressPrinter } from './evaluate.js';
import { generateEventLine } from './generate.js';
import { commandLine } from './command-line.js';
import { formatDuration } from './progress.js';
import { stagePrinter } from './stage-printer.js';

interface DemoArgs {
  backend: string;
  json: boolean;
  quick: boolean;
  out: string;
  workers: number;
  n?: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole story offline on the embedded default: generate, release, verify, evaluate, report',
  builder: (yargs: Argv<object>) =>
    yargs
      .option('quick', { type: 'boolean', default: false, describe: 'a tiny run (under a minute), as CI does' })
      .option('out', { type: 'string', default: 'advood-demo', describe: 'directory for the release, evaluation and report' })
      .option('workers', { type: 'number', default: 1, describe: 'generate with N single-threaded processes (shards), then merge' })
      .option('n', { type: 'number', describe: 'OOD images to attack per release (default: 8 with --quick, else 100)' })
      .example('$0 demo', 'the full demo (~19 minutes on 2 cores)')
      .example('$0 demo --quick --out /tmp/demo', 'the CI-sized run') as unknown as Argv<DemoArgs>,
  handler: async (args) => {
    const out = resolve(args.out);
    // Every number of the demo is computed in this run: features are cached inside the run directory only.
    checkOutputFolder(out);
    const cache = join(out, 'cache');
    rmSync(cache, { recursive: true, force: true });
    process.env.ADVOOD_CACHE = cache;
    // The embedded target is a 64 px MobileNetV2: hundreds of tiny ops per attack step, where TensorFlow's eager
    // dispatch costs more than the arithmetic: on 2 cores the full demo's first release alone took 8 min on
    // tensorflow, under 2½ min on wasm (the demo's own timer). So an unforced demo runs on wasm; --backend or
    // ADVOOD_BACKEND still choose.
    const request = args.backend === 'auto' && !process.env.ADVOOD_BACKEND ? 'wasm' : args.backend;
    const backend = await initBackend({ request });
    const size = { ...DEMO_SIZES[args.quick ? 'quick' : 'full'], ...(args.n !== undefined && { n: args.n }) };
    const say = stagePrinter('demo', args.json);
    const summary = await runDemo({
      out,
      size,
      workers: args.workers,
      backend,
      command: commandLine(),
      onGenerate: (event) => {
        const line = generateEventLine(event);
        if (line) say(line);
      },
      onEvaluate: evaluateProgressPrinter(args.json, say),
      onStage: say,
    });
    const report = join(out, 'evaluation', 'report.html');
    if (args.json) {
      process.stdout.write(JSON.stringify({ event: 'done', releases: summary.releases, seconds: summary.seconds, report, files: summary.evaluation.files }) + '\n');
      return;
    }
    const releaseLines = summary.releases.map(
      (r) =>
        `- ${r.name}: ${r.rows} images in ${r.dir}, verified (${r.verifiedFiles} files). Median after 8-bit quantisation: ` +
        `cos to target ${r.cosBefore.toFixed(3)} → ${r.cosAfter.toFixed(3)}, PSNR ${r.psnr.toFixed(1)} dB, L∞ ${(r.linf * 255).toFixed(1)}/255, ` +
        `${r.steps} steps; success ${(100 * r.successRate).toFixed(0)} %.`,
    );
    const s = summary.seconds;
    process.stdout.write(
      [
        'Adversarial releases:',
        ...releaseLines,
        '',
        summary.evaluation.markdown,
        `Report: ${report}`,
        `Wall time ${formatDuration(s.total)} (generate ${formatDuration(s.generate)}, verify ${formatDuration(s.verify)}, ` +
          `evaluate ${formatDuration(s.evaluate)}${s.adaptive > 0 ? `, of which adaptive attacks ${formatDuration(s.adaptive)}` : ''}) on ${backend.chosen}` +
          `${backend.threads > 1 ? ` (${backend.threads} threads)` : ''}.`,
        '',
      ].join('\n'),
    );
  },
};
