/**
 * MCM / zero-shot MSP (Ming et al. 2022): logits = cos(projected image embedding, class text embedding);
 * score = max_c softmax(logits / T) with T = 1, the setting of Adaloglou et al.'s code (TMLR 2024).
 * Needs projected features and text embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import { UserError } from '../core/errors.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { assertSameDim, l2NormalisedRows } from './shared/feature-validation.js';
import { type DetectorOptionDoc, defineDetector } from './detector-entry.js';
import { logitScores, logitScoresTensor } from './shared/logit-scores.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';
import { zeroShotLogits } from './shared/zero-shot-logits.js';

export interface McmOptions {
  /** Softmax temperature. Default 1. */
  temperature?: number;
  name?: string;
}

/** T = 1: MSP of the raw cosine logits, as in the authors' code. */
export const MCM_DEFAULTS = { temperature: 1 } as const;

const MCM_OPTIONS: readonly DetectorOptionDoc[] = [{ name: 'temperature', type: 'number', default: MCM_DEFAULTS.temperature, description: 'softmax temperature' }];

export class McmDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind = 'projected' as const;
  private readonly temperature: number;
  private text: FeatureSet | null = null;

  constructor(options: McmOptions = {}) {
    this.name = options.name ?? 'mcm';
    this.temperature = options.temperature ?? MCM_DEFAULTS.temperature;
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
    return logitScores(logits, features.ids.length, classes, 'msp', this.temperature);
  }

  /** MSP of cos(x, text_c) as a tfjs function of the projected features: unit(x) · unit(text)ᵀ. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const text = this.text;
    if (!text) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, text.dim, this.name);
    const classes = text.ids.length;
    const unitTextT = transposedRows(l2NormalisedRows(text, `${this.name}: text embeddings`), classes, text.dim);
    return tf.tidy(() => {
      const logits = tf.matMul(unitRowsTensor(features), tf.tensor2d(unitTextT, [text.dim, classes])) as tf.Tensor2D;
      return logitScoresTensor(logits, 'msp', this.temperature);
    });
  }
}

export const mcmEntry = defineDetector(
  {
    name: 'mcm',
    description: 'MCM / zero-shot MSP: max softmax of cos(projected image, class text embeddings) at T = 1',
    needs: { labels: false, text: true, projected: true },
    options: MCM_OPTIONS,
    differentiable: true,
  },
  (read) => new McmDetector({ temperature: read.number('temperature', false), name: read.name }),
);
