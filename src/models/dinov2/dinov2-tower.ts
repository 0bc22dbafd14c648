/**
 * The DINOv2 vision transformer, as transformers' Dinov2Model / Dinov2WithRegistersModel compute it: patch
 * embedding (a stride-p conv with bias), CLS token, position embeddings resampled to the input's patch grid, register
 * tokens inserted after the CLS token (after the positions are added: registers have none), the blocks, and the final
 * layer norm. Two read-outs:
 * - 'pre-projection': pooler_output, the CLS token after the final layer norm (DINOv2 has no projection head);
 * - 'cls-patch-mean': that CLS token ⊕ the mean of the normalised patch tokens (registers excluded), the input of
 *   DINOv2's linear probes (transformers' Dinov2ForImageClassification).
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import { blockStep } from '../../runtime/recompute-in-backward.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { normalisingPatchEmbedding } from '../normalising-patch-embedding.js';
import type { TowerWeights } from '../tower-weights.js';
import type { Dinov2Architecture } from './dinov2-architecture.js';
import { Dinov2Block, Dinov2LayerNorm } from './dinov2-block.js';
import { resamplePositions } from '../position-resampling.js';

export type Dinov2Readout = 'pre-projection' | 'cls-patch-mean';

export class Dinov2Tower {
  private readonly patch: FastLinear;
  /** CLS token plus its position embedding, [1, 1, W]. */
  private readonly cls: tf.Tensor3D;
  /** Patch position embeddings at the input's grid, [g², 1, W]. */
  private readonly pos: tf.Tensor3D;
  private readonly registers: tf.Tensor3D | null;
  private readonly blocks: Dinov2Block[] = [];
  private readonly lnFinal: Dinov2LayerNorm;
  readonly grid: number;
  /** Each block's forward, recomputed in the backward pass when memory is traded for time (recompute-in-backward.ts). */
  private readonly blockSteps: ((h: tf.Tensor3D) => tf.Tensor3D)[];
  private readonly lastClassTokenStep: (h: tf.Tensor3D) => tf.Tensor3D;

  constructor(private readonly arch: Dinov2Architecture, weights: TowerWeights, options: { inputGradient: boolean }) {
    const { width: W, positionGrid: G } = arch;
    this.grid = arch.inputSize / arch.patchSize;
    // The input normalisation is folded into the patch embedding (src/models/normalising-patch-embedding.ts).
    this.patch = normalisingPatchEmbedding(weights.take('patch.w'), weights.take('patch.b'), W, arch, options.inputGradient);
    const cls = weights.take('cls');
    const pos = weights.take('pos');
    for (let c = 0; c < W; c++) cls[c]! += pos[c]!;
    this.cls = weightTensor(cls, [1, 1, W]) as tf.Tensor3D;
    const trained = pos.slice(W);
    this.pos = weightTensor(resamplePositions(trained, G, W, this.grid, arch.resampling), [this.grid * this.grid, 1, W]) as tf.Tensor3D;
    this.registers = arch.registers > 0 ? (weightTensor(weights.take('registers'), [arch.registers, 1, W]) as tf.Tensor3D) : null;
    for (let i = 0; i < arch.layers; i++) this.blocks.push(new Dinov2Block(weights, `blocks.${i}`, arch, options.inputGradient));
    this.lnFinal = new Dinov2LayerNorm(weights, 'ln_final', W, arch.layerNormEps);
    this.blockSteps = this.blocks.map((block) => blockStep((h: tf.Tensor3D) => block.forward(h)));
    const lastBlock = this.blocks[arch.layers - 1]!;
    this.lastClassTokenStep = blockStep((h: tf.Tensor3D) => lastBlock.forward(h, { firstTokenOnly: true }));
  }

  /** pixels: [B, S, S, 3] in [0, 1] at the input size S. */
  forward(pixels: tf.Tensor4D, readout: Dinov2Readout): tf.Tensor2D {
    const { inputSize, patchSize: p, width } = this.arch;
    const [batch, height, widthPx, channels] = pixels.shape;
    if (height !== inputSize || widthPx !== inputSize || channels !== 3) {
      throw new Error(`DINOv2 expects [B, ${inputSize}, ${inputSize}, 3] pixels, got [${pixels.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const g = this.grid;
      // The stride-p conv as a reshape + matmul (4-D transposes only; see src/models/clip/vision-tower.ts).
      const rows = tf.reshape(tf.transpose(tf.reshape(pixels, [batch * g, p, g, p * 3]), [0, 2, 1, 3]), [batch, g * g, p * p * 3]);
      const patches = tf.add(tf.transpose(this.patch.forward(rows), [1, 0, 2]), this.pos);
      const tokens = [tf.broadcastTo(this.cls, [1, batch, width])];
      if (this.registers) tokens.push(tf.broadcastTo(this.registers, [this.arch.registers, batch, width]));
      let h = tf.concat([...tokens, patches], 0) as tf.Tensor3D;
      const last = this.blocks.length - 1;
      this.blockSteps.slice(0, last).forEach((blockStep) => (h = blockStep(h)));
      if (readout === 'pre-projection') {
        const classToken = this.lastClassTokenStep(h);
        return this.lnFinal.forward(tf.reshape(classToken, [batch, width]) as tf.Tensor2D);
      }
      const normalised = this.lnFinal.forward(this.blockSteps[last]!(h));
      const firstPatch = 1 + this.arch.registers;
      const cls = tf.reshape(tf.slice(normalised, [0, 0, 0], [1, batch, width]), [batch, width]);
      const patchMean = tf.mean(tf.slice(normalised, [firstPatch, 0, 0], [g * g, batch, width]), 0);
      return tf.concat([cls, patchMean], 1) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.patch.dispose();
    this.lnFinal.dispose();
    for (const block of this.blocks) block.dispose();
    tf.dispose([this.cls, this.pos, ...(this.registers ? [this.registers] : [])]);
  }
}
