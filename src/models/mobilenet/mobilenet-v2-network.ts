/**
 * The rebuilt MobileNetV2 backbone: fast conv layers (src/runtime/fast-conv.ts) over the folded weights, and a
 * mean over H and W in place of the exported model's fixed 7×7 average pool, so any input size works (the pool is
 * a global mean only at 224²). Its output equals nsfwjs's `flatten_1` at 224².
 */
import * as tf from '@tensorflow/tfjs';
import { type FastConvLayer, fastConv2d, fastDepthwiseConv2d } from '../../runtime/fast-conv.js';
import { type ConvLayerPlan, kernelShape, type MobileNetV2Plan } from './architecture.js';
import { type PackedWeights, packedTensor } from './weight-cache.js';

interface BuiltBlock {
  layers: FastConvLayer[];
  residual: boolean;
}

export class MobileNetV2Network {
  readonly featureDim: number;
  private readonly stem: FastConvLayer;
  private readonly blocks: BuiltBlock[];
  private readonly head: FastConvLayer;

  constructor(plan: MobileNetV2Plan, packed: PackedWeights) {
    const built: FastConvLayer[] = [];
    const build = (layer: ConvLayerPlan): FastConvLayer => {
      const kernel = packedTensor(packed, `${layer.name}/kernel`, kernelShape(layer)) as tf.Tensor4D;
      const bias = packedTensor(packed, `${layer.name}/bias`, [layer.outChannels]) as tf.Tensor1D;
      const spec = { kernel, bias, stride: layer.stride, padding: layer.padding, activation: layer.activation };
      const fast = layer.kind === 'conv2d' ? fastConv2d(spec) : fastDepthwiseConv2d(spec);
      built.push(fast);
      return fast;
    };
    try {
      this.stem = build(plan.stem);
      this.blocks = plan.blocks.map((block) => ({
        layers: [block.expand, block.depthwise, block.project].filter((l): l is ConvLayerPlan => l !== null).map(build),
        residual: block.add !== null,
      }));
      this.head = build(plan.head);
    } catch (error) {
      for (const layer of built) layer.dispose();
      throw error;
    }
    this.featureDim = plan.featureDim;
  }

  /** [B,H,W,3] network input (already normalised) → [B,1280] pooled features. Differentiable w.r.t. x. */
  features(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = this.stem.apply(x);
      for (const block of this.blocks) {
        let out = h;
        for (const layer of block.layers) out = layer.apply(out);
        h = block.residual ? tf.add(h, out) : out;
      }
      return tf.mean(this.head.apply(h), [1, 2]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.stem.dispose();
    for (const block of this.blocks) for (const layer of block.layers) layer.dispose();
    this.head.dispose();
  }
}
