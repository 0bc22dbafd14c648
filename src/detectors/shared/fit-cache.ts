/**
 * Shares expensive fits between detectors built together: the three probe heads (MSP, energy, max-logit) train
 * one probe, and Mahalanobis / relative Mahalanobis estimate one set of class Gaussians. Entries are keyed by
 * the train FeatureSet object (weakly, so they go when the features go) and by a string describing the fit.
 */
import type { FeatureSet } from '../../data/feature-set.js';

export class FitCache {
  private readonly entries = new WeakMap<FeatureSet, Map<string, unknown>>();

  /** Returns the cached value for (train, key), computing it once. */
  async get<T>(train: FeatureSet, key: string, compute: () => T | Promise<T>): Promise<T> {
    let byKey = this.entries.get(train);
    if (!byKey) {
      byKey = new Map();
      this.entries.set(train, byKey);
    }
    if (!byKey.has(key)) byKey.set(key, Promise.resolve().then(compute));
    return (await byKey.get(key)) as T;
  }
}
