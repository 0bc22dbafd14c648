/**
 * Quantisation-aware finish: what is released is an 8-bit PNG, so success is judged on it. Each adversarial
 * image is rounded to 8 bits, encoded as the PNG that will be saved, decoded again and re-encoded by the
 * model; the cosine to the target and every statistic are measured on that decoded image.
 */
import * as tf from '@tensorflow/tfjs';
import { decodeImage, encodePng } from '../data/decode-image.js';
import { DEFAULT_BACKGROUND } from '../data/preprocess.js';
import type { Encoder, FeatureKind } from '../models/encoder.js';
import { applySeparable, transposedTensor, dctMatrix } from '../../attacks/constraints/separable-basis.js';
import { nearestClass, type ClassPrototypes } from '../../attacks/targets/class-prototypes.js';

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
  const perImage = height * width * 3;
  const pngs: Buffer[] = [];
  const decoded = new Float32Array(count * perImage);
  for (let i = 0; i < count; i++) {
    const png = await encodePng(advValues.subarray(i * perImage, (i + 1) * perImage), height, width);
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
