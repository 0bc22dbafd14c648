/**
 * `advood evaluate`: OOD detectors on ID test vs clean and adversarial OOD sets. Prints the summary table
 * (with bootstrap CIs and the collapse Δ) and writes summary.{md,csv,json}, scores.arrow and report.html.
 */
import type { Argv, CommandModule } from 'yargs';
import { DETECTORS } from '../detectors/registry.js';
import { initBackend } from '../runtime/backend.js';
import { checkFlags } from '../core/config-checker.js';
import { sourceKindsHelp, sourceSpecHelp } from '../sources/source-help.js';
import { createEncoder } from '../models/create-encoder.js';
import { loadProgressPrinter } from './load-progress-printer.js';
import { UserError } from '../core/errors.js';
import { ADAPTIVE_ATTACK_DEFAULTS, adaptiveBase, adaptiveInputSize, checkAdaptiveAttacks } from '../pipeline/adaptive-releases.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import { type EvaluateProgress, mapNamedSpec, openEvaluationData, runEvaluation } from '../pipeline/evaluate.js';
import { commandLine } from './command-line.js';
import { createProgress, type Progress } from './progress.js';
import { type StagePrinter, stagePrinter } from './stage-printer.js';
import { SOURCE_OPTIONS, type SourceArgs, specWithSourceFlags } from './source-options.js';
import { TARGET_OPTIONS } from './target-options.js';

interface EvaluateArgs extends SourceArgs {
  backend: string;
  json: boolean;
  target: string;
  weights?: string;
  'input-size'?: number;
  'id-train': string;
  'id-test': string;
  ood: string[];
  detectors?: string[];
  out: string;
  batch: number;
  bootstrap: number;
  seed: number;
  gallery: number;
  adaptive: boolean;
  'adaptive-n'?: number;
  'adaptive-steps'?: number;
  'adaptive-queries'?: number;
  'adaptive-restarts'?: number;
  'adaptive-attacks'?: string[];
}

/** Turns library progress events into one bar per feature set (or JSON lines). */
export function evaluateProgressPrinter(json: boolean, stage: StagePrinter = stagePrinter('evaluate', json)): (event: EvaluateProgress) => void {
  let bar: { set: string; progress: Progress; shown: number } | null = null;
  const loads = loadProgressPrinter(json);
  return (event) => {
    if (event.kind === 'features') {
      if (!bar || bar.set !== event.set) {
        bar = { set: event.set, progress: createProgress(`features ${event.set}`, event.total, { json }), shown: 0 };
      }
      bar.progress.tick(event.done - bar.shown);
      bar.shown = event.done;
      if (event.done >= event.total) {
        bar.progress.done();
        bar = null;
      }
    } else if (event.kind === 'skipped') {
      createProgress(`features ${event.set}`, 0, { json }).event('skipped', { file: event.item, reason: event.reason });
    } else if (event.kind === 'download') {
      loads(event);
    } else {
      stage(event.message);
    }
  };
}

export const evaluateCommand: CommandModule<object, EvaluateArgs> = {
  command: 'evaluate',
  describe: 'Evaluate OOD detectors on clean and adversarial OOD; print AUROC/FPR95/AUPR with CIs and the collapse',
  builder: (yargs: Argv<object>) =>
    yargs
      .options(TARGET_OPTIONS)
      .options(SOURCE_OPTIONS)
      .option('id-train', { type: 'string', demandOption: true, describe: `ID training images (bank / fit set): ${sourceSpecHelp()}` })
      .option('id-test', { type: 'string', demandOption: true, describe: "ID test images (the same dataset's test split: SPEC?split=test)" })
      .option('ood', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'OOD sets, each a source as for --id-train (an advood release gives its adversarial and clean images), optionally name=SPEC (repeatable)',
      })
      .option('detectors', {
        type: 'string',
        array: true,
        describe: `detector specs (default: all the target supports): ${DETECTORS.map((d) => d.name).join(', ')}; options as knn:k=5`,
      })
      .option('out', { type: 'string', default: 'advood-eval', describe: 'output directory' })
      .option('batch', { type: 'number', default: 16, describe: 'images per forward pass' })
      .option('bootstrap', { type: 'number', default: 1000, describe: 'bootstrap resamples for the 95 % CIs (0: no CIs)' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap and probe seed' })
      .option('gallery', { type: 'number', default: 12, describe: 'gallery rows per release in report.html' })
      .option('adaptive', {
        type: 'boolean',
        default: false,
        describe:
          "also attack each differentiable detector on its own score: the first paper release among --ood repeated on the score, APGD and the gradient-free Square (--adaptive-attacks), into OUT/adaptive/ (reused when its inputs are unchanged), and report each, their per-item worst case and the worst case per detector",
      })
      .option('adaptive-n', { type: 'number', describe: 'with --adaptive: attack the first N images (default: as many as the paper release)' })
      .option('adaptive-steps', { type: 'number', describe: "with --adaptive: optimiser steps of the gradient attacks (default: the paper release's, and the APGD preset's; no early stop on a detector's score)" })
      .option('adaptive-queries', { type: 'number', describe: "with --adaptive: queries per image of the Square attack (default: the preset's)" })
      .option('adaptive-restarts', { type: 'number', describe: "with --adaptive: random starts per image of the preset attacks (default: the preset's)" })
      .option('adaptive-attacks', {
        type: 'array',
        string: true,
        describe: `with --adaptive: the attacks on each score, 'repeat' (the paper release's attack) and attack presets (default: ${ADAPTIVE_ATTACK_DEFAULTS.join(' ')})`,
      })
      .epilog(sourceKindsHelp())
      .example(
        '$0 evaluate --id-train datasets/demo/fashion-mnist-train --id-test datasets/demo/fashion-mnist-test --ood datasets/demo/openclipart --ood adv=out/release',
        'embedded MobileNetV2: clean openclipart vs its adversarial release',
      ) as unknown as Argv<EvaluateArgs>,
  handler: async (args) => {
    checkFlags.number(args.batch, '--batch', { min: 1, integer: true });
    checkFlags.number(args.bootstrap, '--bootstrap', { min: 0, integer: true });
    checkFlags.number(args.gallery, '--gallery', { min: 0, integer: true });
    checkFlags.optionalNumber(args['input-size'], '--input-size', { min: 1, integer: true });
    checkFlags.optionalNumber(args['adaptive-n'], '--adaptive-n', { min: 1, integer: true });
    checkFlags.optionalNumber(args['adaptive-steps'], '--adaptive-steps', { min: 1, integer: true });
    checkFlags.optionalNumber(args['adaptive-queries'], '--adaptive-queries', { min: 1, integer: true });
    checkFlags.optionalNumber(args['adaptive-restarts'], '--adaptive-restarts', { min: 1, integer: true });
    const adaptiveFlags = (['adaptive-n', 'adaptive-steps', 'adaptive-queries', 'adaptive-restarts', 'adaptive-attacks'] as const).filter((flag) => args[flag] !== undefined);
    if (!args.adaptive && adaptiveFlags.length > 0) throw new UserError(`${adaptiveFlags.map((f) => `--${f}`).join(', ')} only apply with --adaptive`);
    // runEvaluation refuses these too, but only once the weights are loaded (minutes for the large targets).
    refuseOutputInRelease(args.out);
    if (args.adaptive) checkAdaptiveAttacks({ attacks: args['adaptive-attacks'] });
    const backend = await initBackend({ request: args.backend });
    const stage = stagePrinter('evaluate', args.json);
    const options = {
      idTrain: specWithSourceFlags(args['id-train'], args),
      idTest: specWithSourceFlags(args['id-test'], args),
      ood: args.ood.map((spec) => mapNamedSpec(spec, (inner) => specWithSourceFlags(inner, args))),
      detectors: args.detectors,
      out: args.out,
      batch: args.batch,
      bootstrap: { resamples: args.bootstrap, seed: args.seed },
      gallery: args.gallery,
      command: commandLine(),
      onProgress: evaluateProgressPrinter(args.json, stage),
      ...(args.adaptive && {
        adaptive: {
          backend,
          size: { n: args['adaptive-n'], steps: args['adaptive-steps'], queries: args['adaptive-queries'], restarts: args['adaptive-restarts'], attacks: args['adaptive-attacks'] },
        },
      }),
    };
    // Open the data first: a wrong path fails at once, before any weights load.
    const data = await openEvaluationData(options);
    // The adaptive attacks repeat the paper release's, at its input size unless --input-size says otherwise.
    const inputSize = args['input-size'] ?? (args.adaptive ? (adaptiveInputSize(adaptiveBase(data.oodSources)) ?? undefined) : undefined);
    stage(`loading target ${args.target}`);
    const encoder = await createEncoder(args.target, { weights: args.weights, inputSize, backend, log: stage, onProgress: loadProgressPrinter(args.json) });
    const { markdown, files } = await runEvaluation({ ...options, encoder }, data).finally(() => encoder.dispose());
    if (args.json) {
      process.stdout.write(JSON.stringify({ event: 'done', files }) + '\n');
    } else {
      process.stdout.write(`${markdown}\nwritten: ${files.join(', ')}\n`);
    }
  },
};
