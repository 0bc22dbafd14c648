/**
 * The ViT MLP activations with hand-written input gradients (CLIP's GELUs; SiLU for DINOv2's SwiGLU).
 *
 * tfjs's own gradients of the composed forms (x·σ(1.702x); ½x(1 + erf(x/√2))) run about twice as many kernels
 * on the MLP's widest tensor ([tokens, 4·width]) and re-derive what the forward pass already computed. Here the
 * forward pass saves σ (or Φ) and the backward pass is the closed-form derivative:
 *   QuickGELU (OpenAI): y = x·s, s = σ(1.702x);   dy/dx = s·(1 + 1.702·x·(1 − s))
 *   SiLU (swish):       y = x·s, s = σ(x);          dy/dx = s·(1 + x·(1 − s))   (the same form, slope 1)
 *   GELU (exact):       y = x·Φ(x);               dy/dx = Φ(x) + x·φ(x),  φ(x) = exp(−x²/2)/√(2π)
 */
import * as tf from '@tensorflow/tfjs';

export type MlpActivation = 'quick_gelu' | 'gelu' | 'silu';

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

export function mlpActivation<T extends tf.Tensor>(x: T, kind: MlpActivation): T {
  return (kind === 'quick_gelu' ? quickGelu(x) : kind === 'silu' ? silu(x) : exactGelu(x)) as T;
}
