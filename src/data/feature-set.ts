/** Features of a whole image source, as detectors and attacks consume them. */
export interface FeatureSet {
  /** Image ids, row-aligned with vectors. */
  readonly ids: readonly string[];
  /** Class index per row, -1 when unknown. */
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  readonly dim: number;
  /** Row-major [ids.length × dim] float32. */
  readonly vectors: Float32Array;
}

/** Row i of a FeatureSet as a view (no copy). */
export function featureRow(set: FeatureSet, i: number): Float32Array {
  return set.vectors.subarray(i * set.dim, (i + 1) * set.dim);
}
