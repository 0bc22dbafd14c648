/**
 * One batch of generation: decoded OOD images → clean features → one target each → attack → 8-bit PNG →
 * re-encoded (success is judged on the saved PNG) → release rows. With restarts the attack runs once per random
 * start and each item keeps the start whose saved image scores best on the objective (the per-item best over
 * restarts of Croce & Hein 2020, judged after 8-bit rounding). Every tensor made here is disposed here.
 */
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../../attacks/attack.js';
import type { ResolvedAttackPreset } from '../../attacks/attack-params.js';
import { type QuantizedItem, quantizedFinish } from './quantized-finish.js';
import type { ClassPrototypes } from '../../attacks/targets/class-prototypes.js';
import type { PreparedTargets, TargetChoice } from '../../attacks/targets/target-strategy.js';
import type { ImageBatch } from '../data/batches.js';
import { encodePng } from '../data/decode-image.js';
import type { Encoder } from '../models/encoder.js';
import type { DifferentiableDetector } from '../detectors/detector.js';
import type { ReleaseRow } from '../release/release-row.js';

export interface BatchContext {
  encoder: Encoder;
  preset: ResolvedAttackPreset;
  attack: Attack;
  targets: PreparedTargets;
  prototypes: ClassPrototypes | null;
  /** Name of the OOD source: row ids are `<name>/<item id>`. */
  sourceName: string;
  seed: number;
  includeCleanImage: boolean;
  advoodVersion: string;
  /** The detector an adaptive attack climbs: its score of the clean and of the saved adversarial image goes into each row. */
  attackedDetector?: DifferentiableDetector;
  onStep?: (event: { step: number; meanObjective: number; active: number }) => void;
  /** Milliseconds spent inside the attack's steps (attack.run), once per random start of each batch. */
  onAttackTime?: (ms: number) => void;
}

/** A detector's ID score of images [B,H,W,3], in the detector's representation. */
function detectorScoresOf(encoder: Encoder, detector: DifferentiableDetector, images: tf.Tensor4D): Float32Array {
  return tf.tidy(() => Float32Array.from(detector.scoreTensor(encoder.encodeImage(images, detector.featureKind)).dataSync()));
}

/** The detector's score of decoded 8-bit images (what evaluate will see). */
function savedImageScores(context: BatchContext, detector: DifferentiableDetector, decoded: readonly Float32Array[]): Float32Array {
  const size = context.encoder.inputSize;
  const perImage = size * size * 3;
  const pixels = new Float32Array(decoded.length * perImage);
  decoded.forEach((image, i) => pixels.set(image, i * perImage));
  const saved = tf.tensor4d(pixels, [decoded.length, size, size, 3]);
  try {
    return detectorScoresOf(context.encoder, detector, saved);
  } finally {
    saved.dispose();
  }
}

/**
 * The item keys of random start r. Start 0 keeps each item's own key, so that one start is the attack exactly as
 * without restarts; the others seed their inits (attacks/item-random.ts) from a key of their own.
 */
export function restartItemKeys(keys: readonly string[], restart: number): string[] {
  return restart === 0 ? [...keys] : keys.map((key) => `${key}#restart-${restart}`);
}

/** One random start of the batch, finished to its saved 8-bit images. */
interface Start {
  steps: number[];
  finished: QuantizedItem[];
  /** The attacked detector's score of each saved image; null on the paper's objective. */
  detectorScores: Float32Array | null;
}

/** What a start achieved for item i, on its saved image: the attacked detector's score, else the cosine to the target. */
function savedObjective(start: Start, i: number): number {
  return start.detectorScores ? start.detectorScores[i]! : start.finished[i]!.cosAfter;
}

/** Per item, the start with the highest saved objective (the first of equals, so that ties keep start 0). */
function bestStarts(starts: readonly Start[], count: number): number[] {
  return Array.from({ length: count }, (_, i) => starts.reduce((best, start, r) => (savedObjective(start, i) > savedObjective(starts[best]!, i) ? r : best), 0));
}

/** The release row id of an OOD item: `<source name>/<item id>`; per-item draws are keyed by it. */
export function releaseRowId(sourceName: string, itemId: string): string {
  return `${sourceName}/${itemId}`;
}

/** Targets for the batch, chosen from the clean images' features. */
function chooseTargets(context: BatchContext, clean: tf.Tensor4D, keys: readonly string[]): TargetChoice[] {
  const features = tf.tidy(() => context.encoder.encodeImage(clean, context.preset.params.features));
  const values = features.dataSync() as Float32Array;
  const dim = features.shape[1];
  features.dispose();
  return context.targets.choose(keys.map((key, i) => ({ key, cleanFeature: values.subarray(i * dim, (i + 1) * dim) })));
}

export async function attackBatchToRows(context: BatchContext, batch: ImageBatch): Promise<ReleaseRow[]> {
  const { encoder, preset } = context;
  const { params } = preset;
  const count = batch.items.length;
  if (count === 0) return [];
  const size = encoder.inputSize;
  const keys = batch.items.map((item) => releaseRowId(context.sourceName, item.id));
  const owned: tf.Tensor[] = [];
  try {
    const clean = tf.tensor4d(batch.pixels, [count, size, size, 3]);
    owned.push(clean);
    const choices = chooseTargets(context, clean, keys);
    const targets = tf.tensor2d(
      choices.flatMap((c) => Array.from(c.vector)),
      [count, choices[0]!.vector.length],
    );
    owned.push(targets);
    const starts: Start[] = [];
    for (let restart = 0; restart < (params.restarts ?? 1); restart++) {
      const attackStart = performance.now();
      const result = context.attack.run(encoder, { clean, targets, itemKeys: restartItemKeys(keys, restart) }, context.onStep);
      context.onAttackTime?.(performance.now() - attackStart);
      let finished: QuantizedItem[];
      try {
        finished = await quantizedFinish({
          encoder,
          features: params.features,
          clean,
          adv: result.adv,
          targets,
          prototypes: context.prototypes,
          energyBand: params.energyBand,
          itemKeys: keys,
          budget: params.constraints.budget,
        });
      } finally {
        result.adv.dispose();
      }
      const detectorScores = context.attackedDetector ? savedImageScores(context, context.attackedDetector, finished.map((q) => q.pixels)) : null;
      starts.push({ steps: result.stats.map((s) => s.stepsUsed), finished, detectorScores });
    }
    const chosen = bestStarts(starts, count);
    const scoresBefore = context.attackedDetector ? detectorScoresOf(encoder, context.attackedDetector, clean) : null;
    const perImage = size * size * 3;
    const rows: ReleaseRow[] = [];
    for (let i = 0; i < count; i++) {
      const item = batch.items[i]!;
      const choice = choices[i]!;
      const start = starts[chosen[i]!]!;
      const q = start.finished[i]!;
      rows.push({
        id: keys[i]!,
        image: q.png,
        cleanImage: context.includeCleanImage ? await encodePng(batch.pixels.subarray(i * perImage, (i + 1) * perImage), size, size) : null,
        label: choice.targetClass,
        sourceDataset: context.sourceName,
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
        seed: context.seed,
        cosBefore: q.cosBefore,
        cosAfter: q.cosAfter,
        nearestClassBefore: q.nearestClassBefore,
        nearestClassAfter: q.nearestClassAfter,
        linf: q.linf,
        l2: q.l2,
        psnr: q.psnr,
        lowFreqEnergy: q.lowFreqEnergy,
        steps: start.steps[i]!,
        success: q.cosAfter >= params.successThreshold,
        ...(scoresBefore && { detectorScoreBefore: scoresBefore[i]!, detectorScoreAfter: start.detectorScores![i]! }),
        ...(params.restarts !== undefined && { restart: chosen[i]!, restartObjectives: Float32Array.from(starts, (other) => savedObjective(other, i)) }),
        feature: q.feature,
        advoodVersion: context.advoodVersion,
      });
    }
    return rows;
  } finally {
    for (const tensor of owned) tensor.dispose();
  }
}
