/**
 * Zero-shot detectors on the cosine logits cos(projected image embedding, class text embedding):
 * - `mcm`: MCM / zero-shot MSP (Ming et al., NeurIPS 2022), max_c softmax(logits / T), with T = 1, the setting
 *   of Adaloglou et al.'s code (TMLR 2024);
 * - `mcm-energy`, `mcm-max-logit`, `mcm-gen`: the energy, max-logit and GEN heads (shared/logit-scores.ts) on
 *   the same logits, the zero-shot baselines of the CLIP-OOD papers that compare with MCM.
 * Needs projected features and text embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import { UserError } from '../core/errors.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { assertSameDim, l2NormalisedRows } from './shared/feature-validation.js';
import { type DetectorOptionDoc, defineDetector } from './detector-entry.js';
import { LOGIT_SCORE_NAMES, type LogitScoreName, logitScores, logitScoresTensor } from './shared/logit-scores.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';
import { zeroShotLogits } from './shared/zero-shot-logits.js';

export interface McmOptions {
  /** Which score of the cosine logits. Default 'msp' (MCM itself). */
  head?: LogitScoreName;
  /** Temperature of the head. Default: ZERO_SHOT_TEMPERATURE of the head. */
  temperature?: number;
  name?: string;
}

/**
 * T per head. MCM: T = 1, the MSP of the raw cosines, as in MCM's and Adaloglou et al.'s code. The other heads:
 * T = 0.01, i.e. CLIP's own logit scale 100 (logit_scale = log 100 in the released checkpoints), the logits
 * the CLIP-OOD papers take energy and GEN of: at T = 1 the softmax over cosines in [−1, 1] is near uniform, and
 * an image equally close to every class (cos 0.58 to each of 3) outscores an ID image (cos 1 to its own class) on
 * energy. Max-logit does not depend on T.
 */
export const ZERO_SHOT_TEMPERATURE: Readonly<Record<LogitScoreName, number>> = { msp: 1, energy: 0.01, 'max-logit': 1, gen: 0.01 };

const optionsOf = (head: LogitScoreName): readonly DetectorOptionDoc[] =>
  head === 'max-logit' ? [] : [{ name: 'temperature', type: 'number', default: ZERO_SHOT_TEMPERATURE[head], description: 'temperature of the cosine logits (0.01: CLIP’s logit scale 100)' }];

export class McmDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind = 'projected' as const;
  private readonly temperature: number;
  private readonly head: LogitScoreName;
  private text: FeatureSet | null = null;

  constructor(options: McmOptions = {}) {
    this.head = options.head ?? 'msp';
    this.name = options.name ?? zeroShotName(this.head);
    this.temperature = options.temperature ?? ZERO_SHOT_TEMPERATURE[this.head];
    if (!(this.temperature > 0)) throw new UserError(`${this.name}: temperature must be > 0, got ${options.temperature}`);
  }

  fit({ textEmbeddings }: DetectorFitInput): void {
    if (!textEmbeddings) throw new UserError(`${this.name}: needs class text embeddings (a target with a text tower, e.g. CLIP)`);
    if (textEmbeddings.ids.length < 2) throw new UserError(`${this.name}: needs text embeddings of at least 2 classes`);
    this.text = textEmbeddings;
  }

  score(features: FeatureSet): Float64Array {
    if (!this.text) throw new Error(`${this.name}: score() called before fit()`);
    assertSameDim(this.text.dim, features, this.name, 'the query set (projected features)');
    const classes = this.text.ids.length;
    const logits = zeroShotLogits(features, this.text, this.name);
    return logitScores(logits, features.ids.length, classes, this.head, this.temperature);
  }

  /** The head on cos(x, text_c) as a tfjs function of the projected features: unit(x) · unit(text)ᵀ. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const text = this.text;
    if (!text) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, text.dim, this.name);
    const classes = text.ids.length;
    const unitTextT = transposedRows(l2NormalisedRows(text, `${this.name}: text embeddings`), classes, text.dim);
    return tf.tidy(() => {
      const logits = tf.matMul(unitRowsTensor(features), tf.tensor2d(unitTextT, [text.dim, classes])) as tf.Tensor2D;
      return logitScoresTensor(logits, this.head, this.temperature);
    });
  }
}

/** 'mcm' for MCM's MSP head, 'mcm-<head>' for the others. */
function zeroShotName(head: LogitScoreName): string {
  return head === 'msp' ? 'mcm' : `mcm-${head}`;
}

const HEAD_DESCRIPTIONS: Readonly<Record<LogitScoreName, string>> = {
  msp: 'MCM / zero-shot MSP: max softmax of cos(projected image, class text embeddings) at T = 1',
  energy: 'zero-shot energy: T · logsumexp of cos(projected image, class text embeddings) / T, at CLIP’s scale T = 0.01',
  'max-logit': 'zero-shot max-logit: the largest cos(projected image, class text embedding)',
  gen: 'zero-shot GEN: minus the generalized entropy (γ = 0.1, top 100) of softmax(cos / T), T = 0.01',
};

/** One entry per head of the cosine logits. */
export const zeroShotEntries = LOGIT_SCORE_NAMES.map((head) =>
  defineDetector(
    { name: zeroShotName(head), description: HEAD_DESCRIPTIONS[head], needs: { labels: false, text: true, projected: true }, options: optionsOf(head), differentiable: true },
    (read) => new McmDetector({ head, temperature: head === 'max-logit' ? undefined : read.number('temperature', false), name: read.name }),
  ),
);
