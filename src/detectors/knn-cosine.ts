/**
 * k-NN cosine detector (the main detector of Adaloglou et al., TMLR 2024, as in the authors' code):
 * score(x) = mean over the k most similar bank rows of exp(cos(x, b) / T), features L2-normalised.
 * Kernel 'exp' is T = 1; 'exp-temperature' uses T = 0.02 by default. exp is monotonic, so the top-k by cosine
 * are the top-k by kernel value; we keep cosines and apply the kernel at the end.
 *
 * The bank can leave out given rows (the paper evaluates "with the attack targets removed").
 *
 * Scoring streams the bank in blocks through tfjs matMul ([bankBlock × D] · [D × queries], no transpose flags:
 * on wasm, matMul with transposeA/B leaves the fast XNNPACK path: src/runtime/fast-linear.ts) and keeps a running top-k, so a
 * 1M × 1664 bank never needs bank × queries memory. The normalised bank stays in JS memory; only one block at
 * a time is uploaded (the wasm heap is capped at 4 GiB). Measured on this machine (20k × 1024 bank, 500 queries,
 * wasm, 1 thread): blocked tfjs matMul 38 GFLOP/s vs plain typed-array loops 1.5 GFLOP/s.
 *
 * scoreTensor (what an adaptive attack climbs) holds the whole bank and a [B × bank] similarity block, which
 * suits attack batches (16 × 1000 in the demo). With smoothTopK τ = 0 (the default) it takes the exact top-k,
 * so it equals score(); its gradient flows through the k winners. With τ > 0 it uses the successive-softmax
 * top-k of Plötz & Roth 2018 (Neural Nearest Neighbors Networks): for i = 1..k,
 *   p_i = softmax(c/τ + log(1 − Σ_{j<i} p_j)),   score_τ = (1/k) Σ_i Σ_n p_i,n · exp(c_n / T),
 * over the cosines c to the bank; as τ → 0 each p_i becomes the one-hot of the i-th largest cosine, so score_τ
 * tends to the mean of exp(c/T) over the k largest cosines, i.e. score(). A positive τ spreads the gradient
 * over near-ties, which helps when the winner keeps switching.
 */
import type { FeatureKind } from '../models/encoder.js';
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import { UserError } from '../core/errors.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { assertSameDim, assertUsableFeatures, l2NormalisedRows } from './shared/feature-validation.js';
import { assertTensorDim, unitRowsTensor } from './shared/tensor-rows.js';
import { DEFAULT_FEATURE_KIND, type DetectorOptionDoc, FEATURE_KIND_OPTION, defineDetector } from './detector-entry.js';
import { NormalisedBank } from './shared/normalised-bank.js';
import { RunningTopK } from './shared/running-top-k.js';

export const KNN_KERNELS = ['exp', 'exp-temperature'] as const;
export type KnnKernel = (typeof KNN_KERNELS)[number];

export interface KnnCosineOptions {
  /** Neighbours averaged. Default 1 (the paper's 1-NN). */
  k?: number;
  /** 'exp' = exp(cos); 'exp-temperature' = exp(cos / temperature). Default 'exp'. */
  kernel?: KnnKernel;
  /** T for 'exp-temperature'. Default 0.02 (the authors' code). */
  temperature?: number;
  /** Ids of ID-train rows to leave out of the bank (e.g. the attack targets). Unknown ids are an error. */
  excludeIds?: readonly string[];
  /** Which representation the bank and queries use. Default 'pre-projection' (what the paper attacks). */
  featureKind?: FeatureKind;
  /** Report name; default derived from the options, e.g. 'knn-1', 'knn-5-t0.02', 'knn-1-no-targets'. */
  name?: string;
  /** Upper bound on the elements of one similarity block (bank rows × queries). Default 2^22 (16 MB). */
  blockElements?: number;
  /** τ of scoreTensor's smooth top-k; 0 (default) = the exact top-k (see the module comment). */
  smoothTopK?: number;
}

/** The paper's 1-NN with the plain exp kernel; T = 0.02 is the authors' temperature for 'exp-temperature'. */
export const KNN_DEFAULTS = { k: 1, kernel: 'exp', temperature: 0.02 } as const satisfies { k: number; kernel: KnnKernel; temperature: number };

const KNN_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'k', type: 'integer', default: KNN_DEFAULTS.k, description: 'neighbours averaged (paper: 1)' },
  { name: 'kernel', type: 'string', default: KNN_DEFAULTS.kernel, description: "'exp' = exp(cos), 'exp-temperature' = exp(cos/T)" },
  { name: 'temperature', type: 'number', default: KNN_DEFAULTS.temperature, description: "T of 'exp-temperature'" },
  { name: 'excludeIds', type: 'string[]', default: [], description: "ID-train ids left out of the bank ('|'-separated in a string spec)" },
  { name: 'smoothTopK', type: 'number', default: 0, description: 'τ of the smooth top-k an adaptive attack climbs (0: exact top-k)' },
  FEATURE_KIND_OPTION,
];

export const knnEntry = defineDetector(
  {
    name: 'knn',
    description: 'k-NN cosine: mean of the top-k exp(cos/T) against the ID train bank (the paper’s detector)',
    needs: { labels: false, text: false, projected: false },
    options: KNN_OPTIONS,
    differentiable: true,
  },
  (read) =>
    new KnnCosineDetector({
      k: read.number('k', true),
      kernel: read.string('kernel', KNN_KERNELS),
      temperature: read.number('temperature', false),
      excludeIds: read.strings('excludeIds'),
      smoothTopK: read.number('smoothTopK', false),
      featureKind: read.featureKind,
      name: read.name,
    }),
);

export function knnDefaultName(options: KnnCosineOptions): string {
  const k = options.k ?? KNN_DEFAULTS.k;
  const kernel = options.kernel ?? KNN_DEFAULTS.kernel;
  const temperature = kernel === 'exp-temperature' ? `-t${options.temperature ?? KNN_DEFAULTS.temperature}` : '';
  const excluded = options.excludeIds && options.excludeIds.length > 0 ? '-no-targets' : '';
  return `knn-${k}${temperature}${excluded}`;
}

/**
 * log(1 − taken) of a bank row whose mass is used up (1 − taken rounds to 0 in float32): far below any c/τ, so
 * the row cannot win again. A clamp such as log(max(1 − taken, 1e-30)) = −69 would let a row win twice when
 * its cosine leads the next by more than 69·τ.
 */
const EXHAUSTED = -1e9;

/** log(1 − taken), EXHAUSTED where nothing remains; the log only ever sees positive values, so no NaN gradient. */
function logRemaining(taken: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const remaining = tf.sub(1, taken);
    // Where mass remains is data, not a function to differentiate (tf.greater has no gradient): read it back.
    const positive = tf.tensor2d(Uint8Array.from(remaining.dataSync(), (v) => (v > 0 ? 1 : 0)), remaining.shape as [number, number], 'bool');
    const logOfPositive = tf.log(tf.where(positive, remaining, tf.onesLike(remaining)));
    return tf.where(positive, logOfPositive, tf.fill(remaining.shape, EXHAUSTED)) as tf.Tensor2D;
  });
}

export class KnnCosineDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  private readonly k: number;
  private readonly temperature: number;
  private readonly excludeIds: readonly string[];
  private readonly blockElements: number;
  private readonly smoothTopK: number;
  private bank: NormalisedBank | null = null;
  /** The bank as [D × rows] for scoreTensor, built on first use. */
  private bankTransposed: Float32Array | null = null;
  private bankRows = 0;
  private dim = 0;

  constructor(options: KnnCosineOptions = {}) {
    this.k = options.k ?? KNN_DEFAULTS.k;
    if (!Number.isInteger(this.k) || this.k < 1) throw new UserError(`knn: k must be a positive integer, got ${options.k}`);
    const kernel = options.kernel ?? KNN_DEFAULTS.kernel;
    if (!KNN_KERNELS.includes(kernel)) throw new UserError(`knn: kernel must be 'exp' or 'exp-temperature', got '${kernel}'`);
    this.temperature = kernel === 'exp' ? 1 : (options.temperature ?? KNN_DEFAULTS.temperature);
    if (!(this.temperature > 0)) throw new UserError(`knn: temperature must be > 0, got ${options.temperature}`);
    this.excludeIds = options.excludeIds ?? [];
    this.blockElements = options.blockElements ?? 1 << 22;
    this.smoothTopK = options.smoothTopK ?? 0;
    if (!(this.smoothTopK >= 0)) throw new UserError(`knn: smoothTopK must be ≥ 0, got ${options.smoothTopK}`);
    this.featureKind = options.featureKind ?? DEFAULT_FEATURE_KIND;
    this.name = options.name ?? knnDefaultName(options);
  }

  /** Rows in the bank after exclusion. */
  get bankSize(): number {
    return this.bankRows;
  }

  fitNotes(): string[] {
    const excluded = this.excludeIds.length > 0 ? ` (${this.excludeIds.length} excluded)` : '';
    return [`bank of ${this.bankRows} rows${excluded}`];
  }

  fit({ train }: DetectorFitInput): void {
    assertUsableFeatures(train, `${this.name}: ID train set`);
    const excluded = new Set(this.excludeIds);
    if (excluded.size > 0) {
      const present = new Set(train.ids);
      const unknown = [...excluded].filter((id) => !present.has(id));
      if (unknown.length > 0) {
        throw new UserError(`${this.name}: ${unknown.length} id(s) to exclude are not in the ID train set, e.g. '${unknown[0]}'`);
      }
    }
    const dim = train.dim;
    const kept = excluded.size === 0 ? null : Int32Array.from(train.ids.flatMap((id, row) => (excluded.has(id) ? [] : [row])));
    const keep = kept ? kept.length : train.ids.length;
    if (keep < this.k) throw new UserError(`${this.name}: the bank has ${keep} rows after exclusion, fewer than k = ${this.k}`);
    const bank = new NormalisedBank(train, `${this.name}: ID train set`, kept);
    this.bank = bank;
    this.bankTransposed = null;
    this.bankRows = keep;
    this.dim = dim;
  }

  /** The k largest cosines to the bank for every query ([queries × k], unsorted within a row). */
  topCosines(features: FeatureSet): RunningTopK {
    if (!this.bank) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(this.dim, features, this.name, 'the query set');
    const queries = features.ids.length;
    const dim = this.dim;
    const normalised = l2NormalisedRows(features, `${this.name}: query set`);
    // Queries transposed once in JS to [D × Q], so every block product runs without transpose flags.
    const transposed = new Float32Array(dim * queries);
    for (let q = 0; q < queries; q++) for (let d = 0; d < dim; d++) transposed[d * queries + q] = normalised[q * dim + d]!;
    const top = new RunningTopK(queries, this.k);
    const queriesT = tf.tensor2d(transposed, [dim, queries]);
    try {
      const rowsPerBlock = Math.max(1, Math.floor(this.blockElements / queries));
      const blockValues = new Float32Array(Math.min(rowsPerBlock, this.bankRows) * dim);
      for (let start = 0; start < this.bankRows; start += rowsPerBlock) {
        const rows = Math.min(rowsPerBlock, this.bankRows - start);
        const similarities = tf.tidy(() => {
          const block = tf.tensor2d(this.bank!.copyRows(start, rows, blockValues).subarray(0, rows * dim), [rows, dim]);
          return tf.matMul(block, queriesT);
        });
        const values = similarities.dataSync() as Float32Array;
        similarities.dispose();
        top.offerBlock(values, rows);
      }
    } finally {
      queriesT.dispose();
    }
    return top;
  }

  score(features: FeatureSet): Float64Array {
    const top = this.topCosines(features);
    const out = new Float64Array(top.queries);
    const k = this.k;
    for (let q = 0; q < top.queries; q++) {
      let sum = 0;
      for (let s = 0; s < k; s++) sum += Math.exp(top.values[q * k + s]! / this.temperature);
      out[q] = sum / k;
    }
    return out;
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    if (!this.bank) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, this.dim, this.name);
    this.bankTransposed ??= this.bank.transposed();
    const { k, temperature, smoothTopK } = this;
    return tf.tidy(() => {
      const cosines = tf.matMul(unitRowsTensor(features), tf.tensor2d(this.bankTransposed!, [this.dim, this.bankRows])) as tf.Tensor2D;
      const kernel = tf.exp(tf.div(cosines, temperature));
      if (smoothTopK === 0) {
        // The winners' positions are data, not a function to differentiate: a constant 0/1 mask picks them.
        const winners = tf.topk(cosines, k).indices;
        const mask = tf.tensor2d(winnerMask(winners.dataSync() as Int32Array, cosines.shape[0], this.bankRows, k), [cosines.shape[0], this.bankRows]);
        return tf.div(tf.sum(tf.mul(kernel, mask), 1), k) as tf.Tensor1D;
      }
      const logits = tf.div(cosines, smoothTopK);
      let taken: tf.Tensor2D = tf.zerosLike(cosines);
      let total: tf.Tensor1D = tf.zeros([cosines.shape[0]]);
      for (let i = 0; i < k; i++) {
        const p = tf.softmax(tf.add(logits, logRemaining(taken))) as tf.Tensor2D;
        total = tf.add(total, tf.sum(tf.mul(p, kernel), 1)) as tf.Tensor1D;
        taken = tf.add(taken, p) as tf.Tensor2D;
      }
      return tf.div(total, k) as tf.Tensor1D;
    });
  }
}

/** A [rows × bank] 0/1 mask with ones at each row's k winner positions. */
function winnerMask(winners: Int32Array, rows: number, bank: number, k: number): Float32Array {
  const mask = new Float32Array(rows * bank);
  for (let r = 0; r < rows; r++) for (let s = 0; s < k; s++) mask[r * bank + winners[r * k + s]!] = 1;
  return mask;
}
