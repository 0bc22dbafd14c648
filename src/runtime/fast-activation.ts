/**
 * The ViT MLP activations with hand-written input gradients (CLIP's GELUs; SiLU for DINOv2's SwiGLU; SigLIP's
 * tanh-approximated GELU).
 *
 * tfjs's own gradients of the composed forms (x·σ(1.702x); ½x(1 + erf(x/√2))) run about twice as many kernels
 * on the MLP's widest tensor ([tokens, 4·width]) and re-derive what the forward pass already computed. Here the
 * forward pass saves σ (or Φ) and the backward pass is the closed-form derivative:
 *   QuickGELU (OpenAI): y = x·s, s = σ(1.702x);   dy/dx = s·(1 + 1.702·x·(1 − s))
 *   SiLU (swish):       y = x·s, s = σ(x);          dy/dx = s·(1 + x·(1 − s))   (the same form, slope 1)
 *   GELU (exact):       y = x·Φ(x);               dy/dx = Φ(x) + x·φ(x),  φ(x) = exp(−x²/2)/√(2π)
 *   GELU (tanh approx., PyTorch's approximate='tanh', transformers' gelu_pytorch_tanh; Hendrycks & Gimpel 2016, §2):
 *                       y = ½x(1 + t), t = tanh(u), u = √(2/π)(x + 0.044715x³);
 *                       dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
 */
import * as tf from '@tensorflow/tfjs';

export type MlpActivation = 'quick_gelu' | 'gelu' | 'gelu_tanh' | 'silu';

const QUICK_GELU_SLOPE = 1.702; // Hendrycks & Gimpel 2016, §2: σ(1.702x) ≈ Φ(x)
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** y = x·σ(slope·x): QuickGELU at slope 1.702, SiLU at slope 1. */
function sigmoidGated(slope: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const s = tf.sigmoid(slope === 1 ? x : tf.mul(x, slope));
    save([x, s]);
    return {
      value: tf.mul(x, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss] = saved as [tf.Tensor, tf.Tensor];
        const inner = tf.mul(sx, tf.sub(1, ss));
        const factor = tf.add(slope === 1 ? inner : tf.mul(inner, slope), 1);
        return [tf.mul(dy, tf.mul(ss, factor))];
      },
    };
  }) as unknown as (x: tf.Tensor) => tf.Tensor;
}

const quickGelu = sigmoidGated(QUICK_GELU_SLOPE);
const silu = sigmoidGated(1);

const exactGelu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sc] = saved as [tf.Tensor, tf.Tensor];
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI);
      return [tf.mul(dy, tf.add(sc, tf.mul(sx, pdf)))];
    },
  };
}) as unknown as (x: tf.Tensor) => tf.Tensor;

const TANH_GELU_SCALE = Math.sqrt(2 / Math.PI);
const TANH_GELU_CUBIC = 0.044715;

const tanhGelu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), TANH_GELU_CUBIC)), TANH_GELU_SCALE);
  const t = tf.tanh(inner);
  save([x, t]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(t, 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, st] = saved as [tf.Tensor, tf.Tensor];
      const du = tf.mul(tf.add(tf.mul(tf.square(sx), 3 * TANH_GELU_CUBIC), 1), TANH_GELU_SCALE);
      const slope = tf.add(tf.mul(tf.add(st, 1), 0.5), tf.mul(tf.mul(tf.mul(sx, 0.5), tf.sub(1, tf.square(st))), du));
      return [tf.mul(dy, slope)];
    },
  };
}) as unknown as (x: tf.Tensor) => tf.Tensor;

const ACTIVATIONS: Record<MlpActivation, (x: tf.Tensor) => tf.Tensor> = { quick_gelu: quickGelu, gelu: exactGelu, gelu_tanh: tanhGelu, silu };

export function mlpActivation<T extends tf.Tensor>(x: T, kind: MlpActivation): T {
  return ACTIVATIONS[kind](x) as T;
}
