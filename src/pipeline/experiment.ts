/**
 * runExperiment: an experiment config (configs/experiments/*.json, read by ./experiment-config.ts) end to end —
 * one release per attack preset of the attacked OOD set, then one evaluation of every detector on each release
 * next to its clean images, on every other OOD set, and (when the config asks) on the adaptive attacks of each
 * detector's own score. This is how the paper's CIFAR setup (paper-cifar.json) and the ImageNet-1K OOD suite
 * (imagenet-ood.json) run where their data, weights and a GPU exist.
 *
 * A release that already exists and verifies is reused, so a rerun after a crash only redoes what is missing
 * (an unfinished release resumes inside generate).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { firstItems } from '../data/first-items.js';
import { createEncoder } from '../models/create-encoder.js';
import type { LoadProgress } from '../models/load-progress.js';
import { MANIFEST_FILE } from '../release/release-manifest.js';
import { verifyRelease } from '../release/read/release-verify.js';
import type { BackendReport } from '../runtime/backend.js';
import { UserError } from '../core/errors.js';
import { acquireOutputLock } from '../core/output-lock.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import { openImageSource } from '../sources/open-source.js';
import { checkAdaptiveAttacks } from './adaptive-releases.js';
import { reportingDownloads } from './download-events.js';
import { type EvaluateProgress, type EvaluateSummary, runEvaluation } from './evaluate.js';
import type { ExperimentConfig, OodSet } from './experiment-config.js';
import { type GenerateProgress, generateRelease } from './generate.js';

export { readExperimentConfig, type DataRef, type ExperimentAttack, type ExperimentConfig, type OodSet, type SkippedSet } from './experiment-config.js';

export interface ExperimentOptions {
  config: ExperimentConfig;
  out: string;
  weights?: string;
  backend: BackendReport;
  command: string;
  onStage?: (message: string) => void;
  onGenerate?: (event: GenerateProgress) => void;
  onEvaluate?: (event: EvaluateProgress) => void;
  /** Downloads (data and weights) and the target's tensors as they load. */
  onLoad?: (event: LoadProgress) => void;
}

export async function runExperiment(options: ExperimentOptions): Promise<{ releases: string[]; evaluation: EvaluateSummary }> {
  const { config } = options;
  const stage = options.onStage ?? (() => {});
  if (config.adaptive) checkAdaptiveAttacks(config.adaptive);
  for (const skipped of config.skipped) stage(`${skipped.name}: skipped (optional; set ${skipped.variables.map((v) => `--var ${v}=PATH`).join(' ')} to include it)`);
  // Fail on bad data before loading weights (bigG takes minutes to load).
  const refs = [
    { field: 'data.idTrain', ref: config.data.idTrain },
    { field: 'data.idTest', ref: config.data.idTest },
    ...config.data.ood.map((set) => ({ field: `data.ood.${set.name}`, ref: set })),
  ];
  const downloads = reportingDownloads((event) => (event.kind === 'stage' ? stage(event.message) : options.onLoad?.(event)));
  for (const { field, ref } of refs) firstItems(await openImageSource(ref.source, downloads), ref.size ?? undefined, `${field}.size`, ref.source);
  refuseOutputInRelease(options.out);
  // Held for the whole run; its releases and its evaluation are sub-folders, each locked by its own writer.
  const lock = acquireOutputLock(options.out, 'advood experiment');
  try {
    return await experimentInto(options);
  } finally {
    lock.release();
  }
}

function attackedSet(config: ExperimentConfig): OodSet {
  const set = config.data.ood.find((candidate) => candidate.name === config.data.attacked);
  if (!set) throw new UserError(`${config.origin}: the attacked set '${config.data.attacked}' is not present`);
  return set;
}

async function experimentInto(options: ExperimentOptions): Promise<{ releases: string[]; evaluation: EvaluateSummary }> {
  const { config } = options;
  const attacked = attackedSet(config);
  const others = config.data.ood.filter((set) => set !== attacked);
  const stage = options.onStage ?? (() => {});
  const encoder = await createEncoder(config.target, {
    weights: options.weights,
    inputSize: config.inputSize ?? undefined,
    backend: options.backend,
    log: stage,
    onProgress: options.onLoad,
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
        ood: attacked.source,
        n: attacked.size ?? undefined,
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
      // The releases first: the adaptive attacks copy the first of them.
      ood: [...config.attacks.map((attack, i) => `${attack.preset}=${releases[i]}`), ...others.map((set) => `${set.name}=${set.source}`)],
      oodSizes: Object.fromEntries(others.filter((set) => set.size !== null).map((set) => [set.name, set.size!])),
      detectors: config.detectors ?? undefined,
      out: join(options.out, 'evaluation'),
      batch: 16,
      bootstrap: config.bootstrap,
      gallery: 8,
      command: options.command,
      ...(config.adaptive && { adaptive: { size: config.adaptive, backend: options.backend } }),
      onProgress: options.onEvaluate,
    });
    return { releases, evaluation };
  } finally {
    encoder.dispose();
  }
}
