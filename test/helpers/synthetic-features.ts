/** Small FeatureSets for detector and report tests. */
import type { FeatureSet } from '../../src/data/feature-set.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

export function featureSet(rows: readonly (readonly number[])[], options: { prefix?: string; labels?: readonly number[]; classNames?: readonly string[] } = {}): FeatureSet {
  const prefix = options.prefix ?? 'r';
  return {
    ids: rows.map((_, i) => `${prefix}${i}`),
    labels: options.labels ? Int32Array.from(options.labels) : new Int32Array(rows.length).fill(-1),
    classNames: options.classNames ?? [],
    dim: rows[0]?.length ?? 0,
    vectors: Float32Array.from(rows.flat()),
  };
}

/** `perClass` rows around each of `means`, isotropic noise of `sigma`, labelled by class. */
export function gaussianClusters(random: SeededRandom, means: readonly (readonly number[])[], perClass: number, sigma: number, prefix = 'r'): FeatureSet {
  const rows: number[][] = [];
  const labels: number[] = [];
  means.forEach((mean, c) => {
    for (let i = 0; i < perClass; i++) {
      rows.push(mean.map((m) => m + sigma * random.nextGaussian()));
      labels.push(c);
    }
  });
  return featureSet(rows, { prefix, labels, classNames: means.map((_, c) => `class${c}`) });
}

/**
 * The same images as 'local-projected' rows (src/models/encoder.ts): each row's vector as the global embedding,
 * followed by `patches` local features scattered around it with noise of `sigma`, for detectors that read patches.
 */
export function withPatches(set: FeatureSet, patches: number, sigma: number, random: SeededRandom): FeatureSet {
  const { dim } = set;
  const vectors = new Float32Array(set.ids.length * (1 + patches) * dim);
  for (let r = 0; r < set.ids.length; r++) {
    const row = set.vectors.subarray(r * dim, (r + 1) * dim);
    for (let p = 0; p <= patches; p++) {
      const offset = (r * (1 + patches) + p) * dim;
      for (let d = 0; d < dim; d++) vectors[offset + d] = row[d]! + (p === 0 ? 0 : sigma * random.nextGaussian());
    }
  }
  return { ...set, dim: (1 + patches) * dim, vectors };
}
