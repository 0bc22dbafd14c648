/**
 * What an attack maximises, per item, from the features of x + δ. The attack loop (feature-collision.ts) is the
 * same for every objective: loss = Σ_i (−objective_i + penalty_i) / B, the same constraints, optimisers, early
 * stop and 8-bit finish.
 *
 * - `feature-collision` (the default, the paper's): cos(f(x + δ), t_i), early stop at the preset's threshold.
 * - `detector:SPEC` (an adaptive attack, Carlini et al. 2019; Tramèr et al. 2020): the ID score of a fitted
 *   detector, higher = more ID. The pipeline builds it from the detector (src/pipeline/detector-objective.ts);
 *   attacks/ only sees this interface.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../src/core/errors.js';
import type { FeatureKind } from '../src/models/encoder.js';

export const FEATURE_COLLISION_OBJECTIVE = 'feature-collision';
const DETECTOR_PREFIX = 'detector:';

export interface AttackObjective {
  /** 'feature-collision' or 'detector:<spec>', as given on the command line. */
  readonly name: string;
  /** The representation the objective reads; the attack encodes x + δ in it. */
  readonly features: FeatureKind;
  /** Per-item early stop once the objective reaches this value; null runs every step. */
  readonly threshold: number | null;
  /** Objective per row [B] of features [B,D]; unitTargets [B,D] are the items' unit-norm targets. Differentiable. */
  value(features: tf.Tensor2D, unitTargets: tf.Tensor2D): tf.Tensor1D;
}

/** The detector spec of 'detector:SPEC', or null for the feature-collision objective. An unknown form is an error. */
export function parseObjective(text: string, flag = '--objective'): { detectorSpec: string | null } {
  if (text === FEATURE_COLLISION_OBJECTIVE) return { detectorSpec: null };
  if (text.startsWith(DETECTOR_PREFIX) && text.length > DETECTOR_PREFIX.length) return { detectorSpec: text.slice(DETECTOR_PREFIX.length) };
  throw new UserError(`${flag} ${JSON.stringify(text)}: expected '${FEATURE_COLLISION_OBJECTIVE}' or 'detector:NAME' (e.g. detector:knn, detector:mahalanobis)`);
}

export function detectorObjectiveName(detectorSpec: string): string {
  return `${DETECTOR_PREFIX}${detectorSpec}`;
}

/** Rows of x [B,D] scaled to unit L2 norm (the attack targets' form; a zero row stays zero). */
export function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** Row-wise cosine between features [B,D] and unit targets [B,D] → [B]. */
export function rowCosine(features: tf.Tensor2D, unitTargets: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const norms = tf.maximum(tf.norm(features, 'euclidean', 1), 1e-12);
    return tf.div(tf.sum(tf.mul(features, unitTargets), 1), norms) as tf.Tensor1D;
  });
}

/** The paper's objective: cos(f(x + δ), t), stopping an item once cos ≥ threshold. */
export function featureCollisionObjective(features: FeatureKind, threshold: number | null): AttackObjective {
  return { name: FEATURE_COLLISION_OBJECTIVE, features, threshold, value: rowCosine };
}
