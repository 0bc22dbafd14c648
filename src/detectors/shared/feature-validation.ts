/**
 * Input checks shared by every detector, so that bad features fail with a message that names the set and
 * row instead of turning into NaN scores.
 */
import type { FeatureSet } from '../../data/feature-set.js';
import { UserError } from '../../core/errors.js';

/** Non-empty, consistent shape and only finite values. `what` names the set in the message. */
export function assertUsableFeatures(set: FeatureSet, what: string): void {
  const rows = set.ids.length;
  if (rows === 0) throw new UserError(`${what}: the feature set is empty`);
  if (!Number.isInteger(set.dim) || set.dim <= 0) throw new UserError(`${what}: feature dimension ${set.dim} is not a positive integer`);
  if (set.vectors.length !== rows * set.dim) {
    throw new UserError(`${what}: ${set.vectors.length} values do not make ${rows} rows of ${set.dim}`);
  }
  if (set.labels.length !== rows) throw new UserError(`${what}: ${set.labels.length} labels for ${rows} rows`);
  const v = set.vectors;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      const row = Math.floor(i / set.dim);
      throw new UserError(`${what}: row ${row} ('${set.ids[row]}') has a non-finite value (${v[i]}) at dimension ${i % set.dim}`);
    }
  }
}

/** Queries must live in the space the detector was fitted in. */
export function assertSameDim(expected: number, set: FeatureSet, detector: string, what: string): void {
  if (set.dim !== expected) {
    throw new UserError(`${detector}: ${what} has ${set.dim}-d features but the detector was fitted on ${expected}-d features`);
  }
}

/** Two feature sets that must describe the same images in the same order (e.g. pre-projection and projected). */
export function assertRowAligned(a: FeatureSet, b: FeatureSet, what: string): void {
  if (a.ids.length !== b.ids.length) throw new UserError(`${what}: ${a.ids.length} rows vs ${b.ids.length} rows`);
  for (let i = 0; i < a.ids.length; i++) {
    if (a.ids[i] !== b.ids[i]) throw new UserError(`${what}: row ${i} is '${a.ids[i]}' in one set and '${b.ids[i]}' in the other`);
  }
}

/** Labels in [0, classes) for every row; the detector needs them. */
export function assertLabelled(set: FeatureSet, detector: string): number {
  if (set.labels.length === 0) throw new UserError(`${detector}: needs class labels, but the ID train set is empty`);
  let classes = set.classNames.length;
  for (let i = 0; i < set.labels.length; i++) {
    const label = set.labels[i]!;
    if (label < 0) throw new UserError(`${detector}: needs class labels, but row ${i} ('${set.ids[i]}') of the ID train set has none`);
    classes = Math.max(classes, label + 1);
  }
  return classes;
}

/** Unit-norm copy of the rows, in float32; a zero row cannot have a direction and is an error. */
export function l2NormalisedRows(set: FeatureSet, what: string): Float32Array {
  const { dim } = set;
  const out = new Float32Array(set.vectors.length);
  for (let r = 0; r < set.ids.length; r++) {
    let sum = 0;
    const offset = r * dim;
    for (let d = 0; d < dim; d++) sum += set.vectors[offset + d]! * set.vectors[offset + d]!;
    if (sum === 0) throw new UserError(`${what}: row ${r} ('${set.ids[r]}') is the zero vector; cosine similarity is undefined`);
    const scale = 1 / Math.sqrt(sum);
    for (let d = 0; d < dim; d++) out[offset + d] = set.vectors[offset + d]! * scale;
  }
  return out;
}
