/**
 * EVA-02's vision transformer as timm's Eva computes it for open_clip (timm models/eva.py, global_pool 'token'):
 * patch embedding (a stride-p conv with bias), the CLS token, learned absolute positions over [CLS, patches], the
 * blocks with rotary positions on their queries and keys (eva-rotary.ts), the final LayerNorm, and the trunk's head
 * into the joint space. Both read-outs are of the CLS token:
 * - 'pre-projection': after the final norm, before the head (timm's pre-logits; the CLIP family's default kind);
 * - 'projected': the head's output, open_clip's encode_image.
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import { blockStep } from '../../runtime/recompute-in-backward.js';
import { weightTensor } from '../../runtime/weight-tensor.js';
import { LayerNorm } from '../clip/transformer.js';
import { normalisingPatchEmbedding } from '../normalising-patch-embedding.js';
import type { TowerWeights } from '../tower-weights.js';
import { EVA02_HEAD_WIDTH, EVA02_LAYER_NORM_EPS, EVA02_ROPE_REFERENCE_GRID, EVA02_ROPE_TEMPERATURE, evaGrid, type EvaClipArchitecture } from './eva-architecture.js';
import { EvaBlock } from './eva-block.js';
import { disposeRotaryTables, rotaryTables, type RotaryTables } from './eva-rotary.js';

export type EvaReadout = 'pre-projection' | 'projected';

export class EvaVisionTower {
  private readonly patch: FastLinear;
  /** CLS token plus its position embedding, [1, 1, W]. */
  private readonly cls: tf.Tensor3D;
  /** Patch position embeddings, [g², 1, W]. */
  private readonly pos: tf.Tensor3D;
  private readonly rotary: RotaryTables;
  private readonly blocks: EvaBlock[] = [];
  private readonly lnFinal: LayerNorm;
  private readonly head: FastLinear;
  private readonly grid: number;
  /** Each block's forward, recomputed in the backward pass when memory is traded for time (recompute-in-backward.ts). */
  private readonly blockSteps: ((h: tf.Tensor3D) => tf.Tensor3D)[];
  private readonly lastClassTokenStep: (h: tf.Tensor3D) => tf.Tensor3D;

  constructor(private readonly arch: EvaClipArchitecture, weights: TowerWeights, options: { inputGradient: boolean }) {
    const v = arch.vision;
    const W = v.width;
    this.grid = evaGrid(v);
    // The input normalisation is folded into the patch embedding (src/models/normalising-patch-embedding.ts).
    this.patch = normalisingPatchEmbedding(weights.take('patch.w'), weights.take('patch.b'), W, arch, options.inputGradient);
    const cls = weights.take('cls');
    const pos = weights.take('pos');
    for (let c = 0; c < W; c++) cls[c]! += pos[c]!;
    this.cls = weightTensor(cls, [1, 1, W]) as tf.Tensor3D;
    this.pos = weightTensor(pos.slice(W), [this.grid * this.grid, 1, W]) as tf.Tensor3D;
    this.rotary = rotaryTables({ grid: this.grid, heads: v.heads, headWidth: EVA02_HEAD_WIDTH, referenceGrid: EVA02_ROPE_REFERENCE_GRID, temperature: EVA02_ROPE_TEMPERATURE });
    for (let i = 0; i < v.layers; i++) this.blocks.push(new EvaBlock(weights, `blocks.${i}`, v, this.rotary, options.inputGradient));
    this.lnFinal = new LayerNorm(weights, 'ln_final', W, EVA02_LAYER_NORM_EPS);
    this.head = new FastLinear(weightTensor(weights.take('head.w'), [W, arch.embedDim]) as tf.Tensor2D, weightTensor(weights.take('head.b'), [arch.embedDim]) as tf.Tensor1D, options);
    this.blockSteps = this.blocks.map((block) => blockStep((h: tf.Tensor3D) => block.forward(h)));
    const lastBlock = this.blocks[v.layers - 1]!;
    this.lastClassTokenStep = blockStep((h: tf.Tensor3D) => lastBlock.forward(h, { firstTokenOnly: true }));
  }

  /** pixels: [B, S, S, 3] in [0, 1] at the input size S. */
  forward(pixels: tf.Tensor4D, readout: EvaReadout): tf.Tensor2D {
    const { imageSize, patchSize: p, width } = this.arch.vision;
    const [batch, height, widthPx, channels] = pixels.shape;
    if (height !== imageSize || widthPx !== imageSize || channels !== 3) {
      throw new Error(`EVA-CLIP expects [B, ${imageSize}, ${imageSize}, 3] pixels, got [${pixels.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const g = this.grid;
      // The stride-p conv as a reshape + matmul (4-D transposes only; see src/models/clip/vision-tower.ts).
      const rows = tf.reshape(tf.transpose(tf.reshape(pixels, [batch * g, p, g, p * 3]), [0, 2, 1, 3]), [batch, g * g, p * p * 3]);
      const patches = tf.add(tf.transpose(this.patch.forward(rows), [1, 0, 2]), this.pos);
      let h = tf.concat([tf.broadcastTo(this.cls, [1, batch, width]), patches], 0) as tf.Tensor3D;
      for (const step of this.blockSteps.slice(0, -1)) h = step(h);
      const cls = this.lnFinal.forward(tf.reshape(this.lastClassTokenStep(h), [batch, width]) as tf.Tensor2D);
      return readout === 'projected' ? this.head.forward(cls) : cls;
    });
  }

  dispose(): void {
    this.patch.dispose();
    this.lnFinal.dispose();
    this.head.dispose();
    for (const block of this.blocks) block.dispose();
    disposeRotaryTables(this.rotary);
    tf.dispose([this.cls, this.pos]);
  }
}
