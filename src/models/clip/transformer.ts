/**
 * The pre-LN residual attention block both CLIP towers (and SigLIP's, src/models/siglip/) share (Radford et al. 2021, §2.4; open_clip's
 * ResidualAttentionBlock, HF's CLIPEncoderLayer): x + attn(ln1(x)), then + mlp(ln2(x)).
 * Built from the runtime's fast layers (FastLinear, multiHeadAttention, layerNorm, mlpActivation), whose
 * hand-written input gradients stay on wasm's fast paths. Activations are sequence-first, [T, B, W], as in
 * open_clip, because that is the layout in which attention needs the fewest transposes (fast-attention.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { mlpActivation, type MlpActivation } from '../../runtime/fast-activation.js';
import { multiHeadAttention } from '../../runtime/fast-attention.js';
import { layerNorm } from '../../runtime/fast-layer-norm.js';
import { FastLinear } from '../../runtime/fast-linear.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { CLIP_LAYER_NORM_EPS } from './clip-architecture.js';
import type { TowerWeights } from './clip-weight-map.js';

/** Takes a tower parameter and wraps it as a kept tensor of the declared shape. */
export function paramTensor(weights: TowerWeights, name: string, shape: number[]): tf.Tensor {
  return weightTensor(weights.take(name), shape);
}

export class LayerNorm {
  private readonly gamma: tf.Tensor1D;
  private readonly beta: tf.Tensor1D;

  /** eps: CLIP's 1e-5 unless a model says otherwise (SigLIP's layer_norm_eps is 1e-6). */
  constructor(weights: TowerWeights, prefix: string, width: number, private readonly eps = CLIP_LAYER_NORM_EPS) {
    this.gamma = paramTensor(weights, `${prefix}.g`, [width]) as tf.Tensor1D;
    this.beta = paramTensor(weights, `${prefix}.b`, [width]) as tf.Tensor1D;
  }

  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.gamma, this.beta, this.eps);
  }

  dispose(): void {
    tf.dispose([this.gamma, this.beta]);
  }
}

export interface BlockShape {
  width: number;
  heads: number;
  mlpDim: number;
  activation: MlpActivation;
  /** The layer norms' eps; absent: CLIP's. */
  layerNormEps?: number;
  /** Keep transposed weight copies so input gradients are fast (the vision tower). */
  inputGradient: boolean;
}

export class ResidualAttentionBlock {
  private readonly ln1: LayerNorm;
  private readonly ln2: LayerNorm;
  private readonly q: FastLinear;
  private readonly k: FastLinear;
  private readonly v: FastLinear;
  private readonly out: FastLinear;
  private readonly fc1: FastLinear;
  private readonly fc2: FastLinear;

  constructor(weights: TowerWeights, prefix: string, private readonly shape: BlockShape) {
    const { width, mlpDim, inputGradient } = shape;
    this.ln1 = new LayerNorm(weights, `${prefix}.ln1`, width, shape.layerNormEps);
    this.ln2 = new LayerNorm(weights, `${prefix}.ln2`, width, shape.layerNormEps);
    const linear = (name: string, inDim: number, outDim: number, scale = 1): FastLinear => {
      const w = weights.take(`${name}.w`);
      const b = weights.take(`${name}.b`);
      if (scale !== 1) {
        // In place: the arrays were handed over (TowerWeights.take), so no second host copy is made.
        for (let i = 0; i < w.length; i++) w[i]! *= scale;
        for (let i = 0; i < b.length; i++) b[i]! *= scale;
      }
      return new FastLinear(weightTensor(w, [inDim, outDim]) as tf.Tensor2D, weightTensor(b, [outDim]) as tf.Tensor1D, { inputGradient });
    };
    // Attention scales q·kᵀ by 1/√d_head; folding it into q's weights saves one op per block.
    this.q = linear(`${prefix}.q`, width, width, 1 / Math.sqrt(width / shape.heads));
    this.k = linear(`${prefix}.k`, width, width);
    this.v = linear(`${prefix}.v`, width, width);
    this.out = linear(`${prefix}.out`, width, width);
    this.fc1 = linear(`${prefix}.fc1`, width, mlpDim);
    this.fc2 = linear(`${prefix}.fc2`, mlpDim, width);
  }

  /**
   * x: [T, B, width], sequence-first; mask: additive [T, T] (the text tower's causal mask) or null.
   * With `firstTokenOnly`, returns only token 0's output, [1, B, width]: the vision tower's last block, whose
   * other tokens nothing reads. Token 0 still attends to every token, but its query, the output projection and
   * the MLP run on one row instead of T: for ViT-B/32 that skips 5/6 of the last block's linear FLOPs, forward
   * and backward (exact: the same values as the full block's row 0).
   */
  forward(x: tf.Tensor3D, mask: tf.Tensor2D | null, options: { firstTokenOnly?: boolean } = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const y = this.ln1.forward(x);
      const rows = options.firstTokenOnly ? tf.slice(y, [0, 0, 0], [1, -1, -1]) : y;
      const residual = options.firstTokenOnly ? tf.slice(x, [0, 0, 0], [1, -1, -1]) : x;
      const queryMask = mask && options.firstTokenOnly ? tf.slice(mask, [0, 0], [1, -1]) : mask;
      const attended = multiHeadAttention(this.q.forward(rows), this.k.forward(y), this.v.forward(y), this.shape.heads, queryMask);
      const h = tf.add(residual, this.out.forward(attended)) as tf.Tensor3D;
      const hidden = mlpActivation(this.fc1.forward(this.ln2.forward(h)), this.shape.activation);
      return tf.add(h, this.fc2.forward(hidden)) as tf.Tensor3D;
    });
  }

  /**
   * The block with each token attending only to itself: softmax over one key is 1, so attention returns the
   * token's own value, x + out(v(ln1(x))), then the MLP as usual. GL-MCM's local features (Miyai et al. 2023,
   * clip/model.py of their code: the last block's value path, after MaskCLIP, Zhou et al. ECCV 2022) come from
   * running the last block this way on the patch tokens. x: [T, B, width] → [T, B, width].
   */
  forwardSelfAttending(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = tf.add(x, this.out.forward(this.v.forward(this.ln1.forward(x)))) as tf.Tensor3D;
      const hidden = mlpActivation(this.fc1.forward(this.ln2.forward(h)), this.shape.activation);
      return tf.add(h, this.fc2.forward(hidden)) as tf.Tensor3D;
    });
  }

  /** float32 values held, for memory estimates and tests. */
  get valueCount(): number {
    return [this.q, this.k, this.v, this.out, this.fc1, this.fc2].reduce((n, l) => n + l.valueCount, 0) + 4 * this.shape.width;
  }

  dispose(): void {
    for (const part of [this.ln1, this.ln2, this.q, this.k, this.v, this.out, this.fc1, this.fc2]) part.dispose();
  }
}
