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
