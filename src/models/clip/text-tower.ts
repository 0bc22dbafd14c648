/**
 * CLIP's text transformer: token + positional embeddings, causal pre-LN blocks, ln_final, pooling at the
 * end-of-text token (the argmax of the token ids, since EOT has the largest id), and the text projection.
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import type { ClipTextModel } from './clip-architecture.js';
import { LayerNorm, ResidualAttentionBlock, paramTensor } from './transformer.js';
import type { TowerWeights } from './clip-weight-map.js';

export class ClipTextTower {
  private readonly token: tf.Tensor2D;
  private readonly pos: tf.Tensor2D;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnFinal: LayerNorm;
  private readonly proj: FastLinear;
  private readonly causalMask: tf.Tensor2D;

  constructor(private readonly arch: ClipTextModel, weights: TowerWeights) {
    const { width, layers, heads, mlpDim, contextLength, vocabSize } = arch.text;
    this.token = paramTensor(weights, 'token', [vocabSize, width]) as tf.Tensor2D;
    this.pos = paramTensor(weights, 'pos', [contextLength, width]) as tf.Tensor2D;
    // Text embeddings are never differentiated, so no transposed weight copies.
    for (let i = 0; i < layers; i++) {
      this.blocks.push(new ResidualAttentionBlock(weights, `blocks.${i}`, { width, heads, mlpDim, activation: arch.activation, inputGradient: false }));
    }
    this.lnFinal = new LayerNorm(weights, 'ln_final', width);
    this.proj = new FastLinear(paramTensor(weights, 'proj', [width, arch.embedDim]) as tf.Tensor2D, null, { inputGradient: false });
    // Additive mask: token i attends to j ≤ i only (−∞ above the diagonal, as open_clip builds it).
    const mask = new Float32Array(contextLength * contextLength);
    for (let i = 0; i < contextLength; i++) for (let j = i + 1; j < contextLength; j++) mask[i * contextLength + j] = -Infinity;
    this.causalMask = tf.keep(tf.tensor2d(mask, [contextLength, contextLength]));
  }

  /**
   * tokens: one Int32Array of exactly contextLength ids per prompt → [N, embedDim] projected embeddings.
   *
   * Only the first L positions run, L = 1 + the batch's last end-of-text position: under the causal mask the
   * state at position t depends on tokens ≤ t alone, and the output is read at end-of-text, so the padding after
   * it cannot change the result. A prompt of a few words is ~8 of CLIP's 77 positions, ~10× less work (what
   * makes embedding NegLabel's 139k-word lexicon affordable on a CPU).
   */
  forward(tokens: readonly Int32Array[]): tf.Tensor2D {
    const { contextLength, width, vocabSize } = this.arch.text;
    const n = tokens.length;
    const eot = new Int32Array(n);
    tokens.forEach((row, i) => {
      if (row.length !== contextLength) throw new Error(`text tower expects ${contextLength} tokens per prompt, got ${row.length}`);
      let argmax = 0;
      for (let j = 0; j < contextLength; j++) {
        if (row[j] < 0 || row[j] >= vocabSize) throw new Error(`token id ${row[j]} outside the vocabulary of ${vocabSize}`);
        if (row[j] > row[argmax]) argmax = j;
      }
      eot[i] = argmax;
    });
    const length = Math.max(...eot) + 1;
    const ids = new Int32Array(n * length);
    tokens.forEach((row, i) => ids.set(row.subarray(0, length), i * length));
    // Row of (token eot[i], prompt i) in the sequence-first [L·N, W] layout.
    const eotRows = Int32Array.from(eot, (position, i) => position * n + i);
    return tf.tidy(() => {
      const embedded = tf.reshape(tf.gather(this.token, tf.tensor1d(ids, 'int32')), [n, length, width]);
      const positions = tf.slice(this.pos, [0, 0], [length, width]);
      const mask = tf.slice(this.causalMask, [0, 0], [length, length]);
      // Sequence-first [L, N, W] for the blocks (transformer.ts).
      let h = tf.transpose(tf.add(embedded, positions), [1, 0, 2]) as tf.Tensor3D;
      for (const block of this.blocks) h = block.forward(h, mask);
      const pooled = tf.gather(tf.reshape(h, [length * n, width]), tf.tensor1d(eotRows, 'int32')) as tf.Tensor2D;
      return this.proj.forward(this.lnFinal.forward(pooled));
    });
  }

  dispose(): void {
    for (const block of this.blocks) block.dispose();
    this.lnFinal.dispose();
    this.proj.dispose();
    tf.dispose([this.token, this.pos, this.causalMask]);
  }
}
