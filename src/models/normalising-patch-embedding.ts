/**
 * A ViT's patch embedding with the input normalisation folded in, shared by the CLIP and DINOv2 towers:
 * ((x − μ)/σ)·W + b = x·(W/σ) + b − Σ_r (μ/σ)_r W_r, where row r of W holds channel r mod 3 (rows are (py, px, c)).
 * Saves two broadcasting passes over the whole [B, S, S, 3] input in the forward pass and two in the backward pass
 * (~15 ms per ViT-B/32 batch of 8 on wasm).
 */
import type * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../runtime/fast-linear.js';
import { weightTensor } from '../runtime/weight-tensor.js';
import type { Rgb } from './encoder.js';

/**
 * `weights` [3·p² × width] is scaled in place (it was taken from the checkpoint and is owned here); `bias` is the
 * patch embedding's own bias, null where it has none (CLIP).
 */
export function normalisingPatchEmbedding(
  weights: Float32Array,
  bias: Float32Array | null,
  width: number,
  stats: { mean: Rgb; std: Rgb },
  inputGradient: boolean,
): FastLinear {
  const rows = weights.length / width;
  const folded = bias ? Float64Array.from(bias) : new Float64Array(width); // summed over 3·p² rows: accumulate in double
  for (let r = 0; r < rows; r++) {
    const c = r % 3;
    const inv = 1 / stats.std[c]!;
    const shift = stats.mean[c]! * inv;
    for (let j = 0; j < width; j++) {
      const v = weights[r * width + j]!;
      weights[r * width + j] = v * inv;
      folded[j] -= shift * v;
    }
  }
  return new FastLinear(weightTensor(weights, [rows, width]) as tf.Tensor2D, weightTensor(Float32Array.from(folded), [width]) as tf.Tensor1D, { inputGradient });
}
