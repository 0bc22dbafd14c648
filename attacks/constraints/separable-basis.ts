/**
 * Separable linear maps on images: out[b,:,:,c] = Lᵀ · v[b,:,:,c] · R for fixed matrices L [P×M], R [Q×N].
 *
 * Both low-frequency parametrisations are of this form (bilinear upsampling: L = R = Uᵀ; DCT synthesis from the
 * k×k lowest coefficients: L = R = D_k), and so is the 2-D DCT analysis used for the energy statistic
 * (L = R = Dᵀ). Everything is plain 2-D matmuls of constant, pre-built matrices: no FFT (missing on wasm) and
 * no transposeA/B flags in the forward pass (~10x slower on wasm: src/runtime/fast-linear.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** [B,P,Q,C] → [B,M,N,C] with out = Lᵀ v R per image and channel. */
export function applySeparable(v: tf.Tensor4D, left: tf.Tensor2D, right: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, p, q, c] = v.shape;
    const [lp, m] = left.shape;
    const [rq, n] = right.shape;
    if (lp !== p || rq !== q) throw new Error(`applySeparable: input ${p}×${q} does not match maps ${lp}×${m}, ${rq}×${n}`);
    // Rows first: [B,C,P,Q]·R → [B,C,P,N].
    const channelsFirst = tf.transpose(v, [0, 3, 1, 2]).reshape([b * c * p, q]);
    const rowsDone = tf.matMul(channelsFirst, right).reshape([b * c, p, n]);
    // Then columns: transpose to [B·C,N,P]·L → [B·C,N,M].
    const colsFirst = tf.transpose(rowsDone, [0, 2, 1]).reshape([b * c * n, p]);
    const both = tf.matMul(colsFirst, left).reshape([b, c, n, m]);
    return tf.transpose(both, [0, 3, 2, 1]) as tf.Tensor4D;
  });
}

/**
 * Orthonormal DCT-II matrix D [size×size]: D[u][i] = α(u)·cos(π(2i+1)u / 2N), α(0) = √(1/N), α(u>0) = √(2/N).
 * Rows are the basis vectors, so coefficients are D·x and the inverse is Dᵀ·c.
 */
export function dctMatrix(size: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let u = 0; u < size; u++) {
    const alpha = Math.sqrt((u === 0 ? 1 : 2) / size);
    for (let i = 0; i < size; i++) out[u * size + i] = alpha * Math.cos((Math.PI * (2 * i + 1) * u) / (2 * size));
  }
  return out;
}

/**
 * Bilinear upsampling matrix U [outSize×inSize] with half-pixel centres and edge clamping, i.e. PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False) and tf.image.resizeBilinear(halfPixelCenters=true).
 */
export function bilinearUpsampleMatrix(outSize: number, inSize: number): Float32Array {
  const out = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const source = Math.max((i + 0.5) * scale - 0.5, 0);
    const lower = Math.min(Math.floor(source), inSize - 1);
    const upper = Math.min(lower + 1, inSize - 1);
    const frac = source - lower;
    out[i * inSize + lower] += 1 - frac;
    out[i * inSize + upper] += frac;
  }
  return out;
}

/** Transpose of a row-major [rows×cols] matrix, as a tensor [cols×rows]. */
export function transposedTensor(matrix: Float32Array, rows: number, cols: number): tf.Tensor2D {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = matrix[r * cols + c];
  return tf.tensor2d(out, [cols, rows]);
}
