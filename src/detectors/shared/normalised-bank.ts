/**
 * The unit-norm rows of an ID train feature set without a second copy of it: the set itself (shared by every
 * detector fitted on it) plus one scale per row and the rows kept, normalised block by block as they are read.
 * At ImageNet scale the copy was the cost: 1.28 M × 1664 float32 is 8.5 GB, once more for each k-NN variant
 * (knn-1, knn-1-no-targets, the temperature kernel). The values equal l2NormalisedRows' bit for bit: the same
 * float64 sum of squares, the same float32 products.
 */
import { UserError } from '../../core/errors.js';
import type { FeatureSet } from '../../data/feature-set.js';

export class NormalisedBank {
  readonly rows: number;
  readonly dim: number;
  private readonly scales: Float64Array;

  /** `kept`: the set's rows in the bank, in order; null = all. */
  constructor(
    private readonly set: FeatureSet,
    what: string,
    private readonly kept: Int32Array | null,
  ) {
    this.dim = set.dim;
    this.rows = kept ? kept.length : set.ids.length;
    this.scales = new Float64Array(this.rows);
    for (let r = 0; r < this.rows; r++) {
      const row = this.sourceRow(r);
      const offset = row * this.dim;
      let sum = 0;
      for (let d = 0; d < this.dim; d++) sum += set.vectors[offset + d]! * set.vectors[offset + d]!;
      if (sum === 0) throw new UserError(`${what}: row ${row} ('${set.ids[row]}') is the zero vector; cosine similarity is undefined`);
      this.scales[r] = 1 / Math.sqrt(sum);
    }
  }

  private sourceRow(r: number): number {
    return this.kept ? this.kept[r]! : r;
  }

  /** Bank rows [start, start + count) normalised into `out` (count × dim values). */
  copyRows(start: number, count: number, out: Float32Array): Float32Array {
    const { dim } = this;
    const vectors = this.set.vectors;
    for (let i = 0; i < count; i++) {
      const scale = this.scales[start + i]!;
      const from = this.sourceRow(start + i) * dim;
      const to = i * dim;
      for (let d = 0; d < dim; d++) out[to + d] = vectors[from + d]! * scale;
    }
    return out;
  }

  /** The whole bank as [dim × rows] (scoreTensor's layout), built without the row-major copy. */
  transposed(): Float32Array {
    const { dim, rows } = this;
    const out = new Float32Array(rows * dim);
    const vectors = this.set.vectors;
    for (let r = 0; r < rows; r++) {
      const scale = this.scales[r]!;
      const from = this.sourceRow(r) * dim;
      for (let d = 0; d < dim; d++) out[d * rows + r] = Math.fround(vectors[from + d]! * scale);
    }
    return out;
  }
}
