/**
 * A linear layer whose *input* gradient stays on the fast matmul path.
 *
 * On wasm, `matMul` with transposeA/transposeB leaves XNNPACK and runs ~10× slower (~3 vs ~30–45 GFLOP/s,
 * measured with tfjs-backend-wasm 4.22 on 1 thread), and tfjs's own matMul gradient uses exactly those flags. It also computes the gradient of the
 * weights, which an attack never needs. So `FastLinear` keeps its weight in both orientations ([in,out] for the
 * forward pass, [out,in] for dx), both products are plain 2-D matmuls (XNNPACK caches the packed weight per
 * tensor, so each orientation is packed once), and its custom gradient returns only dx.
 * (Attention's per-head products are in grouped-matmul.ts / fast-attention.ts.)
 *
 * libtensorflow (the tensorflow backends) multiplies by a transposed operand at full speed, so there the copy
 * would only double the weights' memory (bigG's vision tower: 7.4 GB more): it is made on wasm alone.
 */
import * as tf from '@tensorflow/tfjs';

export interface FastLinearOptions {
  /**
   * The layer will be differentiated w.r.t. its input. On wasm this keeps a transposed copy of the weight for dx,
   * at the weight's memory once more; towers that are never differentiated (the text tower) leave it off and fall
   * back to a transposed matmul if asked for dx.
   */
  inputGradient: boolean;
}

/** Only wasm's XNNPACK path loses its speed on a transposed operand (see above). */
function transposedMatMulIsSlow(): boolean {
  return tf.getBackend() === 'wasm';
}

/** y = x·W + b over the last axis of x, for x of any rank ≥ 2. */
export class FastLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly weight: tf.Tensor2D; // [in, out]
  private readonly weightT: tf.Tensor2D | null; // [out, in]
  private readonly bias: tf.Tensor1D | null;
  private readonly apply: (x: tf.Tensor) => tf.Tensor;

  /**
   * @param weightInOut weight laid out [in, out] (PyTorch's nn.Linear stores [out, in]: transpose it once at load).
   *   The layer takes ownership of the tensors it is given.
   */
  constructor(weightInOut: tf.Tensor2D, bias: tf.Tensor1D | null, options: FastLinearOptions) {
    const [inFeatures, outFeatures] = weightInOut.shape;
    if (bias && bias.shape[0] !== outFeatures) {
      throw new Error(`FastLinear: bias has ${bias.shape[0]} entries for ${outFeatures} outputs`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = weightInOut;
    this.bias = bias;
    this.weightT = options.inputGradient && transposedMatMulIsSlow() ? tf.keep(tf.transpose(weightInOut)) : null;
    const weight = this.weight;
    const weightT = this.weightT;
    this.apply = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x = args[0] as tf.Tensor;
      const inputShape = x.shape;
      const flat = tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D;
      // The fused form adds the bias inside XNNPACK's GEMM: one kernel and one output buffer fewer.
      const y2 = bias ? tf.fused.matMul({ a: flat, b: weight, bias }) : tf.matMul(flat, weight);
      const value = tf.reshape(y2, [...inputShape.slice(0, -1), outFeatures]);
      return {
        value,
        // Only dx: W and b are constants to the attack, so their gradients are never computed.
        gradFunc: (dy: tf.Tensor) => {
          const dyFlat = tf.reshape(dy, [-1, outFeatures]) as tf.Tensor2D;
          const dx = weightT ? tf.matMul(dyFlat, weightT) : tf.matMul(dyFlat, weight, false, true);
          return [tf.reshape(dx, inputShape)];
        },
      };
    }) as (x: tf.Tensor) => tf.Tensor;
  }

  forward<T extends tf.Tensor>(x: T): T {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`FastLinear: input has ${x.shape[x.rank - 1]} features, layer expects ${this.inFeatures}`);
    }
    return this.apply(x) as T;
  }

  /** Number of float32 values held (weight, its transposed copy, bias). */
  get valueCount(): number {
    return this.weight.size * (this.weightT ? 2 : 1) + (this.bias?.size ?? 0);
  }

  dispose(): void {
    this.weight.dispose();
    this.weightT?.dispose();
    this.bias?.dispose();
  }
}
