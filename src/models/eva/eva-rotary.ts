/**
 * EVA-02's 2-D rotary position embedding (timm layers/pos_embed_sincos.py: RotaryEmbeddingCat with in_pixels False,
 * applied by apply_rot_embed_cat), rebuilt from its formula. Per head of width d, with n = d/4 frequencies
 * ω_k = temperature^(−k/n), a patch at row r and column c of a g × g grid has the angles
 *   θ = [r·R/g · ω_0 … ω_{n−1},  c·R/g · ω_0 … ω_{n−1}],  each repeated twice (channels 2i and 2i+1 share θ_i),
 * where R is the reference grid the model was trained at. A query or key x of the patch is rotated pairwise:
 *   x' = x ⊙ cos θ + rot(x) ⊙ sin θ,  rot(x)_{2i} = −x_{2i+1},  rot(x)_{2i+1} = x_{2i}.
 * The CLS token is not rotated (timm skips the prefix tokens): its row has cos 1 and sin 0, so one elementwise pass
 * covers every token. The heads are contiguous slices of the width and all share the same angles.
 */
import * as tf from '@tensorflow/tfjs';
import { weightTensor } from '../../runtime/weight-tensor.js';

export interface RotaryTables {
  /** cos θ, [T, 1, W] for the tokens [CLS, patches in row-major order]. */
  readonly cos: tf.Tensor3D;
  /** sin θ with rot()'s sign folded in (− on even channels), [T, 1, W]. */
  readonly signedSin: tf.Tensor3D;
}

export function rotaryTables(options: { grid: number; heads: number; headWidth: number; referenceGrid: number; temperature: number }): RotaryTables {
  const { grid, heads, headWidth: d, referenceGrid, temperature } = options;
  if (d % 4) throw new Error(`rotary positions need a head width divisible by 4, got ${d}`);
  const n = d / 4;
  const width = heads * d;
  const tokens = grid * grid + 1;
  const cos = new Float32Array(tokens * width);
  const signedSin = new Float32Array(tokens * width);
  cos.fill(1, 0, width);
  const frequency = Array.from({ length: n }, (_, k) => temperature ** (-k / n));
  for (let p = 0; p < grid * grid; p++) {
    const along = [Math.floor(p / grid) * (referenceGrid / grid), (p % grid) * (referenceGrid / grid)];
    const row = (p + 1) * width;
    for (let j = 0; j < d; j++) {
      const i = j >> 1;
      const angle = along[i < n ? 0 : 1]! * frequency[i % n]!;
      const c = Math.cos(angle);
      const s = (j % 2 === 0 ? -1 : 1) * Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        cos[row + h * d + j] = c;
        signedSin[row + h * d + j] = s;
      }
    }
  }
  return { cos: weightTensor(cos, [tokens, 1, width]) as tf.Tensor3D, signedSin: weightTensor(signedSin, [tokens, 1, width]) as tf.Tensor3D };
}

/** x: [T, B, W], sequence-first as the tables → x rotated. Differentiable (reverse's gradient is reverse). */
export function rotate(x: tf.Tensor3D, tables: RotaryTables): tf.Tensor3D {
  return tf.tidy(() => {
    const [tokens, batch, width] = x.shape;
    // Swapping each channel pair is a reverse over an axis of 2: rot(x) = swapped ⊙ (−1, +1).
    const swapped = tf.reshape(tf.reverse(tf.reshape(x, [tokens, batch, width / 2, 2]), 3), [tokens, batch, width]);
    return tf.add(tf.mul(x, tables.cos), tf.mul(swapped, tables.signedSin)) as tf.Tensor3D;
  });
}

export function disposeRotaryTables(tables: RotaryTables): void {
  tf.dispose([tables.cos, tables.signedSin]);
}
