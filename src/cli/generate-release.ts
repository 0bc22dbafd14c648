/**
 * generateRelease: the whole of `advood generate` as a library call (the CLI and `advood demo` both use it).
 *
 * OOD images stream through in deterministic batches of params.batch: decode → clean feature → target →
 * attack → 8-bit PNG → re-encode (success is judged on the saved PNG) → release rows. The release writer
 * journals committed batches, so a restarted run resumes at the first uncommitted batch and produces the
 * same bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { resolveAttackPreset, type ResolvedAttackPreset, canonicalJson } from '../../attacks/attack-params.js';
import { quantizedFinish } from '../../attacks/quantized-finish.js';
import { buildConstraintSet, createAttack, targetStrategy } from '../../attacks/registry.js';
import { classPrototypes, type ClassPrototypes } from '../../attacks/targets/class-prototypes.js';
import { acquireOutputLock, checkOutputFolder, type OutputLock } from '../core/output-lock.js';
import { iterateBatches, type OnError } from '../data/batches.js';
import { encodePng } from '../data/decode-image.js';
import { computeFeatures } from '../data/features.js';
import type { ImageItem } from '../data/image-source.js';
import { firstItems } from '../data/first-items.js';
import { openImageSource } from '../data/open-image-source.js';
import { preprocessFor } from '../data/preprocess.js';
import { createEncoder } from '../models/create-encoder.js';
import type { Encoder } from '../models/encoder.js';
import type { ReleaseManifest, ShardSpec } from '../release/release-manifest.js';
import type { ReleaseError, ReleaseRow } from '../release/release-row.js';
import { openReleaseWriter } from '../release/release-writer.js';
import { shardItems } from '../release/shard-spec.js';
import type { BackendReport } from '../runtime/backend.js';
import { UserError } from '../runtime/errors.js';
import { median } from '../metrics/percentile.js';

export interface GenerateOptions {
  /** --target: a target preset, config file or checkpoint directory. */
  target: string;
  /** --weights: local weights directory for the target. */
  weights?: string;
  /** --id: ID training source (targets and prototypes come from its cached features). */
  id: string;
  /** --id-n: use the first N ID images (all when absent); an error when the source has fewer. */
  idN?: number;
  /** --ood: the source to attack. */
  ood: string;
  /** --n: attack the first N OOD images (all when absent); an error when the source has fewer. */
  n?: number;
  /** --attack: preset name or JSON path. */
  attack: string;
  /** Dotted-path overrides of preset fields (--steps, --lr, --lambda, …). */
  overrides?: Record<string, unknown>;
  seed: number;
  out: string;
  shard?: ShardSpec | null;
  onError?: OnError;
  backend: BackendReport;
  /** The command line recorded in the manifest. */
  command: string;
  /** Bytes after which the writer starts a new shard (default: the writer's ~500 MB). */
  shardBytes?: number;
  /** Store the clean image next to each adversarial one (default true). */
  includeCleanImage?: boolean;
  /** An already loaded encoder (in-process callers); it must match `target` and the preset's input size. */
  encoder?: Encoder;
  /** Progress sink. */
  onProgress?: (event: GenerateProgress) => void;
}

export type GenerateProgress =
  | { kind: 'stage'; message: string }
  | { kind: 'start'; total: number; resumeFrom: number }
  | { kind: 'batch'; done: number; total: number; successRate: number; meanCosAfter: number }
  | { kind: 'skipped'; item: string; reason: string }
  | { kind: 'step'; step: number; meanCos: number; active: number };

export interface GenerateSummary {
  manifest: ReleaseManifest;
  preset: ResolvedAttackPreset;
  /** Statistics over the rows written by this call (a resumed run counts only its new rows). */
  rows: number;
  skipped: number;
  successRate: number;
  median: { cosBefore: number; cosAfter: number; psnr: number; linf: number; lowFreqEnergy: number; steps: number };
}

function advoodVersion(): string {
  const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}


export async function generateRelease(options: GenerateOptions): Promise<GenerateSummary> {
  const report = options.onProgress ?? (() => {});
  const onError = options.onError ?? 'skip';
  const preset = resolveAttackPreset(options.attack, options.overrides ?? {});
  const { params } = preset;
  if (!Number.isSafeInteger(options.seed)) throw new UserError(`--seed must be an integer, got ${options.seed}`);
  checkOutputFolder(options.out);

  report({ kind: 'stage', message: `loading target ${options.target}` });
  const encoder =
    options.encoder ??
    (await createEncoder(options.target, {
      weights: options.weights,
      inputSize: params.inputSize ?? undefined,
      backend: options.backend,
      log: (message) => report({ kind: 'stage', message }),
    }));
  const ownEncoder = options.encoder === undefined;
  let lock: OutputLock | null = null;
  try {
    if (params.inputSize !== null && encoder.inputSize !== params.inputSize) {
      throw new UserError(`target ${encoder.id} has input size ${encoder.inputSize}, but the attack asks for ${params.inputSize}`);
    }
    if (!encoder.featureKinds.includes(params.features)) {
      throw new UserError(`target ${encoder.id} has no '${params.features}' features (it has: ${encoder.featureKinds.join(', ')})`);
    }
    const preprocess = preprocessFor(encoder);
    const size = encoder.inputSize;
    // Everything the params can refuse at this input size is refused now, before the output folder is touched.
    buildConstraintSet(params.constraints, size, size).dispose();

    report({ kind: 'stage', message: `ID features of ${options.id}` });
    const fullIdSource = await openImageSource(options.id);
    const idSource = firstItems(fullIdSource, options.idN, '--id-n', options.id);
    const idFeatures = await computeFeatures(encoder, idSource, {
      preprocess,
      batchSize: params.batch,
      kind: params.features,
      onError,
      progress: { onCacheRejected: (file, reason) => report({ kind: 'stage', message: `feature cache ${file} rejected (${reason}); recomputing` }) },
    });
    for (const failure of idFeatures.failures) report({ kind: 'skipped', item: failure.item.origin, reason: failure.reason });
    const idSet = idFeatures.set;
    if (idSet.ids.length === 0) throw new UserError(`${options.id}: no ID image could be used`);
    const prototypes: ClassPrototypes | null = idSet.classNames.length > 0 ? classPrototypes(idSet) : null;
    const targets = targetStrategy(params.target.strategy).prepare({
      seed: options.seed,
      encoder,
      idFeatures: idSet,
      requestedClass: params.target.class,
    });

    const oodSource = firstItems(await openImageSource(options.ood), options.n, '--n', options.ood);
    const items: readonly ImageItem[] = shardItems(oodSource.items, options.shard ?? { index: 0, count: 1 });
    const runHash = createHash('sha256')
      .update(
        canonicalJson({
          paramsHash: preset.paramsHash,
          seed: options.seed,
          encoder: encoder.id,
          weights: encoder.weightsSha256,
          id: idSource.fingerprint,
          ood: oodSource.fingerprint,
          includeCleanImage: options.includeCleanImage ?? true,
        }),
      )
      .digest('hex');
    lock = acquireOutputLock(options.out, 'advood generate');
    const writer = await openReleaseWriter(options.out, {
      schemaInfo: { classNames: [...idSet.classNames], featureDim: encoder.embedDim, includeCleanImage: options.includeCleanImage ?? true },
      config: {
        attack: { preset: preset.name, origin: preset.origin, params },
        target: encoder.id,
        id: options.id,
        idN: options.idN ?? null,
        // target_index counts rows of this source's features; evaluate checks it is given the same source.
        idSource: { fingerprint: fullIdSource.fingerprint },
        ood: options.ood,
        n: options.n ?? null,
        seed: options.seed,
      },
      paramsHash: runHash,
      shard: options.shard ?? null,
      shardBytes: options.shardBytes,
    });
    const attack = createAttack(params, options.seed);
    const version = advoodVersion();
    report({ kind: 'start', total: items.length, resumeFrom: writer.resumeFrom });

    let consumed = writer.resumeFrom;
    /** The numbers of the rows written by this call (not the images: a run may be large). */
    const written: Pick<ReleaseRow, 'success' | 'cosBefore' | 'cosAfter' | 'psnr' | 'linf' | 'lowFreqEnergy' | 'steps'>[] = [];
    let skipped = 0;
    for await (const batch of iterateBatches(oodSource, { preprocess, batchSize: params.batch, onError, items: items.slice(consumed) })) {
      const errors: ReleaseError[] = batch.failures.map((f) => ({ item: f.item.origin, reason: f.reason }));
      for (const e of errors) report({ kind: 'skipped', item: e.item, reason: e.reason });
      skipped += errors.length;
      const count = batch.items.length;
      const rows: ReleaseRow[] = [];
      if (count > 0) {
        const keys = batch.items.map((item) => `${oodSource.name}/${item.id}`);
        const clean = tf.tensor4d(batch.pixels, [count, size, size, 3]);
        try {
          const cleanFeatures = tf.tidy(() => encoder.encodeImage(clean, params.features));
          const cleanValues = cleanFeatures.dataSync() as Float32Array;
          const dim = cleanFeatures.shape[1];
          cleanFeatures.dispose();
          const choices = targets.choose(keys.map((key, i) => ({ key, cleanFeature: cleanValues.subarray(i * dim, (i + 1) * dim) })));
          const targetTensor = tf.tensor2d(
            choices.flatMap((c) => Array.from(c.vector)),
            [count, choices[0]!.vector.length],
          );
          try {
            const result = attack.run(encoder, { clean, targets: targetTensor, itemKeys: keys }, (e) => report({ kind: 'step', ...e }));
            try {
              const finished = await quantizedFinish({
                encoder,
                features: params.features,
                clean,
                adv: result.adv,
                targets: targetTensor,
                prototypes,
                energyBand: params.energyBand,
                itemKeys: keys,
              });
              for (let i = 0; i < count; i++) {
                const item = batch.items[i]!;
                const choice = choices[i]!;
                const q = finished[i]!;
                const perImage = size * size * 3;
                rows.push({
                  id: keys[i]!,
                  image: q.png,
                  cleanImage: options.includeCleanImage === false ? null : await encodePng(batch.pixels.subarray(i * perImage, (i + 1) * perImage), size, size),
                  label: choice.targetClass,
                  sourceDataset: oodSource.name,
                  sourceId: item.id,
                  sourceSha256: batch.sourceSha256[i]!,
                  targetStrategy: choice.strategy,
                  targetClass: choice.targetClass,
                  targetIndex: choice.targetIndex,
                  targetReason: choice.reason,
                  targetModel: encoder.id,
                  weightsSha256: encoder.weightsSha256,
                  attackPreset: preset.name,
                  paramsHash: preset.paramsHash,
                  seed: options.seed,
                  cosBefore: q.cosBefore,
                  cosAfter: q.cosAfter,
                  nearestClassBefore: q.nearestClassBefore,
                  nearestClassAfter: q.nearestClassAfter,
                  linf: q.linf,
                  l2: q.l2,
                  psnr: q.psnr,
                  lowFreqEnergy: q.lowFreqEnergy,
                  steps: result.stats[i]!.stepsUsed,
                  success: q.cosAfter >= params.successThreshold,
                  feature: q.feature,
                  advoodVersion: version,
                });
              }
            } finally {
              result.adv.dispose();
            }
          } finally {
            targetTensor.dispose();
          }
        } finally {
          clean.dispose();
        }
      }
      consumed += count + batch.failures.length;
      await writer.append(rows, errors, consumed);
      written.push(...rows.map(({ success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps }) => ({ success, cosBefore, cosAfter, psnr, linf, lowFreqEnergy, steps })));
      report({
        kind: 'batch',
        done: consumed,
        total: items.length,
        successRate: written.length ? written.filter((r) => r.success).length / written.length : 0,
        meanCosAfter: written.length ? written.reduce((a, r) => a + r.cosAfter, 0) / written.length : 0,
      });
    }

    const manifest = await writer.close({
      command: options.command,
      seed: options.seed,
      versions: { advood: version, ...options.backend.versions, backend: options.backend.chosen },
      model: { id: encoder.id, weightsSha256: encoder.weightsSha256 },
      card: {
        prettyName: `Adversarial ${oodSource.name} → ${idSource.name} (${encoder.id}, ${preset.name})`,
        description:
          `OOD images from ${oodSource.name} perturbed with advood's ${params.attack} attack (preset ${preset.name}: ${preset.description}) ` +
          `so that their ${params.features} ${encoder.id} features collide with ID targets from ${idSource.name} (strategy ${params.target.strategy}). ` +
          'Success and every statistic are measured on the saved 8-bit PNGs.',
        license: 'other',
        sourceDatasets: [oodSource.name, idSource.name],
        citation:
          '@article{adaloglou2024adapting, title={Adapting Contrastive Language-Image Pretrained (CLIP) Models for Out-of-Distribution Detection}, ' +
          'author={Adaloglou, Nikolas and Michels, Felix and Kaiser, Tim and Kollmann, Markus}, journal={Transactions on Machine Learning Research}, year={2024}}',
        homepage: '',
      },
    });
    return {
      manifest,
      preset,
      rows: written.length,
      skipped,
      successRate: written.length ? written.filter((r) => r.success).length / written.length : 0,
      median: {
        cosBefore: median(written.map((r) => r.cosBefore)),
        cosAfter: median(written.map((r) => r.cosAfter)),
        psnr: median(written.map((r) => r.psnr)),
        linf: median(written.map((r) => r.linf)),
        lowFreqEnergy: median(written.map((r) => r.lowFreqEnergy)),
        steps: median(written.map((r) => r.steps)),
      },
    };
  } finally {
    lock?.release();
    if (ownEncoder) encoder.dispose();
  }
}
