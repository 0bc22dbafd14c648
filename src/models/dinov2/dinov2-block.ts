/**
 * DINOv2's transformer block (transformers' Dinov2Layer): pre-LN, with a per-channel layer scale λ on each branch,
 *   h = x + λ₁ ⊙ out(attn(ln1(x))),   y = h + λ₂ ⊙ ffn(ln2(h)),
 * and an FFN that is fc1 → GELU → fc2 or SwiGLU, down(silu(gate(x)) ⊙ up(x)) (the giant model).
 * λ ⊙ (x·W + b) = x·(W·diag λ) + λ ⊙ b, so each layer scale is folded into the columns of the branch's last linear
 * layer at load: no extra op per block, forward or backward. Activations are sequence-first, [T, B, W], as the
 * runtime's attention expects (src/runtime/fast-attention.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mlpActivation } from '../../runtime/fast-activation.js';
import { multiHeadAttention } from '../../runtime/fast-attention.js';
import { layerNorm } from '../../runtime/fast-layer-norm.js';
import { FastLinear } from '../../runtime/fast-linear.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import type { TowerWeights } from '../tower-weights.js';
import type { Dinov2Architecture } from './dinov2-architecture.js';

export class Dinov2LayerNorm {
  private readonly gamma: tf.Tensor1D;
  private readonly beta: tf.Tensor1D;

  constructor(weights: TowerWeights, prefix: string, width: number, private readonly eps: number) {
    this.gamma = weightTensor(weights.take(`${prefix}.g`), [width]) as tf.Tensor1D;
    this.beta = weightTensor(weights.take(`${prefix}.b`), [width]) as tf.Tensor1D;
  }

  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.gamma, this.beta, this.eps);
  }

  dispose(): void {
    tf.dispose([this.gamma, this.beta]);
  }
}

/** Reads `${name}.w` [in, out] and `${name}.b`, scaling output column j by columnScale[j] (in place: the arrays were handed over). */
function linearLayer(weights: TowerWeights, name: string, inDim: number, outDim: number, options: { inputGradient: boolean; scale?: number; columnScale?: Float32Array }): FastLinear {
  const w = weights.take(`${name}.w`);
  const b = weights.take(`${name}.b`);
  const { scale = 1, columnScale } = options;
  if (scale !== 1 || columnScale) {
    for (let i = 0; i < w.length; i++) w[i]! *= scale * (columnScale ? columnScale[i % outDim]! : 1);
    for (let j = 0; j < b.length; j++) b[j]! *= scale * (columnScale ? columnScale[j]! : 1);
  }
  return new FastLinear(weightTensor(w, [inDim, outDim]) as tf.Tensor2D, weightTensor(b, [outDim]) as tf.Tensor1D, { inputGradient: options.inputGradient });
}

export class Dinov2Block {
  private readonly ln1: Dinov2LayerNorm;
  private readonly ln2: Dinov2LayerNorm;
  private readonly q: FastLinear;
  private readonly k: FastLinear;
  private readonly v: FastLinear;
  private readonly out: FastLinear;
  /** fc1 (MLP) or gate + up (SwiGLU), then fc2 / down with λ₂ folded in. */
  private readonly ffnIn: FastLinear[];
  private readonly ffnOut: FastLinear;

  constructor(weights: TowerWeights, prefix: string, private readonly arch: Dinov2Architecture, inputGradient: boolean) {
    const { width: W, heads, ffnHidden: H } = arch;
    this.ln1 = new Dinov2LayerNorm(weights, `${prefix}.ln1`, W, arch.layerNormEps);
    // Attention scales q·kᵀ by 1/√d_head; folding it into q's weights saves one op per block.
    this.q = linearLayer(weights, `${prefix}.q`, W, W, { inputGradient, scale: 1 / Math.sqrt(W / heads) });
    this.k = linearLayer(weights, `${prefix}.k`, W, W, { inputGradient });
    this.v = linearLayer(weights, `${prefix}.v`, W, W, { inputGradient });
    // take() hands parameters out in any order: the layer scales are read before the layers they fold into.
    this.out = linearLayer(weights, `${prefix}.out`, W, W, { inputGradient, columnScale: weights.take(`${prefix}.scale1`) });
    this.ln2 = new Dinov2LayerNorm(weights, `${prefix}.ln2`, W, arch.layerNormEps);
    const scale2 = weights.take(`${prefix}.scale2`);
    if (arch.ffn === 'mlp') {
      this.ffnIn = [linearLayer(weights, `${prefix}.fc1`, W, H, { inputGradient })];
      this.ffnOut = linearLayer(weights, `${prefix}.fc2`, H, W, { inputGradient, columnScale: scale2 });
    } else {
      this.ffnIn = [linearLayer(weights, `${prefix}.gate`, W, H, { inputGradient }), linearLayer(weights, `${prefix}.up`, W, H, { inputGradient })];
      this.ffnOut = linearLayer(weights, `${prefix}.down`, H, W, { inputGradient, columnScale: scale2 });
    }
  }

  private ffn(x: tf.Tensor3D): tf.Tensor3D {
    const [first, up] = this.ffnIn as [FastLinear, FastLinear | undefined];
    const hidden = up ? tf.mul(mlpActivation(first.forward(x), 'silu'), up.forward(x)) : mlpActivation(first.forward(x), 'gelu');
    return this.ffnOut.forward(hidden) as tf.Tensor3D;
  }

  /**
   * x: [T, B, W] → [T, B, W]. With `firstTokenOnly`, only token 0's output, [1, B, W] (the pooled CLS token of the
   * last block: its query, output projection and FFN then run on one row; exact, as in src/models/clip/transformer.ts).
   */
  forward(x: tf.Tensor3D, options: { firstTokenOnly?: boolean } = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const y = this.ln1.forward(x);
      const rows = options.firstTokenOnly ? tf.slice(y, [0, 0, 0], [1, -1, -1]) : y;
      const residual = options.firstTokenOnly ? tf.slice(x, [0, 0, 0], [1, -1, -1]) : x;
      const attended = multiHeadAttention(this.q.forward(rows), this.k.forward(y), this.v.forward(y), this.arch.heads, null);
      const h = tf.add(residual, this.out.forward(attended)) as tf.Tensor3D;
      return tf.add(h, this.ffn(this.ln2.forward(h))) as tf.Tensor3D;
    });
  }

  dispose(): void {
    for (const part of [this.ln1, this.ln2, this.q, this.k, this.v, this.out, ...this.ffnIn, this.ffnOut]) part.dispose();
  }
}
