/**
 * CLIP's vision transformer: patch embedding, class token, positional embedding, ln_pre, pre-LN blocks,
 * ln_post on the class token, projection. Same maths as open_clip's VisionTransformer and HF's
 * CLIPVisionTransformer + visual_projection.
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import { blockStep } from '../../runtime/recompute-in-backward.js';
import type { FeatureKind } from '../encoder.js';
import { normalisingPatchEmbedding } from '../normalising-patch-embedding.js';
import { visionTokenCount, type ClipArchitecture } from './clip-architecture.js';
import type { TowerWeights } from './clip-weight-map.js';
import { LayerNorm, ResidualAttentionBlock, paramTensor } from './transformer.js';

export class ClipVisionTower {
  private readonly patch: FastLinear;
  private readonly cls: tf.Tensor3D;
  private readonly pos: tf.Tensor2D;
  private readonly lnPre: LayerNorm;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnPost: LayerNorm;
  private readonly proj: FastLinear;
  /** Each block's forward, recomputed in the backward pass when memory is traded for time (recompute-in-backward.ts). */
  private readonly blockSteps: ((h: tf.Tensor3D) => tf.Tensor3D)[];
  private readonly lastBlockStep: (h: tf.Tensor3D) => tf.Tensor3D;

  constructor(private readonly arch: ClipArchitecture, weights: TowerWeights, options: { inputGradient: boolean }) {
    const { width, layers, heads, mlpDim } = arch.vision;
    const inputGradient = options.inputGradient;
    this.patch = normalisingPatchEmbedding(weights.take('patch.w'), null, width, arch, inputGradient);
    this.cls = paramTensor(weights, 'cls', [1, 1, width]) as tf.Tensor3D;
    this.pos = paramTensor(weights, 'pos', [visionTokenCount(arch.vision), width]) as tf.Tensor2D;
    this.lnPre = new LayerNorm(weights, 'ln_pre', width);
    for (let i = 0; i < layers; i++) {
      this.blocks.push(new ResidualAttentionBlock(weights, `blocks.${i}`, { width, heads, mlpDim, activation: arch.activation, inputGradient }));
    }
    this.lnPost = new LayerNorm(weights, 'ln_post', width);
    this.proj = new FastLinear(paramTensor(weights, 'proj', [width, arch.embedDim]) as tf.Tensor2D, null, { inputGradient });
    this.blockSteps = this.blocks.map((block) => blockStep((h: tf.Tensor3D) => block.forward(h, null)));
    const lastBlock = this.blocks[layers - 1]!;
    this.lastBlockStep = blockStep((h: tf.Tensor3D) => lastBlock.forward(h, null, { firstTokenOnly: true }));
  }

  /** pixels: [B, S, S, 3] in [0,1] at the native resolution S. */
  forward(pixels: tf.Tensor4D, kind: FeatureKind): tf.Tensor2D {
    const { imageSize, patchSize: p, width } = this.arch.vision;
    const [batch, height, widthPx, channels] = pixels.shape;
    if (height !== imageSize || widthPx !== imageSize || channels !== 3) {
      throw new Error(`CLIP vision tower expects [B, ${imageSize}, ${imageSize}, 3] pixels, got [${pixels.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const g = imageSize / p;
      // The stride-p conv as a reshape + matmul: [B·g, p, g, p·3] → swap the two middle axes (a 4-D transpose;
      // 5-D and 6-D transposes are slow on wasm) → one row of (py, px, c) values per patch.
      const rows = tf.reshape(tf.transpose(tf.reshape(pixels, [batch * g, p, g, p * 3]), [0, 2, 1, 3]), [batch, g * g, p * p * 3]);
      const patches = this.patch.forward(rows) as tf.Tensor3D;
      // Sequence-first [T, B, W] for the blocks (transformer.ts); token 0 is the class token.
      const cls = tf.broadcastTo(this.cls, [1, batch, width]);
      let h = tf.add(tf.concat([cls, tf.transpose(patches, [1, 0, 2])], 0), tf.reshape(this.pos, [g * g + 1, 1, width])) as tf.Tensor3D;
      h = this.lnPre.forward(h);
      const last = this.blocks.length - 1;
      this.blockSteps.slice(0, last).forEach((step) => (h = step(h)));
      // Only the class token is pooled, so the last block computes only its row.
      const classToken = this.lastBlockStep(h);
      const pooled = this.lnPost.forward(tf.reshape(classToken, [batch, width]) as tf.Tensor2D);
      if (kind === 'pre-projection') return pooled;
      const projected = this.proj.forward(pooled);
      if (kind === 'projected') return projected;
      return tf.concat([projected, this.localFeatures(h, batch, g * g)], 1) as tf.Tensor2D;
    });
  }

  /**
   * GL-MCM's local features (Miyai et al. 2023, their clip/model.py): the last block's input patch tokens through
   * that block with each token attending only to itself, then ln_post and the projection, as the class token is
   * pooled. h: [1 + patches, B, width], the last block's input → [B, patches · embedDim], patch-major.
   */
  private localFeatures(h: tf.Tensor3D, batch: number, patches: number): tf.Tensor2D {
    const { width } = this.arch.vision;
    const tokens = tf.slice(h, [1, 0, 0], [patches, batch, width]);
    const local = this.blocks[this.blocks.length - 1]!.forwardSelfAttending(tokens);
    const rows = tf.reshape(tf.transpose(local, [1, 0, 2]), [batch * patches, width]) as tf.Tensor2D;
    return tf.reshape(this.proj.forward(this.lnPost.forward(rows)), [batch, patches * this.arch.embedDim]) as tf.Tensor2D;
  }

  dispose(): void {
    this.patch.dispose();
    this.proj.dispose();
    this.lnPre.dispose();
    this.lnPost.dispose();
    for (const block of this.blocks) block.dispose();
    tf.dispose([this.cls, this.pos]);
  }
}
