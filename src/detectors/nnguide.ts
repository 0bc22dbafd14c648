/**
 * NNGuide, Nearest Neighbor Guidance (Park, Jung & Teoh, "Nearest Neighbor Guidance for Out-of-Distribution
 * Detection", ICCV 2023; official code roomo7time/nnguide, `ood_detectors/nnguide.py`):
 * - bank: one row per ID train image, unit(feature) scaled by its classifier confidence energy = logsumexp(logits)
 *   (T = 1; features L2-normalised as in the official `model_engines/assets.py`);
 * - guidance(x) = mean of the k largest inner products unit(x)·bank_j (the official `knn_score`: faiss
 *   IndexFlatIP, mean of the k distances), k = 10 (`configs/detector/nnguide.yaml`);
 * - score(x) = energy(x) · guidance(x); higher = more ID.
 * The classifier is the supervised linear probe (needs labels), taken from the FitCache like the probe-* heads',
 * so built together they train one probe. The paper subsamples ImageNet's train set for the bank; `bankFraction`
 * < 1 keeps a seeded random subset (default 1: every row).
 *
 * score() streams the bank in blocks through tfjs matMul with a running top-k, as k-NN does (knn-cosine.ts);
 * scoreTensor holds the whole bank, and its top-k is a constant 0/1 mask of the winners (differentiable except
 * where a winner changes).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import type { FeatureKind } from '../models/encoder.js';
import { UserError } from '../core/errors.js';
import { SeededRandom } from '../core/seeded-random.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { defineDetector } from './detector-entry.js';
import { LinearProbeDetector } from './linear-probe.js';
import { l2NormalisedRows } from './shared/feature-validation.js';
import type { FitCache } from './shared/fit-cache.js';
import type { ProbeTrainingOptions } from './shared/linear-probe-training.js';
import { logitScores } from './shared/logit-scores.js';
import { PROBE_OPTIONS, probeTrainingOptions } from './shared/probe-detector.js';
import { RunningTopK } from './shared/running-top-k.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';

export const NNGUIDE_DEFAULTS = { k: 10, bankFraction: 1, bankSeed: 0 } as const;

export interface NnGuideOptions {
  k?: number;
  /** Fraction of the ID train rows in the bank, in (0, 1]. */
  bankFraction?: number;
  /** Seed of the subsample when bankFraction < 1. */
  bankSeed?: number;
  training?: Omit<ProbeTrainingOptions, 'onEpoch'>;
  featureKind?: FeatureKind;
  name?: string;
  cache?: FitCache;
  /** Upper bound on the elements of one similarity block (bank rows × queries). Default 2^22. */
  blockElements?: number;
}

export class NnGuideDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  private readonly k: number;
  private readonly bankFraction: number;
  private readonly bankSeed: number;
  private readonly blockElements: number;
  /** The probe-energy head: its score() and scoreTensor() are NNGuide's energy term. */
  private readonly energy: LinearProbeDetector;
  /** Row-major [bankRows × dim] scaled bank, and its [dim × bankRows] transpose for products without transpose flags. */
  private bankTransposed: Float32Array | null = null;
  private bankRows = 0;
  private dim = 0;

  constructor(options: NnGuideOptions = {}) {
    this.name = options.name ?? 'nnguide';
    this.k = options.k ?? NNGUIDE_DEFAULTS.k;
    if (!Number.isInteger(this.k) || this.k < 1) throw new UserError(`${this.name}: k must be a positive integer, got ${options.k}`);
    this.bankFraction = options.bankFraction ?? NNGUIDE_DEFAULTS.bankFraction;
    if (!(this.bankFraction > 0 && this.bankFraction <= 1)) throw new UserError(`${this.name}: bankFraction must be in (0, 1], got ${options.bankFraction}`);
    this.bankSeed = options.bankSeed ?? NNGUIDE_DEFAULTS.bankSeed;
    this.blockElements = options.blockElements ?? 1 << 22;
    this.energy = new LinearProbeDetector({ head: 'energy', training: options.training, featureKind: options.featureKind, name: this.name, cache: options.cache });
    this.featureKind = this.energy.featureKind;
  }

  fitNotes(): string[] {
    return [`bank of ${this.bankRows} rows scaled by their energy, k = ${this.k}`];
  }

  async fit(input: DetectorFitInput): Promise<void> {
    await this.energy.fit(input);
    const { train } = input;
    const rows = this.bankIndices(train.ids.length);
    if (this.k > rows.length) throw new UserError(`${this.name}: k = ${this.k} is more than the ${rows.length} rows of the bank`);
    const confidences = this.energy.score(train);
    const unit = l2NormalisedRows(train, `${this.name}: ID train set`);
    const { dim } = train;
    // Stored transposed [dim × bank]: both score paths multiply unit queries by it directly.
    const bankT = new Float32Array(dim * rows.length);
    rows.forEach((r, j) => {
      for (let d = 0; d < dim; d++) bankT[d * rows.length + j] = unit[r * dim + d]! * confidences[r]!;
    });
    this.bankTransposed = bankT;
    this.bankRows = rows.length;
    this.dim = dim;
  }

  /** Every train row, or a seeded subset of round(fraction · rows) of them in train order. */
  private bankIndices(rows: number): Int32Array {
    if (this.bankFraction === 1) return Int32Array.from({ length: rows }, (_, i) => i);
    const kept = Math.max(1, Math.round(this.bankFraction * rows));
    return new SeededRandom(this.bankSeed).permutation(rows).subarray(0, kept).sort();
  }

  /** Mean of the k largest unit(x)·bank_j per query, the bank streamed in column blocks. */
  private guidance(features: FeatureSet): Float64Array {
    const queries = features.ids.length;
    const top = new RunningTopK(queries, this.k);
    const bankT = this.bankTransposed!;
    const blockColumns = Math.max(1, Math.floor(this.blockElements / queries));
    const unit = tf.tensor2d(l2NormalisedRows(features, `${this.name}: query set`), [queries, this.dim]);
    try {
      for (let start = 0; start < this.bankRows; start += blockColumns) {
        const columns = Math.min(blockColumns, this.bankRows - start);
        const slice = new Float32Array(this.dim * columns);
        for (let d = 0; d < this.dim; d++) slice.set(bankT.subarray(d * this.bankRows + start, d * this.bankRows + start + columns), d * columns);
        // [queries × columns] products, handed to the running top-k as [columns × queries] (bank rows first).
        const products = tf.tidy(() => tf.transpose(tf.matMul(unit, tf.tensor2d(slice, [this.dim, columns]))));
        top.offerBlock(products.dataSync() as Float32Array, columns);
        products.dispose();
      }
    } finally {
      unit.dispose();
    }
    return Float64Array.from({ length: queries }, (_, q) => top.values.subarray(q * this.k, (q + 1) * this.k).reduce((a, v) => a + v, 0) / this.k);
  }

  score(features: FeatureSet): Float64Array {
    if (!this.bankTransposed) throw new Error(`${this.name}: score() called before fit()`);
    // The probe head checks the query set (finite, same dimension) before the bank sees it.
    const energy = this.energy.score(features);
    const guidance = this.guidance(features);
    return energy.map((e, q) => e * guidance[q]!);
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    if (!this.bankTransposed) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, this.dim, this.name);
    const { k, bankRows } = this;
    return tf.tidy(() => {
      const products = tf.matMul(unitRowsTensor(features), tf.tensor2d(this.bankTransposed!, [this.dim, bankRows])) as tf.Tensor2D;
      // Which bank rows win is data, not a function to differentiate (TopK has no gradient): the indices are read
      // back and enter as constants, one-hot rows summed into a 0/1 mask.
      const indices = tf.tensor2d(tf.topk(products, k).indices.dataSync() as Int32Array, [products.shape[0], k], 'int32');
      const winners = tf.sum(tf.oneHot(indices, bankRows), 1);
      const guidance = tf.div(tf.sum(tf.mul(products, winners), 1), k);
      return tf.mul(this.energy.scoreTensor(features), guidance) as tf.Tensor1D;
    });
  }
}

export const nnGuideEntry = defineDetector(
  {
    name: 'nnguide',
    description: 'NNGuide: probe energy × mean of the top-k inner products with the energy-scaled unit train bank (Park et al., ICCV 2023)',
    needs: { labels: true, text: false, projected: false },
    options: [
      ...PROBE_OPTIONS,
      { name: 'k', type: 'integer', default: NNGUIDE_DEFAULTS.k, description: 'nearest bank rows averaged (official config: 10)' },
      { name: 'bankFraction', type: 'number', default: NNGUIDE_DEFAULTS.bankFraction, description: 'fraction of the ID train rows in the bank (seeded subsample below 1)' },
      { name: 'bankSeed', type: 'integer', default: NNGUIDE_DEFAULTS.bankSeed, description: 'seed of the bank subsample' },
    ],
    differentiable: true,
  },
  (read, shared) =>
    new NnGuideDetector({
      k: read.number('k', true),
      bankFraction: read.number('bankFraction', false),
      bankSeed: read.number('bankSeed', true),
      training: probeTrainingOptions(read),
      featureKind: read.featureKind,
      name: read.name,
      cache: shared,
    }),
);
