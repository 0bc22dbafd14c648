/**
 * The pre-LN residual attention block both CLIP towers share (Radford et al. 2021, §2.4; open_clip's
 * ResidualAttentionBlock, HF's CLIPEncoderLayer): x + attn(ln1(x)), then + mlp(ln2(x)).
 * Built from FastLinear and batchedMatMul so that input gradients stay on wasm's fast matmul path.
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear, batchedMatMul } from '../../runtime/fast-linear.js';
import { CLIP_LAYER_NORM_EPS, type ClipActivation } from './clip-architecture.js';

/** Looks up a tower parameter and wraps it as a kept tensor of the declared shape. */
export function paramTensor(weights: ReadonlyMap<string, Float32Array>, name: string, shape: number[]): tf.Tensor {
  const values = weights.get(name);
  if (!values) throw new Error(`tower parameter '${name}' was not loaded`);
  return tf.keep(tf.tensor(values, shape, 'float32'));
}

export class LayerNorm {
  private readonly gamma: tf.Tensor1D;
  private readonly beta: tf.Tensor1D;

  constructor(weights: ReadonlyMap<string, Float32Array>, prefix: string, width: number) {
    this.gamma = paramTensor(weights, `${prefix}.g`, [width]) as tf.Tensor1D;
    this.beta = paramTensor(weights, `${prefix}.b`, [width]) as tf.Tensor1D;
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const mean = tf.mean(x, -1, true);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const normalised = tf.mul(centered, tf.rsqrt(tf.add(variance, CLIP_LAYER_NORM_EPS)));
      return tf.add(tf.mul(normalised, this.gamma), this.beta) as T;
    });
  }

  dispose(): void {
    tf.dispose([this.gamma, this.beta]);
  }
}

/** QuickGELU x·σ(1.702x) (OpenAI's approximation) or exact GELU x·Φ(x) = ½x(1 + erf(x/√2)). */
export function activate(x: tf.Tensor, kind: ClipActivation): tf.Tensor {
  return tf.tidy(() => {
    if (kind === 'quick_gelu') return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  });
}

export interface BlockShape {
  width: number;
  heads: number;
  mlpDim: number;
  activation: ClipActivation;
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
  private readonly headDim: number;

  constructor(weights: ReadonlyMap<string, Float32Array>, prefix: string, private readonly shape: BlockShape) {
    const { width, mlpDim, inputGradient } = shape;
    this.headDim = width / shape.heads;
    this.ln1 = new LayerNorm(weights, `${prefix}.ln1`, width);
    this.ln2 = new LayerNorm(weights, `${prefix}.ln2`, width);
    const linear = (name: string, inDim: number, outDim: number, scale = 1): FastLinear => {
      let w = weights.get(`${name}.w`);
      let b = weights.get(`${name}.b`);
      if (!w || !b) throw new Error(`tower parameter '${name}' was not loaded`);
      if (scale !== 1) {
        w = w.map((value) => value * scale);
        b = b.map((value) => value * scale);
      }
      return new FastLinear(tf.keep(tf.tensor2d(w, [inDim, outDim])), tf.keep(tf.tensor1d(b)), { inputGradient });
    };
    // Attention scales q·kᵀ by 1/√d_head; folding it into q's weights saves one op per block.
    this.q = linear(`${prefix}.q`, width, width, 1 / Math.sqrt(this.headDim));
    this.k = linear(`${prefix}.k`, width, width);
    this.v = linear(`${prefix}.v`, width, width);
    this.out = linear(`${prefix}.out`, width, width);
    this.fc1 = linear(`${prefix}.fc1`, width, mlpDim);
    this.fc2 = linear(`${prefix}.fc2`, mlpDim, width);
  }

  /** x: [B, T, width]; mask: additive [T, T] (the text tower's causal mask) or null. */
  forward(x: tf.Tensor3D, mask: tf.Tensor2D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, tokens, width] = x.shape;
      const { heads } = this.shape;
      const d = this.headDim;
      const y = this.ln1.forward(x);
      const split = (t: tf.Tensor3D) => tf.reshape(t, [batch, tokens, heads, d]);
      const q = tf.transpose(split(this.q.forward(y)), [0, 2, 1, 3]) as tf.Tensor4D; // [B,H,T,d]
      // kᵀ built directly as [B,H,d,T], so q·kᵀ needs no transposed matmul.
      const kT = tf.transpose(split(this.k.forward(y)), [0, 2, 3, 1]) as tf.Tensor4D;
      const v = tf.transpose(split(this.v.forward(y)), [0, 2, 1, 3]) as tf.Tensor4D;
      let scores: tf.Tensor4D = batchedMatMul(q, kT); // [B,H,T,T]
      if (mask) scores = tf.add(scores, mask);
      const attended = batchedMatMul(tf.softmax(scores), v); // [B,H,T,d]
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, tokens, width]) as tf.Tensor3D;
      const h = tf.add(x, this.out.forward(merged)) as tf.Tensor3D;
      const hidden = activate(this.fc1.forward(this.ln2.forward(h)), this.shape.activation);
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
