/**
 * EVA-02's transformer block as timm's EvaBlock computes it for the CLIP towers (timm models/eva.py with
 * scale_attn_inner, swiglu_mlp and scale_mlp; no layer scale):
 *   h = x + proj(LN_attn(attn(rope(q), rope(k), v))),   q, k, v from LN₁(x) (k without bias),
 *   y = h + fc2(LN_mlp(silu(fc1_g(z)) ⊙ fc1_x(z))),      z = LN₂(h),
 * the two inner LayerNorms being the "sub-LN" of Normformer (Shleifer et al. 2021). Activations are sequence-first,
 * [T, B, W], as the runtime's attention expects (src/runtime/fast-attention.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mlpActivation } from '../../runtime/fast-activation.js';
import { multiHeadAttention } from '../../runtime/fast-attention.js';
import { FastLinear } from '../../runtime/fast-linear.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { LayerNorm } from '../clip/transformer.js';
import type { TowerWeights } from '../tower-weights.js';
import { EVA02_LAYER_NORM_EPS, type EvaVisionArchitecture } from './eva-architecture.js';
import { rotate, type RotaryTables } from './eva-rotary.js';

function linearLayer(weights: TowerWeights, name: string, inDim: number, outDim: number, options: { inputGradient: boolean; bias?: boolean; scale?: number }): FastLinear {
  const w = weights.take(`${name}.w`);
  const b = options.bias === false ? null : weights.take(`${name}.b`);
  const scale = options.scale ?? 1;
  if (scale !== 1) {
    // In place: the arrays were handed over (TowerWeights.take).
    for (let i = 0; i < w.length; i++) w[i]! *= scale;
    if (b) for (let i = 0; i < b.length; i++) b[i]! *= scale;
  }
  return new FastLinear(weightTensor(w, [inDim, outDim]) as tf.Tensor2D, b && (weightTensor(b, [outDim]) as tf.Tensor1D), { inputGradient: options.inputGradient });
}

export class EvaBlock {
  private readonly ln1: LayerNorm;
  private readonly q: FastLinear;
  private readonly k: FastLinear;
  private readonly v: FastLinear;
  private readonly attnLn: LayerNorm;
  private readonly out: FastLinear;
  private readonly ln2: LayerNorm;
  private readonly gate: FastLinear;
  private readonly up: FastLinear;
  private readonly mlpLn: LayerNorm;
  private readonly down: FastLinear;

  constructor(weights: TowerWeights, prefix: string, private readonly vision: EvaVisionArchitecture, private readonly rotary: RotaryTables, inputGradient: boolean) {
    const { width: W, heads, mlpDim: H } = vision;
    const eps = EVA02_LAYER_NORM_EPS;
    this.ln1 = new LayerNorm(weights, `${prefix}.ln1`, W, eps);
    // Attention scales q·kᵀ by 1/√d_head; folded into q's weights (rotation is linear, so it commutes with the scale).
    this.q = linearLayer(weights, `${prefix}.q`, W, W, { inputGradient, scale: 1 / Math.sqrt(W / heads) });
    this.k = linearLayer(weights, `${prefix}.k`, W, W, { inputGradient, bias: false });
    this.v = linearLayer(weights, `${prefix}.v`, W, W, { inputGradient });
    this.attnLn = new LayerNorm(weights, `${prefix}.attn_ln`, W, eps);
    this.out = linearLayer(weights, `${prefix}.out`, W, W, { inputGradient });
    this.ln2 = new LayerNorm(weights, `${prefix}.ln2`, W, eps);
    this.gate = linearLayer(weights, `${prefix}.gate`, W, H, { inputGradient });
    this.up = linearLayer(weights, `${prefix}.up`, W, H, { inputGradient });
    this.mlpLn = new LayerNorm(weights, `${prefix}.mlp_ln`, H, eps);
    this.down = linearLayer(weights, `${prefix}.down`, H, W, { inputGradient });
  }

  /**
   * x: [T, B, W] → [T, B, W]. With `firstTokenOnly`, only the CLS token's output, [1, B, W]: the last block's, whose
   * other tokens nothing reads (exact, as in src/models/clip/transformer.ts). The CLS query is not rotated.
   */
  forward(x: tf.Tensor3D, options: { firstTokenOnly?: boolean } = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const y = this.ln1.forward(x);
      const queries = options.firstTokenOnly ? this.q.forward(tf.slice(y, [0, 0, 0], [1, -1, -1])) : rotate(this.q.forward(y), this.rotary);
      const residual = options.firstTokenOnly ? tf.slice(x, [0, 0, 0], [1, -1, -1]) : x;
      const attended = multiHeadAttention(queries, rotate(this.k.forward(y), this.rotary), this.v.forward(y), this.vision.heads, null);
      const h = tf.add(residual, this.out.forward(this.attnLn.forward(attended))) as tf.Tensor3D;
      const z = this.ln2.forward(h);
      const hidden = tf.mul(mlpActivation(this.gate.forward(z), 'silu'), this.up.forward(z)) as tf.Tensor3D;
      return tf.add(h, this.down.forward(this.mlpLn.forward(hidden))) as tf.Tensor3D;
    });
  }

  dispose(): void {
    for (const part of [this.ln1, this.q, this.k, this.v, this.attnLn, this.out, this.ln2, this.gate, this.up, this.mlpLn, this.down]) part.dispose();
  }
}
