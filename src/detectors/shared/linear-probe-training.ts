/**
 * Trains the linear probe that the supervised probe and PLP share, as the authors' `linear_probing.py`
 * (HHU-MMBS/plp-official-tmlr2024) does:
 * - inputs z-scored with the train mean and std per dimension (population std; a constant dimension gets
 *   std 1 so it maps to 0 instead of NaN);
 * - nn.Linear initialisation, U(−1/√D, 1/√D) for weights and bias;
 * - cross-entropy, torch.optim.Adam with coupled L2 weight decay 1e-3 (grad += wd·θ, bias included),
 *   β = (0.9, 0.999), ε = 1e-8;
 * - peak lr 1e-3 × batch/256, batch 256, 100 epochs (the last batch of an epoch may be smaller);
 * - per-step schedule: linear warm-up from 0 over the first 10 % of steps, then cosine to 0.
 * Deterministic for a seed on a given backend: seeded init, a seeded shuffle per epoch, fixed batch order.
 * The gradient of softmax-CE for a linear layer is analytic, (softmax − onehot)/B, so no autodiff tape is needed.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../../data/feature-set.js';
import { SeededRandom } from '../../core/seeded-random.js';
import { UserError } from '../../core/errors.js';

export interface ProbeTrainingOptions {
  seed?: number;
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate at batch 256; scaled linearly with batchSize / 256 as the authors do. */
  learningRate?: number;
  weightDecay?: number;
  warmupFraction?: number;
  /** Called after each epoch with the mean training loss of that epoch. */
  onEpoch?: (epoch: number, meanLoss: number) => void;
}

export const PROBE_DEFAULTS = {
  seed: 0,
  epochs: 100,
  batchSize: 256,
  learningRate: 1e-3,
  weightDecay: 1e-3,
  warmupFraction: 0.1,
} as const;

export interface TrainedProbe {
  dim: number;
  classes: number;
  mean: Float32Array;
  std: Float32Array;
  /** [D × classes], row-major. */
  weights: Float32Array;
  bias: Float32Array;
  /** Mean loss of the last epoch. */
  finalLoss: number;
}

/** The authors' `cosine_scheduler_iter`: linear warm-up from 0, then cosine from the peak to 0, one value per step. */
export function learningRateSchedule(totalSteps: number, peak: number, warmupFraction: number): Float64Array {
  const warmup = Math.floor(warmupFraction * totalSteps);
  const out = new Float64Array(totalSteps);
  // np.linspace(0, peak, warmup): both ends included.
  for (let i = 0; i < warmup; i++) out[i] = warmup === 1 ? 0 : (peak * i) / (warmup - 1);
  const rest = totalSteps - warmup;
  for (let i = 0; i < rest; i++) out[warmup + i] = 0.5 * peak * (1 + Math.cos((Math.PI * i) / rest));
  return out;
}

function standardisation(features: FeatureSet): { mean: Float32Array; std: Float32Array } {
  const { dim } = features;
  const rows = features.ids.length;
  const sum = new Float64Array(dim);
  const sumSq = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dim; d++) {
      const v = features.vectors[r * dim + d]!;
      sum[d]! += v;
      sumSq[d]! += v * v;
    }
  }
  const mean = new Float32Array(dim);
  const std = new Float32Array(dim);
  for (let d = 0; d < dim; d++) {
    const m = sum[d]! / rows;
    const variance = Math.max(0, sumSq[d]! / rows - m * m);
    mean[d] = m;
    std[d] = variance > 1e-12 * Math.max(1, m * m) ? Math.sqrt(variance) : 1;
  }
  return { mean, std };
}

/** Z-scored copy of rows [start, end) of the features. */
function standardisedRows(features: FeatureSet, probe: Pick<TrainedProbe, 'mean' | 'std' | 'dim'>, rows: ArrayLike<number>): Float32Array {
  const { dim } = probe;
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const offset = rows[i]! * dim;
    for (let d = 0; d < dim; d++) out[i * dim + d] = (features.vectors[offset + d]! - probe.mean[d]!) / probe.std[d]!;
  }
  return out;
}

export function trainLinearProbe(features: FeatureSet, labels: Int32Array, classes: number, options: ProbeTrainingOptions = {}): TrainedProbe {
  const settings = { ...PROBE_DEFAULTS, ...options };
  const rows = features.ids.length;
  const { dim } = features;
  if (rows === 0) throw new UserError('linear probe: the training set is empty');
  if (labels.length !== rows) throw new UserError(`linear probe: ${labels.length} labels for ${rows} rows`);
  if (classes < 2) throw new UserError(`linear probe: needs at least 2 classes, got ${classes}`);
  for (const [key, value] of Object.entries({ epochs: settings.epochs, batchSize: settings.batchSize })) {
    if (!Number.isInteger(value) || value < 1) throw new UserError(`linear probe: ${key} must be a positive integer, got ${value}`);
  }
  const { mean, std } = standardisation(features);
  const random = new SeededRandom(settings.seed);
  const bound = 1 / Math.sqrt(dim);
  const initial = (n: number) => Float32Array.from({ length: n }, () => (2 * random.next() - 1) * bound);
  let W = tf.tensor2d(initial(dim * classes), [dim, classes]);
  let b = tf.tensor1d(initial(classes));
  let mW = tf.zerosLike(W);
  let vW = tf.zerosLike(W);
  let mb = tf.zerosLike(b);
  let vb = tf.zerosLike(b);
  const stepsPerEpoch = Math.ceil(rows / settings.batchSize);
  const schedule = learningRateSchedule(stepsPerEpoch * settings.epochs, (settings.learningRate * settings.batchSize) / 256, settings.warmupFraction);
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  let step = 0;
  let finalLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      const order = random.permutation(rows);
      let lossSum = 0;
      for (let start = 0; start < rows; start += settings.batchSize) {
        const batchRows = order.subarray(start, Math.min(rows, start + settings.batchSize));
        const x = standardisedRows(features, { mean, std, dim }, batchRows);
        const y = new Int32Array(batchRows.length);
        for (let i = 0; i < batchRows.length; i++) y[i] = labels[batchRows[i]!]!;
        step++;
        const lr = schedule[step - 1]!;
        const correction1 = 1 - beta1 ** step;
        const correction2 = 1 - beta2 ** step;
        const next = tf.tidy(() => {
          const xb = tf.tensor2d(x, [batchRows.length, dim]);
          const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), classes);
          const logits = tf.add(tf.matMul(xb, W), b);
          const logProbabilities = tf.logSoftmax(logits);
          const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbabilities), 1)));
          const dLogits = tf.div(tf.sub(tf.exp(logProbabilities), onehot), batchRows.length);
          // Explicit transpose: matMul's transposeA flag leaves XNNPACK on wasm (~10x slower: src/runtime/fast-linear.ts).
          const gW = tf.add(tf.matMul(tf.transpose(xb), dLogits), tf.mul(W, settings.weightDecay));
          const gb = tf.add(tf.sum(dLogits, 0), tf.mul(b, settings.weightDecay));
          const adam = (param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => {
            const m2 = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
            const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
            const update = tf.div(tf.div(m2, correction1), tf.add(tf.sqrt(tf.div(v2, correction2)), epsilon));
            return [tf.sub(param, tf.mul(update, lr)), m2, v2];
          };
          return [...adam(W, gW, mW, vW), ...adam(b, gb, mb, vb), loss];
        });
        tf.dispose([W, mW, vW, b, mb, vb]);
        [W, mW, vW, b, mb, vb] = next.slice(0, 6) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const loss = next[6]!;
        lossSum += loss.dataSync()[0]! * batchRows.length;
        loss.dispose();
      }
      finalLoss = lossSum / rows;
      if (!Number.isFinite(finalLoss)) throw new Error(`linear probe: training loss became ${finalLoss} at epoch ${epoch + 1}`);
      options.onEpoch?.(epoch + 1, finalLoss);
    }
    return { dim, classes, mean, std, weights: W.dataSync() as Float32Array, bias: b.dataSync() as Float32Array, finalLoss };
  } finally {
    tf.dispose([W, mW, vW, b, mb, vb]);
  }
}

/** Logits [rows × classes] of the probe on any feature set of the same dimension, computed in row blocks. */
export function probeLogits(probe: TrainedProbe, features: FeatureSet, blockRows = 4096): Float32Array {
  const rows = features.ids.length;
  const out = new Float32Array(rows * probe.classes);
  const W = tf.tensor2d(probe.weights, [probe.dim, probe.classes]);
  const b = tf.tensor1d(probe.bias);
  try {
    for (let start = 0; start < rows; start += blockRows) {
      const indices = Array.from({ length: Math.min(blockRows, rows - start) }, (_, i) => start + i);
      const x = standardisedRows(features, probe, indices);
      const logits = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(x, [indices.length, probe.dim]), W), b));
      out.set(logits.dataSync() as Float32Array, start * probe.classes);
      logits.dispose();
    }
  } finally {
    tf.dispose([W, b]);
  }
  return out;
}
