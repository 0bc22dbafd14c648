/**
 * Small row helpers for the detectors' tensor scores (scoreTensor), the differentiable twins of their
 * float64 score() paths.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Row-major [D × rows] copy of row-major [rows × D] values, so that a product runs without matMul's transpose
 * flags (they leave the fast XNNPACK path on wasm: src/runtime/fast-linear.ts).
 */
export function transposedRows(values: ArrayLike<number>, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) out[d * rows + r] = values[r * dim + d]!;
  return out;
}

/** Unit-norm rows of a feature tensor [B,D] (differentiable; a zero row stays zero instead of NaN). */
export function unitRowsTensor(features: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(features, tf.maximum(tf.norm(features, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** Throws unless features [B,D] have the fitted dimension (a programming error: the attack encodes them). */
export function assertTensorDim(features: tf.Tensor2D, dim: number, detector: string): void {
  if (features.rank !== 2 || features.shape[1] !== dim) {
    throw new Error(`${detector}: scoreTensor got features of shape [${features.shape.join(', ')}], expected [B, ${dim}]`);
  }
}
