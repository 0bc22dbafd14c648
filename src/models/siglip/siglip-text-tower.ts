/**
 * SigLIP's text transformer (transformers' SiglipTextTransformer): token + position embeddings, pre-LN blocks with
 * full (not causal) attention, final_layer_norm, the state at the LAST position — a padding token for any prompt
 * shorter than the context, which is how SigLIP was trained (big_vision's text encoder pools the last token and
 * masks nothing) — and the head, a Linear with bias into the joint space. No attention mask: every prompt is padded
 * to exactly contextLength and every position attends to every other, so the padding does change the output and
 * cannot be cut off (unlike CLIP's causal tower, src/models/clip/text-tower.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { LayerNorm, ResidualAttentionBlock } from '../clip/transformer.js';
import type { TowerWeights } from '../tower-weights.js';
import type { SiglipTextShape } from './siglip-architecture.js';

export class SiglipTextTower {
  private readonly token: tf.Tensor2D;
  private readonly pos: tf.Tensor2D;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnFinal: LayerNorm;
  private readonly head: FastLinear;

  constructor(private readonly shape: SiglipTextShape, weights: TowerWeights) {
    const { width: W, vocabSize, contextLength, projection } = shape;
    this.token = weightTensor(weights.take('token'), [vocabSize, W]) as tf.Tensor2D;
    this.pos = weightTensor(weights.take('pos'), [contextLength, W]) as tf.Tensor2D;
    // Text embeddings are never differentiated, so no transposed weight copies.
    const block = { width: W, heads: shape.heads, mlpDim: shape.mlpDim, activation: shape.activation, layerNormEps: shape.layerNormEps, inputGradient: false };
    for (let i = 0; i < shape.layers; i++) this.blocks.push(new ResidualAttentionBlock(weights, `blocks.${i}`, block));
    this.lnFinal = new LayerNorm(weights, 'ln_final', W, shape.layerNormEps);
    this.head = new FastLinear(weightTensor(weights.take('head.w'), [W, projection]) as tf.Tensor2D, weightTensor(weights.take('head.b'), [projection]) as tf.Tensor1D, { inputGradient: false });
  }

  /** tokens: one Int32Array of exactly contextLength ids per prompt → [N, projection] embeddings (not normalised). */
  forward(tokens: readonly Int32Array[]): tf.Tensor2D {
    const { contextLength: L, width: W, vocabSize } = this.shape;
    const n = tokens.length;
    const ids = new Int32Array(n * L);
    tokens.forEach((row, i) => {
      if (row.length !== L) throw new Error(`SigLIP text tower expects ${L} tokens per prompt, got ${row.length}`);
      for (const id of row) if (id < 0 || id >= vocabSize) throw new Error(`token id ${id} outside the vocabulary of ${vocabSize}`);
      ids.set(row, i * L);
    });
    return tf.tidy(() => {
      const embedded = tf.add(tf.reshape(tf.gather(this.token, tf.tensor1d(ids, 'int32')), [n, L, W]), this.pos);
      // Sequence-first [L, N, W] for the blocks (src/models/clip/transformer.ts).
      let h = tf.transpose(embedded, [1, 0, 2]) as tf.Tensor3D;
      for (const block of this.blocks) h = block.forward(h, null);
      const last = tf.reshape(tf.slice(h, [L - 1, 0, 0], [1, n, W]), [n, W]) as tf.Tensor2D;
      return this.head.forward(this.lnFinal.forward(last)) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const block of this.blocks) block.dispose();
    this.lnFinal.dispose();
    this.head.dispose();
    tf.dispose([this.token, this.pos]);
  }
}
