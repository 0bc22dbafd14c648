/**
 * The MobileNetV2 backbone (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
 * Table 2, width multiplier 1.0) as a list of conv layers named the way keras.applications names them, which is
 * how the nsfwjs 4.4.0 model names its layers and weights.
 *
 * BatchNorm is folded into each conv (so every conv carries a bias); each layer says which keras layers it
 * absorbs, so the weight extraction can check the original model's configuration against this table.
 */
import { axisPadding, type ConvActivation, type ConvPadding } from '../../runtime/fast-conv.js';

export interface ConvLayerPlan {
  kind: 'conv2d' | 'depthwise';
  /** keras name of the conv layer; folded weights are stored as `${name}/kernel` and `${name}/bias`. */
  name: string;
  /** keras name of the BatchNormalization that follows it. */
  batchNorm: string;
  /** keras name of the ReLU(maxValue 6) that follows the BN, if any (project convs are linear). */
  relu6: string | null;
  /** keras name of the ZeroPadding2D before it, if any. */
  zeroPadding: string | null;
  kernelSize: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  padding: ConvPadding;
  activation: ConvActivation;
}

export interface InvertedResidualPlan {
  expand: ConvLayerPlan | null;
  depthwise: ConvLayerPlan;
  project: ConvLayerPlan;
  /** keras name of the Add layer when the block has a residual connection (stride 1, same width). */
  add: string | null;
}

export interface MobileNetV2Plan {
  stem: ConvLayerPlan;
  blocks: InvertedResidualPlan[];
  head: ConvLayerPlan;
  /** Width of the pooled features (keras `flatten_1` in the nsfwjs model). */
  featureDim: number;
}

/**
 * Table 2 of the paper: expansion t, output channels c, repeats n, first stride s. Width multiplier 1.0, so the
 * last conv has 1280 channels.
 */
const BOTTLENECKS: ReadonlyArray<{ t: number; c: number; n: number; s: number }> = [
  { t: 1, c: 16, n: 1, s: 1 },
  { t: 6, c: 24, n: 2, s: 2 },
  { t: 6, c: 32, n: 3, s: 2 },
  { t: 6, c: 64, n: 4, s: 2 },
  { t: 6, c: 96, n: 3, s: 1 },
  { t: 6, c: 160, n: 3, s: 2 },
  { t: 6, c: 320, n: 1, s: 1 },
];

/**
 * keras.applications pads stride-2 convs with ZeroPadding2D(correct_pad) and then a 'valid' conv; at the even
 * input size the model was exported at (224) that padding is [[0,1],[0,1]]. The rebuilt graph keeps the padding
 * fixed, as the exported layers do, whatever the input size.
 */
const STRIDE2_PADDING: ConvPadding = [
  [0, 1],
  [0, 1],
];

function conv(plan: Omit<ConvLayerPlan, 'zeroPadding' | 'padding'> & { zeroPadding?: string | null }): ConvLayerPlan {
  const zeroPadding = plan.zeroPadding ?? null;
  return { ...plan, zeroPadding, padding: zeroPadding ? STRIDE2_PADDING : 'same' };
}

export function mobileNetV2Plan(): MobileNetV2Plan {
  const stem = conv({
    kind: 'conv2d', name: 'Conv1', batchNorm: 'bn_Conv1', relu6: 'Conv1_relu', zeroPadding: 'Conv1_pad',
    kernelSize: 3, inChannels: 3, outChannels: 32, stride: 2, activation: 'relu6',
  });
  const blocks: InvertedResidualPlan[] = [];
  let channels = 32;
  for (const { t, c, n, s } of BOTTLENECKS) {
    for (let repeat = 0; repeat < n; repeat++) {
      const index = blocks.length;
      // keras names the first block 'expanded_conv' (it has no expansion) and the rest 'block_<i>'.
      const prefix = index === 0 ? 'expanded_conv' : `block_${index}`;
      const stride = repeat === 0 ? s : 1;
      const hidden = channels * t;
      const expand = t === 1 ? null : conv({
        kind: 'conv2d', name: `${prefix}_expand`, batchNorm: `${prefix}_expand_BN`, relu6: `${prefix}_expand_relu`,
        kernelSize: 1, inChannels: channels, outChannels: hidden, stride: 1, activation: 'relu6',
      });
      const depthwise = conv({
        kind: 'depthwise', name: `${prefix}_depthwise`, batchNorm: `${prefix}_depthwise_BN`, relu6: `${prefix}_depthwise_relu`,
        zeroPadding: stride === 2 ? `${prefix}_pad` : null,
        kernelSize: 3, inChannels: hidden, outChannels: hidden, stride, activation: 'relu6',
      });
      const project = conv({
        kind: 'conv2d', name: `${prefix}_project`, batchNorm: `${prefix}_project_BN`, relu6: null,
        kernelSize: 1, inChannels: hidden, outChannels: c, stride: 1, activation: 'linear',
      });
      const add = stride === 1 && channels === c ? `${prefix}_add` : null;
      blocks.push({ expand, depthwise, project, add });
      channels = c;
    }
  }
  const head = conv({
    kind: 'conv2d', name: 'Conv_1', batchNorm: 'Conv_1_bn', relu6: 'out_relu',
    kernelSize: 1, inChannels: channels, outChannels: 1280, stride: 1, activation: 'relu6',
  });
  return { stem, blocks, head, featureDim: 1280 };
}

/** Every conv of the plan, in execution order. */
export function planLayers(plan: MobileNetV2Plan): ConvLayerPlan[] {
  const layers = [plan.stem];
  for (const block of plan.blocks) {
    if (block.expand) layers.push(block.expand);
    layers.push(block.depthwise, block.project);
  }
  layers.push(plan.head);
  return layers;
}

/** Shape of the folded kernel of a planned layer. */
export function kernelShape(layer: ConvLayerPlan): [number, number, number, number] {
  const k = layer.kernelSize;
  return layer.kind === 'depthwise' ? [k, k, layer.inChannels, 1] : [k, k, layer.inChannels, layer.outChannels];
}

/** Smallest square input: the five stride-2 stages must leave at least one pixel. */
export const MIN_INPUT_SIZE = 32;

/**
 * Elements of every conv output for one size×size image, i.e. what a forward + backward pass keeps alive
 * (saved activations and their gradients), for memory estimates.
 */
export function planActivationElements(plan: MobileNetV2Plan, size: number): number {
  let elements = 0;
  let side = size;
  for (const layer of planLayers(plan)) {
    const pad = axisPadding(layer.padding, 0, side, layer.kernelSize, layer.stride);
    side = Math.floor((side + pad[0] + pad[1] - layer.kernelSize) / layer.stride) + 1;
    elements += side * side * layer.outChannels;
  }
  return elements;
}
