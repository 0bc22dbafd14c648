/**
 * ViM, Virtual-logit Matching (Wang, Li, Feng & Zhang, "ViM: Out-Of-Distribution with Virtual-logit Matching",
 * CVPR 2022; official code haoqiwang/vim, `benchmark.py`, method 'ViM'), on a linear classifier l(x) = x·W + b:
 * - origin u = −pinv(Wᵀ)·b, the least-norm point with l(u) = 0 (official: `u = -np.matmul(pinv(w), b)`, w = [classes × dim]);
 * - principal subspace: the top D eigenvectors of the covariance of x_train − u taken as centred
 *   (official: EmpiricalCovariance(assume_centered=True), i.e. (X − u)ᵀ(X − u)/N); NS = the other dim − D;
 *   D = 1000 if dim ≥ 2048, 512 if dim ≥ 768, else dim/2 (the official rule; option `dim` overrides), and at
 *   most half the ID train rows (the rule assumes ImageNet's 1.28M; a fit note says when it was lowered);
 * - residual r(x) = ‖(x − u)·NS‖, scaled by α = mean_train(max_c l_c) / mean_train(r) (the virtual logit);
 * - score(x) = logsumexp_c l_c(x) − α·r(x) (official: `energy − vlogit`); higher = more ID.
 *
 * Two heads: `vim` on the supervised linear probe (its input space is the standardised z = (x − mean)/std, so ViM
 * runs there; the probe comes from the FitCache, shared with the probe-* heads built alongside), and `mcm-vim` on
 * the zero-shot text head: x = unit(projected image), W = unit(text)ᵀ/T with CLIP's T = 0.01, b = 0, so u = 0.
 *
 * Everything but the tensor score is float64: the covariance is accumulated in 64-row blocks (N·dim²/2
 * multiply-adds: ~1 min for 50k × 1664 rows) and decomposed by src/core/symmetric-eigen.ts (~25 s at 1664-d).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import type { FeatureKind } from '../models/encoder.js';
import { UserError } from '../core/errors.js';
import { symmetricEigen } from '../core/symmetric-eigen.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { type DetectorOptionDoc, defineDetector } from './detector-entry.js';
import { LinearProbeDetector } from './linear-probe.js';
import { ZERO_SHOT_TEMPERATURE } from './mcm.js';
import { assertSameDim, assertUsableFeatures } from './shared/feature-validation.js';
import type { FitCache } from './shared/fit-cache.js';
import type { ProbeTrainingOptions, TrainedProbe } from './shared/linear-probe-training.js';
import { PROBE_OPTIONS, probeTrainingOptions } from './shared/probe-detector.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';

/** A fitted ViM: the classifier, its origin u, the residual basis NS and α. */
export interface VimSpace {
  dim: number;
  classes: number;
  /** D, the principal dimensions left out of the residual. */
  principalDim: number;
  /** The official rule's D when a small train set lowered it (see fitVimSpace), else null. */
  loweredFrom: number | null;
  /** Row-major [dim × classes]. */
  weights: Float64Array;
  bias: Float64Array;
  origin: Float64Array;
  /** Row-major [(dim − D) × dim]: row j is the (D + j)-th eigenvector of the covariance. */
  residualBasis: Float64Array;
  alpha: number;
}

/** The official rule for D (haoqiwang/vim benchmark.py: `DIM = 1000 if feature_id_val.shape[-1] >= 2048 else 512`, dim/2 for small dims). */
export function defaultPrincipalDim(dim: number): number {
  if (dim >= 2048) return 1000;
  if (dim >= 768) return 512;
  return Math.floor(dim / 2);
}

/**
 * Eigenvalues of WᵀW (as a [classes × classes] Gram) below this fraction of the largest count as zero in the
 * pseudo-inverse: the Gram's eigenvalues are only accurate to ~1e-16 of the largest, so this resolves singular
 * values of W down to 1e-6 of the largest (numpy's pinv keeps them down to 1e-15, a difference only for a
 * near-singular classifier).
 */
const PINV_CUTOFF = 1e-12;

/** u = −pinv(w)·b for w = Wᵀ: pinv(w) = wᵀ (w wᵀ)⁺ and w wᵀ = WᵀW is classes × classes, small. */
function classifierOrigin(weights: Float64Array, bias: Float64Array, dim: number, classes: number): Float64Array {
  const origin = new Float64Array(dim);
  if (bias.every((b) => b === 0)) return origin;
  const gram = new Float64Array(classes * classes);
  for (let d = 0; d < dim; d++) {
    const row = d * classes;
    for (let c = 0; c < classes; c++) for (let k = 0; k <= c; k++) gram[c * classes + k]! += weights[row + c]! * weights[row + k]!;
  }
  const { values, vectors } = symmetricEigen(gram, classes);
  // y = (WᵀW)⁺ b = Σ_λ>cut q (q·b) / λ, then u = −W y.
  const y = new Float64Array(classes);
  for (let e = 0; e < classes && values[e]! > PINV_CUTOFF * values[0]!; e++) {
    const q = vectors.subarray(e * classes, (e + 1) * classes);
    const coefficient = q.reduce((sum, v, c) => sum + v * bias[c]!, 0) / values[e]!;
    for (let c = 0; c < classes; c++) y[c]! += coefficient * q[c]!;
  }
  for (let d = 0; d < dim; d++) origin[d] = -weights.subarray(d * classes, (d + 1) * classes).reduce((sum, w, c) => sum + w * y[c]!, 0);
  return origin;
}

/** Lower triangle of (X − u)ᵀ(X − u)/N, accumulated over 64-row blocks transposed so each entry is one contiguous dot. */
function centredCovariance(rows: Float64Array, count: number, dim: number, origin: Float64Array): Float64Array {
  const covariance = new Float64Array(dim * dim);
  const blockRows = 64;
  const block = new Float64Array(dim * blockRows);
  for (let start = 0; start < count; start += blockRows) {
    const b = Math.min(blockRows, count - start);
    for (let i = 0; i < b; i++) for (let d = 0; d < dim; d++) block[d * b + i] = rows[(start + i) * dim + d]! - origin[d]!;
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = 0;
        for (let t = 0; t < b; t++) sum += block[i * b + t]! * block[j * b + t]!;
        covariance[i * dim + j]! += sum;
      }
    }
  }
  for (let i = 0; i < dim; i++) for (let j = 0; j <= i; j++) covariance[i * dim + j]! /= count;
  return covariance;
}

/** Logits, logsumexp and residual norm of one row, in float64. */
function rowTerms(space: VimSpace, x: Float64Array, centred: Float64Array, logits: Float64Array): { maxLogit: number; energy: number; residual: number } {
  const { dim, classes, weights, bias, origin, residualBasis } = space;
  logits.set(bias);
  for (let d = 0; d < dim; d++) {
    const xd = x[d]!;
    for (let c = 0; c < classes; c++) logits[c]! += xd * weights[d * classes + c]!;
    centred[d] = xd - origin[d]!;
  }
  let maxLogit = -Infinity;
  for (const l of logits) maxLogit = Math.max(maxLogit, l);
  const energy = maxLogit + Math.log(logits.reduce((sum, l) => sum + Math.exp(l - maxLogit), 0));
  let residualSq = 0;
  for (let j = 0; j < dim - space.principalDim; j++) {
    const basis = residualBasis.subarray(j * dim, (j + 1) * dim);
    const projection = basis.reduce((sum, v, d) => sum + v * centred[d]!, 0);
    residualSq += projection * projection;
  }
  return { maxLogit, energy, residual: Math.sqrt(residualSq) };
}

function eachRow(space: VimSpace, rows: Float64Array, count: number, visit: (terms: ReturnType<typeof rowTerms>, r: number) => void): void {
  const centred = new Float64Array(space.dim);
  const logits = new Float64Array(space.classes);
  for (let r = 0; r < count; r++) visit(rowTerms(space, rows.subarray(r * space.dim, (r + 1) * space.dim), centred, logits), r);
}

/** Fits ViM on the classifier-input rows [count × dim] of the ID train set. `what` names the detector in errors. */
export function fitVimSpace(
  rows: Float64Array,
  count: number,
  classifier: { weights: ArrayLike<number>; bias: ArrayLike<number>; dim: number; classes: number },
  principalDim: number | undefined,
  what: string,
): VimSpace {
  const { dim, classes } = classifier;
  // The official rule assumes ImageNet's train set; with fewer rows than 2·D the covariance's rank leaves the
  // "residual" of the train rows in directions they barely span, so the default is lowered to half the rows.
  const official = defaultPrincipalDim(dim);
  const D = principalDim ?? Math.max(1, Math.min(official, Math.floor(count / 2)));
  if (!Number.isInteger(D) || D < 1 || D >= dim) throw new UserError(`${what}: dim (principal dimensions D) must be an integer in [1, ${dim - 1}] for ${dim}-d features, got ${D}`);
  const weights = Float64Array.from(classifier.weights);
  const bias = Float64Array.from(classifier.bias);
  const origin = classifierOrigin(weights, bias, dim, classes);
  const { vectors } = symmetricEigen(centredCovariance(rows, count, dim, origin), dim);
  const loweredFrom = principalDim === undefined && D < official ? official : null;
  const space: VimSpace = { dim, classes, principalDim: D, loweredFrom, weights, bias, origin, residualBasis: vectors.slice(D * dim), alpha: 0 };
  let maxLogitSum = 0;
  let residualSum = 0;
  let normSum = 0;
  eachRow(space, rows, count, ({ maxLogit, residual }, r) => {
    maxLogitSum += maxLogit;
    residualSum += residual;
    for (let d = 0; d < dim; d++) normSum += (rows[r * dim + d]! - origin[d]!) ** 2;
  });
  // A train set of rank ≤ D (fewer rows than D) leaves only rounding in the residual, and α would be noise.
  if (!(residualSum > 1e-6 * Math.sqrt(normSum))) {
    throw new UserError(`${what}: the ID train set has no residual beyond its top ${D} principal dimensions (${count} rows, rank ≤ ${D}?); lower the dim option`);
  }
  space.alpha = maxLogitSum / residualSum;
  return space;
}

/** logsumexp(l(x)) − α·‖(x − u)·NS‖ for classifier-input rows [count × dim]. */
export function vimScores(space: VimSpace, rows: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count);
  eachRow(space, rows, count, ({ energy, residual }, r) => (out[r] = energy - space.alpha * residual));
  return out;
}

/** The residual's squared norm is floored here before the sqrt, so its gradient stays finite at r = 0. */
const RESIDUAL_SQ_FLOOR = 1e-12;

/** The same score as a tfjs function of classifier inputs [B × dim] (float32). */
export function vimScoreTensor(space: VimSpace, inputs: tf.Tensor2D): tf.Tensor1D {
  const residualDims = space.dim - space.principalDim;
  const basisT = transposedRows(space.residualBasis, residualDims, space.dim);
  return tf.tidy(() => {
    const logits = tf.add(tf.matMul(inputs, tf.tensor2d(Float32Array.from(space.weights), [space.dim, space.classes])), tf.tensor1d(Float32Array.from(space.bias)));
    const projection = tf.matMul(tf.sub(inputs, tf.tensor1d(Float32Array.from(space.origin))), tf.tensor2d(basisT, [space.dim, residualDims]));
    const residual = tf.sqrt(tf.maximum(tf.sum(tf.square(projection), 1), RESIDUAL_SQ_FLOOR));
    return tf.sub(tf.logSumExp(logits, 1), tf.mul(residual, space.alpha)) as tf.Tensor1D;
  });
}

function vimNotes(space: VimSpace | null): string[] {
  if (!space) return [];
  const lowered = space.loweredFrom === null ? '' : ` (the rule's ${space.loweredFrom}, lowered to half the ID train rows)`;
  return [`principal subspace D = ${space.principalDim} of ${space.dim}${lowered}`, `α = ${space.alpha.toPrecision(4)}`];
}

/** (x − mean) / std of every row in float64: the probe's classifier input. */
function standardised64(features: FeatureSet, probe: TrainedProbe): Float64Array {
  const { dim } = probe;
  return Float64Array.from(features.vectors, (v, i) => (v - probe.mean[i % dim]!) / probe.std[i % dim]!);
}

export interface VimOptions {
  /** D; default defaultPrincipalDim(dim). */
  principalDim?: number;
  training?: Omit<ProbeTrainingOptions, 'onEpoch'>;
  featureKind?: FeatureKind;
  name?: string;
  cache?: FitCache;
}

/** ViM on the supervised linear probe (needs labels). */
export class VimDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  private readonly probe: LinearProbeDetector;
  private readonly principalDim: number | undefined;
  private space: VimSpace | null = null;

  constructor(options: VimOptions = {}) {
    this.name = options.name ?? 'vim';
    this.principalDim = options.principalDim;
    // The probe-* heads' own detector, on the same cache key: built together they train one probe.
    this.probe = new LinearProbeDetector({ head: 'energy', training: options.training, featureKind: options.featureKind, name: this.name, cache: options.cache });
    this.featureKind = this.probe.featureKind;
  }

  fitNotes(): string[] {
    return vimNotes(this.space);
  }

  async fit(input: DetectorFitInput): Promise<void> {
    await this.probe.fit(input);
    const probe = this.probe.trained!;
    this.space = fitVimSpace(standardised64(input.train, probe), input.train.ids.length, probe, this.principalDim, this.name);
  }

  score(features: FeatureSet): Float64Array {
    const probe = this.probe.trained;
    if (!this.space || !probe) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(probe.dim, features, this.name, 'the query set');
    return vimScores(this.space, standardised64(features, probe), features.ids.length);
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const probe = this.probe.trained;
    if (!this.space || !probe) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, probe.dim, this.name);
    const space = this.space;
    return tf.tidy(() => vimScoreTensor(space, tf.div(tf.sub(features, tf.tensor1d(probe.mean)), tf.tensor1d(probe.std)) as tf.Tensor2D));
  }
}

/** Unit rows in float64; a zero row has no direction. */
function unitRows64(set: FeatureSet, what: string): Float64Array {
  const out = Float64Array.from(set.vectors);
  for (let r = 0; r < set.ids.length; r++) {
    const row = out.subarray(r * set.dim, (r + 1) * set.dim);
    const norm = Math.hypot(...row);
    if (norm === 0) throw new UserError(`${what}: row ${r} ('${set.ids[r]}') is the zero vector; cosine similarity is undefined`);
    row.forEach((v, d) => (row[d] = v / norm));
  }
  return out;
}

export interface McmVimOptions {
  principalDim?: number;
  /** T of the cosine logits; default 0.01 (CLIP's logit scale 100, as the zero-shot energy head). */
  temperature?: number;
  name?: string;
}

/** ViM on the zero-shot head: logits cos(x, text_c)/T, no bias (needs text and projected features). */
export class McmVimDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind = 'projected' as const;
  private readonly principalDim: number | undefined;
  private readonly temperature: number;
  private space: VimSpace | null = null;

  constructor(options: McmVimOptions = {}) {
    this.name = options.name ?? 'mcm-vim';
    this.principalDim = options.principalDim;
    this.temperature = options.temperature ?? ZERO_SHOT_TEMPERATURE.energy;
    if (!(this.temperature > 0)) throw new UserError(`${this.name}: temperature must be > 0, got ${options.temperature}`);
  }

  fitNotes(): string[] {
    return vimNotes(this.space);
  }

  fit({ train, textEmbeddings }: DetectorFitInput): void {
    if (!textEmbeddings) throw new UserError(`${this.name}: needs class text embeddings (a target with a text tower, e.g. CLIP)`);
    if (textEmbeddings.ids.length < 2) throw new UserError(`${this.name}: needs text embeddings of at least 2 classes`);
    assertUsableFeatures(textEmbeddings, `${this.name}: text embeddings`);
    assertUsableFeatures(train, `${this.name}: ID train set`);
    assertSameDim(textEmbeddings.dim, train, this.name, 'the ID train set (projected features)');
    const { dim } = train;
    const classes = textEmbeddings.ids.length;
    const text = unitRows64(textEmbeddings, `${this.name}: text embeddings`);
    const weights = Float64Array.from({ length: dim * classes }, (_, i) => text[(i % classes) * dim + Math.floor(i / classes)]! / this.temperature);
    const classifier = { weights, bias: new Float64Array(classes), dim, classes };
    this.space = fitVimSpace(unitRows64(train, `${this.name}: ID train set`), train.ids.length, classifier, this.principalDim, this.name);
  }

  score(features: FeatureSet): Float64Array {
    if (!this.space) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(this.space.dim, features, this.name, 'the query set (projected features)');
    return vimScores(this.space, unitRows64(features, `${this.name}: query set`), features.ids.length);
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    if (!this.space) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, this.space.dim, this.name);
    const space = this.space;
    return tf.tidy(() => vimScoreTensor(space, unitRowsTensor(features)));
  }
}

const DIM_OPTION: DetectorOptionDoc = {
  name: 'dim',
  type: 'integer',
  default: null,
  description: 'principal dimensions D (default, the official rule: 1000 if the input is ≥ 2048-d, 512 if ≥ 768-d, else half; at most half the ID train rows)',
};

export const vimEntry = defineDetector(
  {
    name: 'vim',
    description: 'ViM on the linear probe: energy of its logits minus α·‖residual off the top-D principal subspace‖ (Wang et al., CVPR 2022)',
    needs: { labels: true, text: false, projected: false },
    options: [...PROBE_OPTIONS, DIM_OPTION],
    differentiable: true,
  },
  (read, shared) => new VimDetector({ principalDim: read.number('dim', true), training: probeTrainingOptions(read), featureKind: read.featureKind, name: read.name, cache: shared }),
);

export const mcmVimEntry = defineDetector(
  {
    name: 'mcm-vim',
    description: 'ViM on the zero-shot head: energy of cos(projected image, class text)/T minus α·residual (T = 0.01, u = 0)',
    needs: { labels: false, text: true, projected: true },
    options: [{ name: 'temperature', type: 'number', default: ZERO_SHOT_TEMPERATURE.energy, description: 'temperature of the cosine logits (0.01: CLIP’s logit scale 100)' }, DIM_OPTION],
    differentiable: true,
  },
  (read) => new McmVimDetector({ principalDim: read.number('dim', true), temperature: read.number('temperature', false), name: read.name }),
);
