/**
 * CLIP's vision transformer: patch embedding, class token, positional embedding, ln_pre, pre-LN blocks,
 * ln_post on the class token, projection. Same maths as open_clip's VisionTransformer and HF's
 * CLIPVisionTransformer + visual_projection.
 */
import * as tf from '@tensorflow/tfjs';
import { FastLinear } from '../../runtime/fast-linear.js';
import type { FeatureKind } from '../encoder.js';
import { visionTokenCount, type ClipArchitecture } from './clip-architecture.js';
import { LayerNorm, ResidualAttentionBlock, paramTensor } from './transformer.js';

export class ClipVisionTower {
  private readonly patch: FastLinear;
  private readonly cls: tf.Tensor3D;
  private readonly pos: tf.Tensor2D;
  private readonly lnPre: LayerNorm;
  private readonly blocks: ResidualAttentionBlock[] = [];
  private readonly lnPost: LayerNorm;
  private readonly proj: FastLinear;
  private readonly mean: tf.Tensor1D;
  private readonly std: tf.Tensor1D;

  constructor(private readonly arch: ClipArchitecture, weights: ReadonlyMap<string, Float32Array>, options: { inputGradient: boolean }) {
    const { width, patchSize, layers, heads, mlpDim } = arch.vision;
    const inputGradient = options.inputGradient;
    this.patch = new FastLinear(paramTensor(weights, 'patch.w', [patchSize * patchSize * 3, width]) as tf.Tensor2D, null, { inputGradient });
    this.cls = paramTensor(weights, 'cls', [1, 1, width]) as tf.Tensor3D;
    this.pos = paramTensor(weights, 'pos', [visionTokenCount(arch.vision), width]) as tf.Tensor2D;
    this.lnPre = new LayerNorm(weights, 'ln_pre', width);
    for (let i = 0; i < layers; i++) {
      this.blocks.push(new ResidualAttentionBlock(weights, `blocks.${i}`, { width, heads, mlpDim, activation: arch.activation, inputGradient }));
    }
    this.lnPost = new LayerNorm(weights, 'ln_post', width);
    this.proj = new FastLinear(paramTensor(weights, 'proj', [width, arch.embedDim]) as tf.Tensor2D, null, { inputGradient });
    this.mean = tf.keep(tf.tensor1d([...arch.mean]));
    this.std = tf.keep(tf.tensor1d([...arch.std]));
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
      const x = tf.div(tf.sub(pixels, this.mean), this.std);
      // The stride-p conv as a reshape + matmul: [B·g, p, g, p·3] → swap the two middle axes (a 4-D transpose;
      // 5-D and 6-D transposes are slow on wasm) → one row of (py, px, c) values per patch.
      const rows = tf.reshape(tf.transpose(tf.reshape(x, [batch * g, p, g, p * 3]), [0, 2, 1, 3]), [batch, g * g, p * p * 3]);
      const patches = this.patch.forward(rows) as tf.Tensor3D;
      // Sequence-first [T, B, W] for the blocks (transformer.ts); token 0 is the class token.
      const cls = tf.broadcastTo(this.cls, [1, batch, width]);
      let h = tf.add(tf.concat([cls, tf.transpose(patches, [1, 0, 2])], 0), tf.reshape(this.pos, [g * g + 1, 1, width])) as tf.Tensor3D;
      h = this.lnPre.forward(h);
      const last = this.blocks.length - 1;
      // Only the class token is pooled, so the last block computes only its row.
      this.blocks.forEach((block, i) => (h = block.forward(h, null, { firstTokenOnly: i === last })));
      const pooled = this.lnPost.forward(tf.reshape(tf.slice(h, [0, 0, 0], [1, batch, width]), [batch, width]) as tf.Tensor2D);
      return kind === 'projected' ? this.proj.forward(pooled) : pooled;
    });
  }

  dispose(): void {
    this.patch.dispose();
    this.proj.dispose();
    this.lnPre.dispose();
    this.lnPost.dispose();
    for (const block of this.blocks) block.dispose();
    tf.dispose([this.cls, this.pos, this.mean, this.std]);
  }
}
