/**
 * Quantisation-aware finish: what is released is an 8-bit PNG, so success is judged on it. Each adversarial
 * image is rounded to 8 bits, encoded as the PNG that will be saved, decoded again and re-encoded by the
 * model; the cosine to the target and every statistic are measured on that decoded image.
 *
 * Under an L∞ or L2 budget the saved image satisfies it exactly (budgetedLevels): rounding to the nearest level
 * can step past ε (ε = 0.03 is 7.65 levels), so such steps are rounded towards the clean image instead.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeImage, encodePng } from '../data/decode-image.js';
import { DEFAULT_BACKGROUND } from '../data/preprocess.js';
import type { Encoder, FeatureKind } from '../models/encoder.js';
import { applySeparable, transposedTensor, dctMatrix } from '../../attacks/constraints/separable-basis.js';
import { nearestClass, type ClassPrototypes } from '../../attacks/targets/class-prototypes.js';
import type { BudgetNorm } from '../../attacks/constraints/norm-budget.js';

export interface QuantizedItem {
  /** The PNG to release (8-bit RGB at model resolution). */
  png: Buffer;
  /** Cosine of the clean image's feature to the target. */
  cosBefore: number;
  /** Cosine of the decoded PNG's feature to the target. */
  cosAfter: number;
  /** Nearest ID class prototype (cosine) of the clean and of the decoded adversarial image; -1 without prototypes. */
  nearestClassBefore: number;
  nearestClassAfter: number;
  /** Norms of δ = decoded PNG − clean, in [0,1] pixel units over all H·W·3 values. */
  linf: number;
  l2: number;
  /** 10·log10(1 / mean(δ²)) dB; Infinity for δ = 0. */
  psnr: number;
  /** Share of δ's energy (sum of squared orthonormal DCT-II coefficients, per channel) in the k×k lowest band. */
  lowFreqEnergy: number;
  /** The feature of the decoded PNG (what an evaluator will see). */
  feature: Float32Array;
  /** The decoded PNG's pixels, HWC in [0,1]. */
  pixels: Float32Array;
}

export interface QuantizedFinishOptions {
  encoder: Encoder;
  features: FeatureKind;
  /** Clean images [B,H,W,3] already on 8-bit levels (as decoded from the source). */
  clean: tf.Tensor4D;
  /** Float adversarial images [B,H,W,3] from the attack. */
  adv: tf.Tensor4D;
  /** Targets [B,D]. */
  targets: tf.Tensor2D;
  prototypes: ClassPrototypes | null;
  /** Side of the low band as a fraction of the image side (params.energyBand). */
  energyBand: number;
  /** Item names for errors. */
  itemKeys: readonly string[];
  /** The preset's budget on δ, which the saved 8-bit image must satisfy too; null for none. */
  budget: { norm: BudgetNorm; epsilon: number } | null;
}

/**
 * The 8-bit levels of one adversarial image: nearest rounding, then for an L∞ budget each level difference
 * clamped to ⌊255·ε⌋, and for an L2 budget, when the rounded δ is longer than ε, every difference rounded towards
 * zero instead (each |δ| shrinks, so ‖δ‖₂ ≤ ε holds as it did in float). `clean` is on 8-bit levels already
 * (decoded from the source). Without a budget: the nearest levels, as encodePng would round.
 */
export function budgetedLevels(adv: Float32Array, clean: Float32Array, budget: QuantizedFinishOptions['budget']): Uint8Array {
  const out = new Uint8Array(adv.length);
  const levelOf = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  if (budget === null) {
    for (let i = 0; i < adv.length; i++) out[i] = levelOf(adv[i]!);
    return out;
  }
  // 1e-6 absorbs float error in ε · 255 (8/255 · 255 = 7.999999…), never a whole level.
  const maxLevels = Math.floor(budget.epsilon * 255 + 1e-6);
  let sumSquares = 0;
  for (let i = 0; i < adv.length; i++) {
    const base = levelOf(clean[i]!);
    let step = levelOf(adv[i]!) - base;
    if (budget.norm === 'linf') step = Math.max(-maxLevels, Math.min(maxLevels, step));
    sumSquares += (step / 255) ** 2;
    out[i] = base + step;
  }
  if (budget.norm === 'l2' && Math.sqrt(sumSquares) > budget.epsilon) {
    for (let i = 0; i < adv.length; i++) {
      const base = levelOf(clean[i]!);
      out[i] = base + Math.trunc((Math.min(1, Math.max(0, adv[i]!)) - base / 255) * 255);
    }
  }
  return out;
}

function rowCosines(features: tf.Tensor2D, targets: tf.Tensor2D): Float32Array {
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(features, targets), 1);
    const norms = tf.mul(tf.norm(features, 'euclidean', 1), tf.norm(targets, 'euclidean', 1));
    return Float32Array.from(tf.div(dot, tf.maximum(norms, 1e-12)).dataSync());
  });
}

function rows(matrix: Float32Array, count: number): Float32Array[] {
  const dim = matrix.length / count;
  return Array.from({ length: count }, (_, i) => matrix.slice(i * dim, (i + 1) * dim));
}

/** Share of energy in the k×k lowest DCT coefficients of each δ in [B,H,W,3]. */
export function lowBandEnergyShare(delta: tf.Tensor4D, band: number): Float32Array {
  return tf.tidy(() => {
    const [, h, w] = delta.shape;
    // C = D·δ·Dᵀ: applySeparable computes Lᵀ·δ·R, so L = R = Dᵀ.
    const coefficients = applySeparable(delta, transposedTensor(dctMatrix(h), h, h), transposedTensor(dctMatrix(w), w, w));
    const energy = tf.square(coefficients);
    const total = tf.sum(energy, [1, 2, 3]);
    const low = tf.sum(tf.slice(energy, [0, 0, 0, 0], [-1, Math.min(band, h), Math.min(band, w), -1]), [1, 2, 3]);
    // A zero δ has no energy outside the band: report 1.
    const share = tf.where(tf.greater(total, 0), tf.div(low, tf.maximum(total, 1e-30)), tf.onesLike(total));
    return Float32Array.from(share.dataSync());
  });
}

export async function quantizedFinish(options: QuantizedFinishOptions): Promise<QuantizedItem[]> {
  const { encoder, clean, adv, targets } = options;
  const [count, height, width] = clean.shape;
  const advValues = adv.dataSync() as Float32Array;
  const cleanValues = clean.dataSync() as Float32Array;
  const perImage = height * width * 3;
  const pngs: Buffer[] = [];
  const decoded = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) {
    const part = (values: Float32Array) => values.subarray(i * perImage, (i + 1) * perImage);
    const png = await encodePng(budgetedLevels(part(advValues), part(cleanValues), options.budget), height, width);
    const image = await decodeImage(png, `adversarial PNG of ${options.itemKeys[i]}`, { mode: 'exact', size: height, background: DEFAULT_BACKGROUND });
    pngs.push(png);
    decoded.set(image.pixels, i * perImage);
  }
  const band = Math.max(1, Math.round(options.energyBand * height));
  const measured = tf.tidy(() => {
    const quantized = tf.tensor4d(decoded, [count, height, width, 3]);
    const featuresAfter = encoder.encodeImage(quantized, options.features);
    const featuresBefore = encoder.encodeImage(clean, options.features);
    const delta = tf.sub(quantized, clean) as tf.Tensor4D;
    return {
      cosBefore: rowCosines(featuresBefore, targets),
      cosAfter: rowCosines(featuresAfter, targets),
      before: rows(featuresBefore.dataSync() as Float32Array, count),
      after: rows(featuresAfter.dataSync() as Float32Array, count),
      linf: Float32Array.from(tf.max(tf.abs(delta), [1, 2, 3]).dataSync()),
      sumSquares: Float32Array.from(tf.sum(tf.square(delta), [1, 2, 3]).dataSync()),
      lowFreq: lowBandEnergyShare(delta, band),
    };
  });
  return pngs.map((png, i) => {
    const mse = measured.sumSquares[i]! / perImage;
    return {
      png,
      cosBefore: measured.cosBefore[i]!,
      cosAfter: measured.cosAfter[i]!,
      nearestClassBefore: options.prototypes ? nearestClass(options.prototypes, measured.before[i]!).index : -1,
      nearestClassAfter: options.prototypes ? nearestClass(options.prototypes, measured.after[i]!).index : -1,
      linf: measured.linf[i]!,
      l2: Math.sqrt(measured.sumSquares[i]!),
      psnr: mse > 0 ? 10 * Math.log10(1 / mse) : Infinity,
      lowFreqEnergy: measured.lowFreq[i]!,
      feature: measured.after[i]!,
      pixels: decoded.slice(i * perImage, (i + 1) * perImage),
    };
  });
}
