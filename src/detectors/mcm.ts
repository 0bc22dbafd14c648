/**
 * MCM / zero-shot MSP (Ming et al. 2022, as in DESIGN.md): logits = cos(projected image embedding, class text
 * embedding); score = max_c softmax(logits / T) with T = 1, the setting DESIGN.md takes from the authors' code.
 * Needs projected features and text embeddings.
 */
import type { FeatureSet } from '../data/feature-set.js';
import { UserError } from '../core/errors.js';
import type { Detector, DetectorFitInput } from './detector.js';
import { assertSameDim } from './feature-validation.js';
import { logitScores } from './logit-scores.js';
import { zeroShotLogits } from './zero-shot-logits.js';

export interface McmOptions {
  /** Softmax temperature. Default 1. */
  temperature?: number;
  name?: string;
}

export class McmDetector implements Detector {
  readonly name: string;
  readonly featureKind = 'projected' as const;
  private readonly temperature: number;
  private text: FeatureSet | null = null;

  constructor(options: McmOptions = {}) {
    this.name = options.name ?? 'mcm';
    this.temperature = options.temperature ?? 1;
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
}
