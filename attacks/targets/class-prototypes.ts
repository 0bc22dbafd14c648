/**
 * Class prototypes: per class, the mean of the L2-normalised ID features. Used as targets ('prototype',
 * 'nearest-prototype') and to name the nearest ID class of an image before and after the attack.
 */
import type { FeatureSet } from '../../src/data/feature-set.js';
import { UserError } from '../../src/core/errors.js';

export interface ClassPrototypes {
  readonly classNames: readonly string[];
  readonly dim: number;
  /** Mean of normalised features per class (not renormalised); null for classes without images. */
  readonly means: readonly (Float32Array | null)[];
  /** The same, L2-normalised, for cosine look-ups. */
  readonly units: readonly (Float32Array | null)[];
}

export function unitVector(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return v.map((x) => x / norm);
}

export function classPrototypes(set: FeatureSet): ClassPrototypes {
  const classes = set.classNames.length;
  if (classes === 0) throw new UserError(`ID features of '${set.ids[0] ?? 'an empty source'}…' have no class labels; prototypes need a labelled ID source`);
  // Sums only for the classes that have rows: a ClassLabel may name far more classes than the source holds
  // images of, and a dense [classes, dim] table would be sized by the metadata rather than by the data.
  const sums = new Map<number, { sum: Float64Array; count: number }>();
  for (let row = 0; row < set.ids.length; row++) {
    const label = set.labels[row]!;
    if (label < 0) continue;
    const unit = unitVector(set.vectors.subarray(row * set.dim, (row + 1) * set.dim));
    let entry = sums.get(label);
    if (!entry) sums.set(label, (entry = { sum: new Float64Array(set.dim), count: 0 }));
    for (let d = 0; d < set.dim; d++) entry.sum[d]! += unit[d]!;
    entry.count++;
  }
  const means: (Float32Array | null)[] = new Array<Float32Array | null>(classes).fill(null);
  for (const [label, { sum, count }] of sums) means[label] = Float32Array.from(sum, (x) => x / count);
  return { classNames: set.classNames, dim: set.dim, means, units: means.map((m) => (m ? unitVector(m) : null)) };
}

/** Cosine between a vector and a unit vector. */
function cosineToUnit(v: Float32Array, unit: Float32Array): number {
  let dot = 0;
  let norm = 0;
  for (let d = 0; d < v.length; d++) {
    dot += v[d]! * unit[d]!;
    norm += v[d]! * v[d]!;
  }
  return dot / (Math.sqrt(norm) || 1);
}

/** The class whose prototype is closest in cosine, with that cosine; -1 when no class has images. */
export function nearestClass(prototypes: ClassPrototypes, feature: Float32Array): { index: number; cos: number } {
  let best = { index: -1, cos: -Infinity };
  prototypes.units.forEach((unit, c) => {
    if (!unit) return;
    const cos = cosineToUnit(feature, unit);
    if (cos > best.cos) best = { index: c, cos };
  });
  return best;
}
