/**
 * GL-MCM, global–local maximum concept matching (Miyai, Yu, Irie & Aizawa, "GL-MCM: Global and Local Maximum
 * Concept Matching for Zero-Shot Out-of-Distribution Detection", 2023; their code, AtsuMiyai/GL-MCM,
 * utils/detection_util.py get_ood_scores_clip):
 *
 *   S(x) = max_c softmax_c(cos(g, t) / T) + λ · max_p max_c softmax_c(cos(l_p, t) / T)
 *
 * g the projected global embedding, l_p the projected local feature of patch p (the 'local-projected' feature
 * kind: how they are made is in src/models/clip/vision-tower.ts), t the class text embeddings. Defaults as in
 * their eval_ood_detection.py: T = 1, λ = 1. The first term is MCM (mcm.ts); the second finds the one region
 * most like an ID class, which is what makes GL-MCM sensitive to ID objects in cluttered scenes.
 * Text embeddings are advood's prompt ensemble (src/models/prompt-ensemble.ts), as for MCM, not the single
 * 'a photo of a {c}' of their script.
 * Needs text embeddings and per-patch features.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.js';
import type { FeatureSet } from '../data/feature-set.js';
import { LOCAL_FEATURE_KIND } from '../models/encoder.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { defineDetector } from './detector-entry.js';
import { assertUsableFeatures, l2NormalisedRows } from './shared/feature-validation.js';
import { logitScores } from './shared/logit-scores.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';

export const GL_MCM_DEFAULTS = { temperature: 1, localWeight: 1 } as const;

export interface GlMcmOptions {
  temperature?: number;
  /** λ, the weight of the local term. */
  localWeight?: number;
  name?: string;
}

export class GlMcmDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind = LOCAL_FEATURE_KIND;
  /** fit() reads only the text embeddings. */
  readonly fitFeatureKind = 'projected' as const;
  private readonly temperature: number;
  private readonly localWeight: number;
  /** Unit text embeddings, row-major [classes × D]. */
  private unitText: Float32Array | null = null;
  private classes = 0;
  private dim = 0;

  constructor(options: GlMcmOptions = {}) {
    this.name = options.name ?? 'gl-mcm';
    this.temperature = options.temperature ?? GL_MCM_DEFAULTS.temperature;
    this.localWeight = options.localWeight ?? GL_MCM_DEFAULTS.localWeight;
    if (!(this.temperature > 0)) throw new UserError(`${this.name}: temperature must be > 0, got ${options.temperature}`);
    if (!(this.localWeight >= 0)) throw new UserError(`${this.name}: localWeight must be ≥ 0, got ${options.localWeight}`);
  }

  fit({ textEmbeddings }: DetectorFitInput): void {
    if (!textEmbeddings) throw new UserError(`${this.name}: needs class text embeddings (a target with a text tower, e.g. CLIP)`);
    if (textEmbeddings.ids.length < 2) throw new UserError(`${this.name}: needs text embeddings of at least 2 classes`);
    assertUsableFeatures(textEmbeddings, `${this.name}: text embeddings`);
    this.unitText = l2NormalisedRows(textEmbeddings, `${this.name}: text embeddings`);
    this.classes = textEmbeddings.ids.length;
    this.dim = textEmbeddings.dim;
  }

  /** Rows per image (the global row and one per patch) of a 'local-projected' set; one line when it is not one. */
  private rowsPerImage(width: number): number {
    const rows = width / this.dim;
    if (!Number.isInteger(rows) || rows < 2) {
      throw new UserError(
        `${this.name}: needs per-patch features ('${LOCAL_FEATURE_KIND}': (1 + patches) × ${this.dim} values per image), got ${width} per image; ` +
          'the target has no per-patch features (GL-MCM runs on CLIP ViT targets)',
      );
    }
    return rows;
  }

  score(features: FeatureSet): Float64Array {
    const text = this.unitText;
    if (!text) throw new Error(`${this.name}: score() called before fit()`);
    const rows = this.rowsPerImage(features.dim);
    assertUsableFeatures(features, `${this.name}: query set (per-patch features)`);
    const { dim, classes } = this;
    const out = new Float64Array(features.ids.length);
    /** cos(row, text_c) of one image's global and patch rows, [rows × classes]. */
    const cosines = new Float64Array(rows * classes);
    for (let image = 0; image < features.ids.length; image++) {
      for (let r = 0; r < rows; r++) {
        const offset = (image * rows + r) * dim;
        let norm = 0;
        for (let d = 0; d < dim; d++) norm += features.vectors[offset + d]! ** 2;
        if (norm === 0) throw new UserError(`${this.name}: image ${image} ('${features.ids[image]}') has a zero ${r === 0 ? 'global' : `patch ${r}`} feature; cosine is undefined`);
        for (let c = 0; c < classes; c++) {
          let dot = 0;
          for (let d = 0; d < dim; d++) dot += features.vectors[offset + d]! * text[c * dim + d]!;
          cosines[r * classes + c] = dot / Math.sqrt(norm);
        }
      }
      const msp = logitScores(cosines, rows, classes, 'msp', this.temperature);
      out[image] = msp[0]! + this.localWeight * Math.max(...msp.subarray(1));
    }
    return out;
  }

  /** The same score as a tfjs function of the per-patch features [B, (1 + patches) · D]. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const text = this.unitText;
    if (!text) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    const rows = this.rowsPerImage(features.shape[1]);
    assertTensorDim(features, rows * this.dim, this.name);
    const { dim, classes } = this;
    const batch = features.shape[0];
    return tf.tidy(() => {
      const unit = unitRowsTensor(tf.reshape(features, [batch * rows, dim]) as tf.Tensor2D);
      const cosines = tf.matMul(unit, tf.tensor2d(transposedRows(text, classes, dim), [dim, classes]));
      const msp = tf.reshape(tf.max(tf.softmax(tf.div(cosines, this.temperature)), 1), [batch, rows]);
      const global = tf.reshape(tf.slice(msp, [0, 0], [batch, 1]), [batch]);
      const local = tf.max(tf.slice(msp, [0, 1], [batch, rows - 1]), 1);
      return tf.add(global, tf.mul(local, this.localWeight)) as tf.Tensor1D;
    });
  }
}

export const glMcmEntry = defineDetector(
  {
    name: 'gl-mcm',
    description: 'GL-MCM: MCM of the global embedding + λ · the best MCM over the patches’ local features (T = 1, λ = 1)',
    needs: { labels: false, text: true, projected: true, patches: true },
    options: [
      { name: 'temperature', type: 'number', default: GL_MCM_DEFAULTS.temperature, description: 'softmax temperature of the cosines (GL-MCM: 1)' },
      { name: 'localWeight', type: 'number', default: GL_MCM_DEFAULTS.localWeight, description: 'λ, weight of the local term (GL-MCM: 1)' },
    ],
    differentiable: true,
  },
  (read) => new GlMcmDetector({ temperature: read.number('temperature', false), localWeight: read.number('localWeight', false), name: read.name }),
);
