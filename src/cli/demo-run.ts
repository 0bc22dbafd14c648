/**
 * runDemo: the whole story on the embedded default, offline — features, an adversarial release, its
 * verification, and the detectors evaluated on clean vs adversarial OOD. Nothing is cached or canned: every
 * number comes from this run (the feature cache is per run directory unless the caller shares one).
 *
 * With workers > 1, generation runs as that many single-threaded processes, each a shard of the same run
 * (`advood generate --shard i/N`), merged into one release — the same path a Slurm array takes.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAttackPreset } from '../../attacks/attack-params.js';
import { createEncoder } from '../models/create-encoder.js';
import { mergeReleases } from '../release/release-merge.js';
import { openRelease } from '../release/release-reader.js';
import { verifyRelease } from '../release/release-verify.js';
import type { BackendReport } from '../runtime/backend.js';
import { UserError } from '../runtime/errors.js';
import type { Encoder } from '../models/encoder.js';
import { type EvaluateProgress, type EvaluateSummary, runEvaluation } from './evaluate-run.js';
import { type GenerateProgress, type GenerateSummary, generateRelease } from './generate-release.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO_DATA = join(REPO, 'datasets/demo');
const CLI = join(REPO, 'bin/advood.mjs');

/** The demo's inputs; the preset explains its own choices (configs/attacks/demo-lowfreq.json). */
export const DEMO = {
  target: 'mobilenet-v2',
  attack: 'demo-lowfreq',
  idTrain: join(DEMO_DATA, 'fashion-mnist-train'),
  idTest: join(DEMO_DATA, 'fashion-mnist-test'),
  attacked: join(DEMO_DATA, 'openclipart'),
  otherOod: join(DEMO_DATA, 'textures'),
  seed: 0,
} as const;

export interface DemoSize {
  /** OOD images attacked. */
  n: number;
  /** Override of the preset's step budget (null: the preset's). */
  steps: number | null;
  bootstrap: number;
}

/** --quick is CI's integration run (under a minute); the default is sized for ~10 minutes on 2 cores. */
export const DEMO_SIZES: Record<'quick' | 'full', DemoSize> = {
  quick: { n: 8, steps: 60, bootstrap: 200 },
  full: { n: 64, steps: null, bootstrap: 1000 },
};

export interface DemoOptions {
  out: string;
  size: DemoSize;
  workers: number;
  backend: BackendReport;
  /** The command line recorded in the release manifest. */
  command: string;
  onGenerate?: (event: GenerateProgress) => void;
  onEvaluate?: (event: EvaluateProgress) => void;
  onStage?: (message: string) => void;
}

export interface DemoSummary {
  release: string;
  generation: GenerateSummary['median'] & { rows: number; successRate: number; seconds: number };
  verified: { files: number; rows: number };
  evaluation: EvaluateSummary;
  seconds: { generate: number; verify: number; evaluate: number; total: number };
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new UserError(`--workers must be a positive integer, got ${options.workers}`);
  const started = performance.now();
  const release = join(options.out, 'release');
  const overrides = options.size.steps === null ? {} : { steps: options.size.steps };
  // One encoder serves generation and evaluation, at the preset's input size.
  const inputSize = resolveAttackPreset(DEMO.attack, overrides).params.inputSize ?? undefined;
  const encoder = await createEncoder(DEMO.target, { backend: options.backend, inputSize });
  try {
    return await runStages(options, encoder, release, overrides, started);
  } finally {
    encoder.dispose();
  }
}

async function runStages(
  options: DemoOptions,
  encoder: Encoder,
  release: string,
  overrides: Record<string, unknown>,
  started: number,
): Promise<DemoSummary> {
  const stage = options.onStage ?? (() => {});

  stage(`generating ${options.size.n} adversarial images from ${DEMO.attacked} (${options.workers} worker${options.workers > 1 ? 's' : ''})`);
  let generation: DemoSummary['generation'];
  const generateStart = performance.now();
  if (options.workers === 1) {
    const summary = await generateRelease({
      target: DEMO.target,
      id: DEMO.idTrain,
      ood: DEMO.attacked,
      n: options.size.n,
      attack: DEMO.attack,
      overrides,
      seed: DEMO.seed,
      out: release,
      backend: options.backend,
      encoder,
      command: options.command,
      onProgress: options.onGenerate,
    });
    generation = { ...summary.median, rows: summary.rows, successRate: summary.successRate, seconds: 0 };
  } else {
    generation = await generateWithWorkers(options, release, overrides);
  }
  generation.seconds = (performance.now() - generateStart) / 1000;

  stage(`verifying ${release}`);
  const verifyStart = performance.now();
  const verified = await verifyRelease(release);
  if (!verified.ok) {
    throw new Error(`the demo release failed verification: ${verified.problems.map((p) => `${p.file}: ${p.problem}`).join('; ')}`);
  }
  const verifySeconds = (performance.now() - verifyStart) / 1000;

  stage('evaluating detectors on clean and adversarial OOD');
  const evaluateStart = performance.now();
  const evaluation = await runEvaluation({
    target: DEMO.target,
    idTrain: DEMO.idTrain,
    idTest: DEMO.idTest,
    ood: [`openclipart=${DEMO.attacked}`, `textures=${DEMO.otherOod}`, `adversarial=${release}`],
    out: join(options.out, 'evaluation'),
    batch: 32,
    bootstrap: { resamples: options.size.bootstrap, seed: DEMO.seed },
    gallery: 8,
    backend: options.backend,
    encoder,
    command: options.command,
    onProgress: options.onEvaluate,
  });
  const evaluateSeconds = (performance.now() - evaluateStart) / 1000;
  return {
    release,
    generation,
    verified: { files: verified.filesChecked, rows: verified.rowsChecked },
    evaluation,
    seconds: {
      generate: generation.seconds,
      verify: verifySeconds,
      evaluate: evaluateSeconds,
      total: (performance.now() - started) / 1000,
    },
  };
}

async function generateWithWorkers(options: DemoOptions, release: string, overrides: Record<string, unknown>): Promise<DemoSummary['generation']> {
  const parts = Array.from({ length: options.workers }, (_, i) => join(options.out, 'parts', `part-${i}`));
  await Promise.all(
    parts.map((part, index) =>
      runChild([
        CLI,
        'generate',
        '--target', DEMO.target,
        '--id', DEMO.idTrain,
        '--ood', DEMO.attacked,
        '--n', String(options.size.n),
        '--attack', DEMO.attack,
        '--seed', String(DEMO.seed),
        '--shard', `${index}/${options.workers}`,
        '--out', part,
        '--backend', options.backend.chosen,
        '--json',
        ...Object.entries(overrides).flatMap(([key, value]) => [`--${key}`, String(value)]),
      ], `worker ${index}`, options.onStage),
    ),
  );
  rmSync(release, { recursive: true, force: true });
  const manifest = await mergeReleases(parts, release, options.command);
  const opened = await openRelease(release);
  const rows: { cosBefore: number; cosAfter: number; psnr: number; linf: number; lowFreqEnergy: number; steps: number; success: boolean }[] = [];
  for await (const row of opened.rows()) rows.push(row);
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  return {
    rows: manifest.counts.rows,
    successRate: rows.filter((r) => r.success).length / Math.max(rows.length, 1),
    cosBefore: median(rows.map((r) => r.cosBefore)),
    cosAfter: median(rows.map((r) => r.cosAfter)),
    psnr: median(rows.map((r) => r.psnr)),
    linf: median(rows.map((r) => r.linf)),
    lowFreqEnergy: median(rows.map((r) => r.lowFreqEnergy)),
    steps: median(rows.map((r) => r.steps)),
    seconds: 0,
  };
}

function runChild(args: string[], label: string, log?: (message: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let lastReported = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const event = JSON.parse(line) as { event?: string; done?: number; total?: number };
          if (event.event === 'progress' && event.done !== undefined && event.done !== lastReported) {
            lastReported = event.done;
            log?.(`${label}: ${event.done}/${event.total}`);
          }
        } catch {
          // a partial line split across chunks; the next complete event carries the same information
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${label} exited with ${code}:\n${stderr}`))));
  });
}
