/**
 * Convolution layers whose *input* gradient is fast on wasm.
 *
 * Why: tfjs's tape asks for the gradient of every input of an op, the filter included, so `tf.grad` through a
 * plain conv calls Conv2DBackpropFilter / DepthwiseConv2dNativeBackprop*, which tfjs-backend-wasm 4.22 lacks (the
 * original nsfwjs MobileNetV2 gradient throws on wasm and takes ~44 s/img on cpu: test/fixtures/make-mobilenet-golden.ts). Each layer here is a `tf.customGrad` closure over
 * constant weights: the weights are not inputs, so only dx is ever asked for. dx is written as a *forward*
 * convolution (wasm's Conv2DBackpropInput is slow and its depthwise counterpart is missing):
 *
 *   forward (one axis):  y[o] = Σ_k x[o·s + k − p₀] · w[k]
 *   backward:           dx[i] = Σ_k' ď[i + k' − (K−1−p₀)] · w[K−1−k']
 *
 * where ď is dy dilated by the stride (s−1 zeros between entries). So dx is a stride-1 'valid' correlation of the
 * dilated, re-padded dy with the spatially flipped kernel (in/out channels swapped for a full conv). For a 1×1 conv
 * this is a conv of dy with the transposed kernel; for a stride-1 'same' 3×3 it is a 'same' conv with the flipped
 * kernel. ReLU6's mask is built from float ops only (boolean comparisons are slow on wasm).
 *
 * On the tensorflow backend (tfjs-node) the depthwise dx calls libtensorflow's own
 * DepthwiseConv2dNativeBackpropInput, which handles stride and padding without the dilation concat, and the ReLU6
 * mask is one Sign op instead of Step (six TensorFlow ops in tfjs-node): MobileNetV2 forward + input gradient on
 * tensorflow, batch 8, 1 thread, went from 146 to 47 ms/img at 128 px and from 525 to 191 ms/img at 224 px (same
 * run, loaded machine). The full conv2d keeps the forward-conv dx there too: TensorFlow 2.21's oneDNN
 * Conv2DBackpropInput returned a wrong dx for a stride-2 3×3 conv with 144 input channels (cos 0.97 against the
 * cpu backend; exact with TF_ENABLE_ONEDNN_OPTS=0).
 */
import * as tf from '@tensorflow/tfjs';

export type ConvActivation = 'linear' | 'relu6';

/** 'same' / 'valid' as tfjs defines them, or explicit zero padding [[top, bottom], [left, right]]. */
export type ConvPadding = 'same' | 'valid' | readonly [readonly [number, number], readonly [number, number]];

export interface ConvLayerSpec {
  /** [kh, kw, cin, cout] for conv2d; [kh, kw, channels, 1] for depthwise (depth multiplier 1). */
  kernel: tf.Tensor4D;
  /** [cout]; omitted = no bias. */
  bias?: tf.Tensor1D;
  /** One stride for both axes, or [strideH, strideW]. */
  stride: number | readonly [number, number];
  padding: ConvPadding;
  activation: ConvActivation;
}

/** A layer: apply() is differentiable w.r.t. its input only. It owns the tensors of its spec. */
export interface FastConvLayer {
  readonly kind: 'conv2d' | 'depthwise';
  readonly inChannels: number;
  readonly outChannels: number;
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** Output [height, width] for an input of [height, width]. */
  outputSize(height: number, width: number): [number, number];
  dispose(): void;
}

/** Padding along one axis, before and after, in input pixels. */
type AxisPad = readonly [number, number];

/** tfjs's own 'same'/'valid' rule (conv_util.computePadding), so that explicit numbers reproduce the fused op. */
export function axisPadding(padding: ConvPadding, axis: 0 | 1, size: number, kernel: number, stride: number): AxisPad {
  if (padding === 'valid') return [0, 0];
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max(0, (out - 1) * stride + kernel - size);
    const before = Math.floor(total / 2);
    return [before, total - before];
  }
  return padding[axis];
}

function axisOutput(size: number, kernel: number, stride: number, pad: AxisPad): number {
  return Math.floor((size + pad[0] + pad[1] - kernel) / stride) + 1;
}

/** Zero-pads (positive amounts) and crops (negative amounts) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, padH: AxisPad, padW: AxisPad): tf.Tensor4D {
  const grow = [padH, padW].map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]);
  let out = grow.some(([a, b]) => a > 0 || b > 0) ? tf.pad(x, [[0, 0], grow[0], grow[1], [0, 0]]) : x;
  const [n, h, w, c] = out.shape;
  const cut = [padH, padW].map(([a, b]) => [Math.max(-a, 0), Math.max(-b, 0)]);
  if (cut.some(([a, b]) => a > 0 || b > 0)) {
    out = tf.slice(out, [0, cut[0][0], cut[1][0], 0], [n, h - cut[0][0] - cut[0][1], w - cut[1][0] - cut[1][1], c]);
  }
  return out;
}

/**
 * Inserts (stride − 1) zeros after every row and column: [B,H,W,C] → [B,H·sh,W·sw,C]. The trailing zeros are
 * accounted for by the caller's padding. Built from concat + reshape, which are fast on wasm (no 5-D transposes).
 */
export function dilateWithZeros(dy: tf.Tensor4D, strideH: number, strideW: number): tf.Tensor4D {
  const [b, h, w, c] = dy.shape;
  let out: tf.Tensor = dy;
  if (strideW > 1) {
    const cols = out.reshape([b * h * w, 1, c]);
    out = tf.concat([cols, tf.zeros([b * h * w, strideW - 1, c])], 1);
  }
  const rowWidth = w * strideW * c;
  if (strideH > 1) {
    const rows = out.reshape([b * h, 1, rowWidth]);
    out = tf.concat([rows, tf.zeros([b * h, strideH - 1, rowWidth])], 1);
  }
  return out.reshape([b, h * strideH, w * strideW, c]);
}

/**
 * dL/dz from dL/dy for y = relu6(z), as y·(6−y) > 0 ⇔ 0 < y < 6, with float ops only. step and sign agree on
 * y·(6−y) ≥ 0 (1 above zero, 0 at zero); each backend gets the one it runs as a single kernel.
 */
function relu6Backward(dy: tf.Tensor4D, y: tf.Tensor4D, native: boolean): tf.Tensor4D {
  const inside = tf.mul(y, tf.sub(6, y));
  return tf.mul(dy, native ? tf.sign(inside) : tf.step(inside));
}

/** The backends whose kernels include libtensorflow's own depthwise input gradient. */
function hasNativeConvBackprop(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** Spatial flip of a [kh, kw, a, b] kernel, with the last two axes swapped when `swapChannels`. */
function flippedKernel(kernel: tf.Tensor4D, swapChannels: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const flipped = tf.reverse(kernel, [0, 1]);
    return swapChannels ? tf.transpose(flipped, [0, 1, 3, 2]) : flipped;
  });
}

function strides(stride: ConvLayerSpec['stride']): [number, number] {
  return typeof stride === 'number' ? [stride, stride] : [stride[0], stride[1]];
}

function validate(kind: FastConvLayer['kind'], spec: ConvLayerSpec): void {
  const [kh, kw, cin, cout] = spec.kernel.shape;
  if (kind === 'depthwise' && cout !== 1) throw new Error(`depthwise kernel must have depth multiplier 1, got shape [${spec.kernel.shape}]`);
  const outChannels = kind === 'depthwise' ? cin : cout;
  if (spec.bias && spec.bias.shape[0] !== outChannels) throw new Error(`bias has ${spec.bias.shape[0]} entries, expected ${outChannels}`);
  const [sh, sw] = strides(spec.stride);
  if (!(sh >= 1 && sw >= 1 && Number.isInteger(sh) && Number.isInteger(sw))) throw new Error(`bad stride ${spec.stride}`);
  if (kh < 1 || kw < 1) throw new Error(`bad kernel shape [${spec.kernel.shape}]`);
}

function createLayer(kind: FastConvLayer['kind'], spec: ConvLayerSpec): FastConvLayer {
  validate(kind, spec);
  const { kernel, bias, padding, activation } = spec;
  const [kh, kw, cin, cout] = kernel.shape;
  const [sh, sw] = strides(spec.stride);
  const backwardKernel = flippedKernel(kernel, kind === 'conv2d');
  const outChannels = kind === 'depthwise' ? cin : cout;

  const forwardConv = (x: tf.Tensor4D): tf.Tensor4D => {
    // Fused depthwise takes no explicit padding, so explicit padding becomes a pad + 'valid' for both kinds.
    const padded = typeof padding === 'string' ? x : padOrCrop(x, padding[0], padding[1]);
    const pad = typeof padding === 'string' ? padding : 'valid';
    const args = { x: padded, filter: kernel, strides: [sh, sw] as [number, number], pad, bias, activation };
    return kind === 'conv2d' ? tf.fused.conv2d(args) : tf.fused.depthwiseConv2d(args);
  };

  const backwardConv = (dz: tf.Tensor4D, inH: number, inW: number): tf.Tensor4D => {
    const axes = ([[inH, kh, sh, 0], [inW, kw, sw, 1]] as const).map(([size, k, s, axis]) => {
      const pad = axisPadding(padding, axis, size, k, s);
      const out = axisOutput(size, k, s, pad);
      const before = k - 1 - pad[0];
      // The dilated dy is out·s long (s−1 trailing zeros); the 'valid' conv must return exactly `size`.
      const after = size + k - 1 - before - out * s;
      return [before, after] as AxisPad;
    });
    const dilated = sh > 1 || sw > 1 ? dilateWithZeros(dz, sh, sw) : dz;
    const [padH, padW] = axes;
    const sameH = axisPadding('same', 0, dilated.shape[1], kh, 1);
    const sameW = axisPadding('same', 1, dilated.shape[2], kw, 1);
    let input = dilated;
    let pad: 'same' | 'valid' = 'valid';
    if (padH[0] === sameH[0] && padH[1] === sameH[1] && padW[0] === sameW[0] && padW[1] === sameW[1]) pad = 'same';
    else input = padOrCrop(dilated, padH, padW);
    return kind === 'conv2d' ? tf.conv2d(input, backwardKernel, 1, pad) : tf.depthwiseConv2d(input, backwardKernel, 1, pad);
  };

  /** Depthwise dx through libtensorflow's own input-gradient kernel: the transpose of forwardConv, explicit padding cropped. */
  const nativeDepthwiseBackward = (dz: tf.Tensor4D, inH: number, inW: number): tf.Tensor4D => {
    const explicit = typeof padding !== 'string';
    const [padH, padW] = explicit ? padding : [[0, 0], [0, 0]];
    const paddedShape: [number, number, number, number] = [dz.shape[0], inH + padH[0] + padH[1], inW + padW[0] + padW[1], cin];
    const dxPadded = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dz, filter: kernel }, {
      strides: [sh, sw],
      pad: explicit ? 'valid' : padding,
      dilations: [1, 1],
      inputShape: paddedShape,
    }) as tf.Tensor4D;
    return explicit ? padOrCrop(dxPadded, [-padH[0], -padH[1]], [-padW[0], -padW[1]]) : dxPadded;
  };

  const differentiable = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = forwardConv(x);
    if (activation === 'relu6') save([y]);
    const [, inH, inW] = x.shape;
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const native = hasNativeConvBackprop();
        const dz = activation === 'relu6' ? relu6Backward(dy, saved[0] as tf.Tensor4D, native) : dy;
        return [native && kind === 'depthwise' ? nativeDepthwiseBackward(dz, inH, inW) : backwardConv(dz, inH, inW)];
      },
    };
  });
  const apply = (x: tf.Tensor4D): tf.Tensor4D => differentiable(x);

  return {
    kind,
    inChannels: cin,
    outChannels,
    apply(x) {
      if (x.rank !== 4 || x.shape[3] !== cin) throw new Error(`${kind} layer expects [B,H,W,${cin}], got [${x.shape}]`);
      return apply(x);
    },
    outputSize(height, width) {
      return [
        axisOutput(height, kh, sh, axisPadding(padding, 0, height, kh, sh)),
        axisOutput(width, kw, sw, axisPadding(padding, 1, width, kw, sw)),
      ];
    },
    dispose() {
      kernel.dispose();
      bias?.dispose();
      backwardKernel.dispose();
    },
  };
}

/** A conv2d (+ bias, + optional ReLU6) whose input gradient runs as a forward conv. Owns spec's tensors. */
export function fastConv2d(spec: ConvLayerSpec): FastConvLayer {
  return createLayer('conv2d', spec);
}

/** A depthwise conv2d (multiplier 1, + bias, + optional ReLU6) with a forward-conv input gradient. Owns spec's tensors. */
export function fastDepthwiseConv2d(spec: ConvLayerSpec): FastConvLayer {
  return createLayer('depthwise', spec);
}

/**
 * Folds inference-mode batch normalisation into a preceding bias-free conv:
 * BN(z) = γ(z − μ)/√(σ² + ε) + β, so kernel' = kernel·γ/√(σ²+ε) per output channel and bias' = β − μ·γ/√(σ²+ε).
 * For a depthwise kernel [kh,kw,C,1] the output channel is axis 2.
 */
export function foldBatchNorm(
  kind: FastConvLayer['kind'],
  kernel: tf.Tensor4D,
  bn: { gamma: tf.Tensor1D; beta: tf.Tensor1D; movingMean: tf.Tensor1D; movingVariance: tf.Tensor1D; epsilon: number },
): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  return tf.tidy(() => {
    const scale = tf.div(bn.gamma, tf.sqrt(tf.add(bn.movingVariance, bn.epsilon))) as tf.Tensor1D;
    const channels = scale.shape[0];
    const broadcast = kind === 'conv2d' ? scale.reshape([1, 1, 1, channels]) : scale.reshape([1, 1, channels, 1]);
    return {
      kernel: tf.mul(kernel, broadcast) as tf.Tensor4D,
      bias: tf.sub(bn.beta, tf.mul(bn.movingMean, scale)) as tf.Tensor1D,
    };
  });
}
