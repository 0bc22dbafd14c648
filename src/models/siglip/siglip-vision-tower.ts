/**
 * SigLIP's vision transformer, as transformers' SiglipVisionTransformer computes it: patch embedding (a stride-p conv
 * with bias), position embeddings (resampled bicubic to the input's patch grid, SiglipVisionEmbeddings'
 * interpolate_pos_encoding), no class token, the pre-LN blocks, post_layernorm over every token, then the
 * attention-pooling (MAP) head: one learned probe attends to all tokens (torch.nn.MultiheadAttention), followed by
 * h + mlp(layernorm(h)). Two read-outs:
 * - 'projected': the head's output, SiglipModel.get_image_features, in the joint space of the text head;
 * - 'pre-projection': the mean of the post-LN tokens, the pooled tokens before the head.
 */
import * as tf from '@tensorflow/tfjs';
import { mlpActivation } from '../../runtime/fast-activation.js';
import { multiHeadAttention } from '../../runtime/fast-attention.js';
import { FastLinear } from '../../runtime/fast-linear.js';
import { blockStep } from '../../runtime/recompute-in-backward.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { LayerNorm, ResidualAttentionBlock } from '../clip/transformer.js';
import { normalisingPatchEmbedding } from '../normalising-patch-embedding.js';
import { resamplePositions } from '../position-resampling.js';
import type { TowerWeights } from '../tower-weights.js';
import { siglipPatchGrid, type SiglipArchitecture } from './siglip-architecture.js';

export type SiglipReadout = 'projected' | 'pre-projection';

/** The MAP head. Its query is the probe's projection, the same for every image: computed once, at load. */
class AttentionPoolingHead {
  private readonly query: tf.Tensor3D;
  private readonly k: FastLinear;
  private readonly v: FastLinear;
  private readonly out: FastLinear;
  private readonly ln: LayerNorm;
  private readonly fc1: FastLinear;
  private readonly fc2: FastLinear;

  constructor(weights: TowerWeights, private readonly arch: SiglipArchitecture['vision'], inputGradient: boolean) {
    const { width: W, heads, mlpDim: H } = arch;
    const probe = weights.take('head.probe');
    const wq = weights.take('head.q.w');
    const bq = weights.take('head.q.b');
    // q = (probe·Wq + bq)/√d_head: nn.MultiheadAttention scales the query before q·kᵀ (multiHeadAttention expects it scaled).
    const scale = 1 / Math.sqrt(W / heads);
    const query = new Float32Array(W);
    for (let j = 0; j < W; j++) {
      let sum = bq[j]!;
      for (let i = 0; i < W; i++) sum += probe[i]! * wq[i * W + j]!;
      query[j] = sum * scale;
    }
    this.query = weightTensor(query, [1, 1, W]) as tf.Tensor3D;
    const linear = (name: string, inDim: number, outDim: number) =>
      new FastLinear(weightTensor(weights.take(`${name}.w`), [inDim, outDim]) as tf.Tensor2D, weightTensor(weights.take(`${name}.b`), [outDim]) as tf.Tensor1D, { inputGradient });
    this.k = linear('head.k', W, W);
    this.v = linear('head.v', W, W);
    this.out = linear('head.out', W, W);
    this.ln = new LayerNorm(weights, 'head.ln', W, arch.layerNormEps);
    this.fc1 = linear('head.fc1', W, H);
    this.fc2 = linear('head.fc2', H, W);
  }

  /** tokens: [T, B, W] after post_layernorm → [B, W]. */
  forward(tokens: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [, batch, width] = tokens.shape;
      const q = tf.broadcastTo(this.query, [1, batch, width]) as tf.Tensor3D;
      const pooled = this.out.forward(multiHeadAttention(q, this.k.forward(tokens), this.v.forward(tokens), this.arch.heads, null)) as tf.Tensor3D;
      const y = tf.add(pooled, this.fc2.forward(mlpActivation(this.fc1.forward(this.ln.forward(pooled)), this.arch.activation)));
      return tf.reshape(y, [batch, width]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const part of [this.k, this.v, this.out, this.ln, this.fc1, this.fc2]) part.dispose();
    this.query.dispose();
  }
}

export class SiglipVisionTower {
  private readonly patch: FastLinear;
  /** Position embeddings at the input's grid, [g², 1, W]. */
  private readonly pos: tf.Tensor3D;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnPost: LayerNorm;
  private readonly head: AttentionPoolingHead | null;
  private readonly grid: number;
  /** Each block's forward, recomputed in the backward pass when memory is traded for time (recompute-in-backward.ts). */
  private readonly blockSteps: ((h: tf.Tensor3D) => tf.Tensor3D)[];

  constructor(private readonly arch: SiglipArchitecture, weights: TowerWeights, options: { inputGradient: boolean }) {
    const v = arch.vision;
    const { width: W, positionGrid: G } = v;
    this.grid = siglipPatchGrid(arch);
    // The input normalisation is folded into the patch embedding (src/models/normalising-patch-embedding.ts).
    this.patch = normalisingPatchEmbedding(weights.take('patch.w'), weights.take('patch.b'), W, arch, options.inputGradient);
    this.pos = weightTensor(resamplePositions(weights.take('pos'), G, W, this.grid, 'bicubic'), [this.grid * this.grid, 1, W]) as tf.Tensor3D;
    const shape = { width: W, heads: v.heads, mlpDim: v.mlpDim, activation: v.activation, layerNormEps: v.layerNormEps, inputGradient: options.inputGradient };
    for (let i = 0; i < v.layers; i++) this.blocks.push(new ResidualAttentionBlock(weights, `blocks.${i}`, shape));
    this.lnPost = new LayerNorm(weights, 'ln_post', W, v.layerNormEps);
    this.head = v.head ? new AttentionPoolingHead(weights, v, options.inputGradient) : null;
    this.blockSteps = this.blocks.map((block) => blockStep((h: tf.Tensor3D) => block.forward(h, null)));
  }

  /** pixels: [B, S, S, 3] in [0, 1] at the input size S. */
  forward(pixels: tf.Tensor4D, readout: SiglipReadout): tf.Tensor2D {
    const { inputSize } = this.arch;
    const p = this.arch.vision.patchSize;
    const [batch, height, widthPx, channels] = pixels.shape;
    if (height !== inputSize || widthPx !== inputSize || channels !== 3) {
      throw new Error(`SigLIP expects [B, ${inputSize}, ${inputSize}, 3] pixels, got [${pixels.shape.join(', ')}]`);
    }
    if (readout === 'projected' && !this.head) throw new Error('this SigLIP vision tower has no attention-pooling head (vision_use_head false)');
    return tf.tidy(() => {
      const g = this.grid;
      // The conv is 'valid': pixels past g·p reach no patch (their gradient is zero, as in PyTorch).
      const covered = g * p === inputSize ? pixels : tf.slice(pixels, [0, 0, 0, 0], [batch, g * p, g * p, 3]);
      // The stride-p conv as a reshape + matmul (4-D transposes only; see src/models/clip/vision-tower.ts).
      const rows = tf.reshape(tf.transpose(tf.reshape(covered, [batch * g, p, g, p * 3]), [0, 2, 1, 3]), [batch, g * g, p * p * 3]);
      let h = tf.add(tf.transpose(this.patch.forward(rows), [1, 0, 2]), this.pos) as tf.Tensor3D;
      for (const step of this.blockSteps) h = step(h);
      const tokens = this.lnPost.forward(h);
      return readout === 'projected' ? this.head!.forward(tokens) : (tf.mean(tokens, 0) as tf.Tensor2D);
    });
  }

  dispose(): void {
    this.patch.dispose();
    this.lnPost.dispose();
    this.head?.dispose();
    for (const block of this.blocks) block.dispose();
    this.pos.dispose();
  }
}
