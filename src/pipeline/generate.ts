/**
 * generateRelease: the whole of `advood generate` as a library call (the CLI, `advood demo` and
 * `advood experiment` use it).
 *
 * OOD images stream through in deterministic batches of params.batch: the targets step prepares one target
 * per item (generation-targets.ts), each batch is attacked into release rows (attacked-batch.ts), and the
 * release writer journals committed batches, so a restarted run resumes at the first uncommitted batch and
 * produces the same bytes.
 */
import { type DownloadEvent, reportingDownloads } from './download-events.js';
import { resolveAttackPreset, type ResolvedAttackPreset } from '../../attacks/attack-params.js';
import { FEATURE_COLLISION_OBJECTIVE } from '../../attacks/objective.js';
import { buildConstraintSet, createAttack } from '../../attacks/registry.js';
import { checkFlags } from '../core/config-checker.js';
import { UserError } from '../core/errors.js';
import { acquireOutputLock, checkOutputFolder, type OutputLock } from '../core/output-lock.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import { advoodVersion } from '../core/repo-paths.js';
import { iterateBatches, type OnError } from '../data/batches.js';
import { firstItems } from '../data/first-items.js';
import { preprocessFor } from '../data/preprocess.js';
import type { ImageItem, ImageSource, Preprocess } from '../data/image-source.js';
import { openImageSource, pinSourceSpec } from '../sources/open-source.js';
import type { Encoder } from '../models/encoder.js';
import type { ReleaseManifest, ShardSpec } from '../release/release-manifest.js';
import type { ReleaseError } from '../release/release-row.js';
import { openReleaseWriter, type ReleaseWriterOptions } from '../release/write/release-writer.js';
import { finishedRunIn } from '../release/write/finished-run.js';
import { shardItems } from '../release/write/shard-spec.js';
import type { BackendReport } from '../runtime/backend.js';
import { type BatchContext, attackBatchToRows, releaseRowId } from './attacked-batch.js';
import { TEXT_BATCH } from './text-embedder.js';
import { type ChosenDetectorObjective, type DetectorObjective, chooseObjectiveDetector, fitDetectorObjective } from './detector-objective.js';
import { generationConfig } from './generation-config.js';
import { type GenerationTargets, prepareGenerationTargets } from './generation-targets.js';
import { generatedReleaseCard } from './release-card-text.js';
import { type RowNumbers, type RowStatistics, meanCosAfter, rowNumbers, rowStatistics, successRate } from './row-statistics.js';
import { runHash } from './run-hash.js';

export interface GenerateOptions {
  /**
   * The target model, loaded at the preset's input size (see presetInputSize). The caller owns it and
   * disposes it; one encoder can serve several releases and an evaluation.
   */
  encoder: Encoder;
  /** ID training source: the target strategy reads the features of the images it uses (prototypes: all of them, cached). */
  id: string;
  /** Use the first N ID images (all when absent); an error when the source has fewer. */
  idN?: number;
  /** The source to attack. */
  ood: string;
  /** Attack the first N OOD images (all when absent); an error when the source has fewer. */
  n?: number;
  /** Attack preset name (configs/attacks/) or JSON path, resolved here with `overrides`; or a preset already resolved. */
  attack: string | ResolvedAttackPreset;
  /**
   * What the attack maximises: 'feature-collision' (the default, the paper's cosine to the target) or
   * 'detector:SPEC', a detector's ID score (src/pipeline/detector-objective.ts); or such a detector already chosen.
   */
  objective?: string | ChosenDetectorObjective;
  /** Dotted-path overrides of preset fields (--steps, --lr, --lambda, …); only with a preset given by name or path. */
  overrides?: Record<string, unknown>;
  seed: number;
  out: string;
  shard?: ShardSpec | null;
  onError?: OnError;
  /** The backend in use: its versions are recorded in the manifest. */
  backend: BackendReport;
  /** The command line recorded in the manifest. */
  command: string;
  /** Bytes after which the writer starts a new shard (default: the writer's ~500 MB). */
  shardBytes?: number;
  /** Store the clean image next to each adversarial one (default true). */
  includeCleanImage?: boolean;
  /** Progress sink. */
  onProgress?: (event: GenerateProgress) => void;
  /**
   * Stops the run at the next safe point once aborted, with the InterruptedError given as the abort reason
   * (the CLI aborts on SIGTERM/SIGINT): the batch in flight is dropped, the journal keeps every batch before it,
   * the lock is released, and the same command resumes.
   */
  signal?: AbortSignal;
}

export type GenerateProgress =
  | { kind: 'stage'; message: string }
  | DownloadEvent
  | { kind: 'start'; total: number; resumeFrom: number }
  | { kind: 'batch'; done: number; total: number; successRate: number; meanCosAfter: number }
  | { kind: 'skipped'; item: string; reason: string }
  | { kind: 'step'; step: number; meanObjective: number; active: number };

export interface GenerateSummary extends RowStatistics {
  manifest: ReleaseManifest;
  preset: ResolvedAttackPreset;
  /** `rows` and the statistics cover the rows written by this call (a resumed run counts only its new rows). */
  skipped: number;
  /** The output folder already held this run's finished release, verified: nothing was written. */
  alreadyComplete: boolean;
  /** Seconds inside the attack's steps (every batch and random start of this call); the rest of the wall is overhead. */
  attackSeconds: number;
}

/** The encoder input size an attack asks for (undefined: the target's default), for loading the encoder. */
export function presetInputSize(attack: string, overrides: Record<string, unknown> = {}): number | undefined {
  return resolveAttackPreset(attack, overrides).params.inputSize ?? undefined;
}

function checkEncoderFits(encoder: Encoder, preset: ResolvedAttackPreset): void {
  const { params } = preset;
  if (params.inputSize !== null && encoder.inputSize !== params.inputSize) {
    throw new UserError(`target ${encoder.id} has input size ${encoder.inputSize}, but the attack asks for ${params.inputSize}`);
  }
  if (!encoder.featureKinds.includes(params.features)) {
    throw new UserError(`target ${encoder.id} has no '${params.features}' features (it has: ${encoder.featureKinds.join(', ')})`);
  }
}

/** What generate has settled before it reads anything: every refusal that needs no I/O has been made. */
interface GenerationPlan {
  preset: ResolvedAttackPreset;
  chosenObjective: ChosenDetectorObjective | null;
  preprocess: Preprocess;
  includeCleanImage: boolean;
  onError: OnError;
}

/** Parses the preset and objective once and checks everything they and the flags can refuse, before any read or write. */
function planGeneration(options: GenerateOptions): GenerationPlan {
  const { encoder } = options;
  const preset = typeof options.attack === 'string' ? resolveAttackPreset(options.attack, options.overrides ?? {}) : options.attack;
  checkFlags.number(options.seed, '--seed', { integer: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
  checkOutputFolder(options.out);
  // Its own --out becomes a release (and may be one, resuming); a folder inside another release may not.
  refuseOutputInRelease(options.out, { self: false });
  checkEncoderFits(encoder, preset);
  const objective = options.objective ?? FEATURE_COLLISION_OBJECTIVE;
  const chosenObjective = typeof objective === 'string' ? chooseObjectiveDetector(encoder, objective) : objective;
  // Everything the params can refuse at this input size is refused now, before the output folder is touched.
  buildConstraintSet(preset.params.constraints, encoder.inputSize, encoder.inputSize).dispose();
  return { preset, chosenObjective, preprocess: preprocessFor(encoder), includeCleanImage: options.includeCleanImage ?? true, onError: options.onError ?? 'skip' };
}

/** What generate reads before it writes: pinned sources, targets, the fitted objective, the items of this shard. */
interface GenerationInputs extends GenerationTargets {
  idSpec: string;
  oodSpec: string;
  attacked: DetectorObjective | null;
  oodSource: ImageSource;
  items: readonly ImageItem[];
}

async function readGenerationInputs(options: GenerateOptions, plan: GenerationPlan, report: (event: GenerateProgress) => void): Promise<GenerationInputs> {
  const { encoder, seed } = options;
  const { preset, preprocess, chosenObjective } = plan;
  // Hub sources are pinned to their commits: what is read and what the release records is one content.
  const idSpec = await pinSourceSpec(options.id, reportingDownloads(report));
  const oodSpec = await pinSourceSpec(options.ood, reportingDownloads(report));
  // The OOD items come first: a drawing target strategy encodes only the ID images drawn for them.
  const oodSource = firstItems(await openImageSource(oodSpec), options.n, '--n', oodSpec);
  const items = shardItems(oodSource.items, options.shard ?? { index: 0, count: 1 }, preset.params.batch);
  report({ kind: 'stage', message: `ID features of ${idSpec}` });
  const targets = await prepareGenerationTargets({
    encoder,
    preset,
    preprocess,
    id: idSpec,
    idN: options.idN,
    seed,
    itemKeys: items.map((item) => releaseRowId(oodSource.name, item.id)),
    onError: plan.onError,
    onSkipped: (item, reason) => report({ kind: 'skipped', item, reason }),
    onCacheRejected: (file, reason) => report({ kind: 'stage', message: `feature cache ${file} rejected (${reason}); recomputing` }),
  });
  if (chosenObjective) report({ kind: 'stage', message: `fitting the attacked detector (${chosenObjective.text})` });
  const attacked = chosenObjective && (await fitDetectorObjective(chosenObjective, {
      encoder,
      idSource: targets.idSource,
      preprocess,
      batchSize: preset.params.batch,
      textProgress: {
        // Two lines, not one per batch: generate's progress has no bar for text.
        onBatch: (done, total) => {
          if (done <= TEXT_BATCH || done === total) report({ kind: 'stage', message: `detector objective: text prompts ${done}/${total}` });
        },
        onCacheRejected: (file, reason) => report({ kind: 'stage', message: `text embedding cache ${file} rejected (${reason}); recomputing` }),
      },
    }));
  return { ...targets, idSpec, oodSpec, attacked, oodSource, items };
}

/** The writer's options: the schema, the generation config and the run hash a resume must match. */
function releaseWriterOptions(options: GenerateOptions, plan: GenerationPlan, inputs: GenerationInputs): ReleaseWriterOptions {
  const { encoder, seed } = options;
  const { preset, includeCleanImage } = plan;
  const { attacked } = inputs;
  return {
    schemaInfo: {
      classNames: [...inputs.idSource.classNames],
      featureDim: encoder.embedDim,
      includeCleanImage,
      ...(attacked && { detectorScores: true as const }),
      ...(preset.params.restarts !== undefined && { restarts: preset.params.restarts }),
    },
    config: generationConfig({
      preset,
      target: encoder.id,
      id: inputs.idSpec,
      idN: options.idN,
      idFingerprint: inputs.fullIdSource.fingerprint,
      ood: inputs.oodSpec,
      n: options.n,
      seed,
      objective: attacked?.record,
    }),
    runHash: runHash({
      paramsHash: preset.paramsHash,
      seed,
      encoder: encoder.id,
      weights: encoder.weightsSha256,
      id: inputs.idSource.fingerprint,
      ood: inputs.oodSource.fingerprint,
      includeCleanImage,
      ...(attacked && { objective: { name: attacked.record.objective, fitFingerprint: attacked.record.fitFingerprint } }),
    }),
    shard: options.shard ?? null,
    shardBytes: options.shardBytes,
  };
}

export async function generateRelease(options: GenerateOptions): Promise<GenerateSummary> {
  const report = options.onProgress ?? (() => {});
  const { encoder, seed } = options;
  const plan = planGeneration(options);
  const { preset, preprocess, includeCleanImage } = plan;
  const inputs = await readGenerationInputs(options, plan, report);
  const { attacked, oodSource, items } = inputs;
  // A signal that came while the inputs were read stops the run before it writes anything.
  options.signal?.throwIfAborted();
  // Held from the first write to the last, so that two runs cannot write one --out at once.
  const lock: OutputLock = acquireOutputLock(options.out, 'advood generate');
  try {
    const writerOptions = releaseWriterOptions(options, plan, inputs);
    const finished = await finishedRunIn(options.out, { paramsHash: writerOptions.runHash, schema: writerOptions.schemaInfo, shard: writerOptions.shard ?? null });
    if (finished) {
      report({ kind: 'stage', message: `${options.out} already holds this run's finished release (${finished.counts.rows} rows), verified; nothing to do` });
      return { manifest: finished, preset, skipped: 0, alreadyComplete: true, attackSeconds: 0, ...rowStatistics([]) };
    }
    const writer = await openReleaseWriter(options.out, writerOptions);
    const version = advoodVersion();
    let attackMs = 0;
    const context: BatchContext = {
      encoder,
      preset,
      attack: createAttack(preset.params, seed, attacked?.objective),
      attackedDetector: attacked?.detector,
      targets: inputs.targets,
      prototypes: inputs.prototypes,
      sourceName: oodSource.name,
      seed,
      includeCleanImage,
      advoodVersion: version,
      onStep: (event: { step: number; meanObjective: number; active: number }) => report({ kind: 'step', ...event }),
      onAttackTime: (ms) => (attackMs += ms),
    };
    report({ kind: 'start', total: items.length, resumeFrom: writer.resumeFrom });

    let consumed = writer.resumeFrom;
    const written: RowNumbers[] = [];
    let skipped = 0;
    for await (const batch of iterateBatches(oodSource, { preprocess, batchSize: preset.params.batch, onError: plan.onError, items: items.slice(consumed) })) {
      options.signal?.throwIfAborted();
      const errors: ReleaseError[] = batch.failures.map((f) => ({ item: f.item.origin, reason: f.reason }));
      for (const e of errors) report({ kind: 'skipped', item: e.item, reason: e.reason });
      skipped += errors.length;
      const rows = await attackBatchToRows(context, batch);
      // The attack runs synchronously, so a signal is seen only once the batch is attacked; it is dropped unwritten.
      options.signal?.throwIfAborted();
      consumed += batch.items.length + batch.failures.length;
      await writer.append(rows, errors, consumed);
      written.push(...rows.map(rowNumbers));
      report({ kind: 'batch', done: consumed, total: items.length, successRate: successRate(written), meanCosAfter: meanCosAfter(written) });
    }

    const manifest = await writer.close({
      command: options.command,
      seed,
      versions: { advood: version, ...options.backend.versions, backend: options.backend.chosen },
      model: { id: encoder.id, weightsSha256: encoder.weightsSha256 },
      card: generatedReleaseCard({ oodName: oodSource.name, idName: inputs.idSource.name, encoderId: encoder.id, preset, attackedDetector: attacked?.record }),
    });
    return { manifest, preset, skipped, alreadyComplete: false, attackSeconds: attackMs / 1000, ...rowStatistics(written) };
  } finally {
    lock.release();
  }
}
