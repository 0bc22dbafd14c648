/**
 * Layer normalisation over the last axis, y = γ·(x − μ)/√(σ² + ε) + β, with a hand-written input gradient.
 *
 * tfjs differentiates the composed ops one by one (mean, sub, square, mean, add, rsqrt, mul, mul, add: about
 * 20 gradient kernels, with broadcasting reductions and copies). The closed form needs 8 elementwise/reduce
 * kernels on saved x̂ and 1/σ:
 *   g = dy·γ;  dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))
 * γ and β are constants to an attack, so their gradients are not computed.
 */
import * as tf from '@tensorflow/tfjs';

export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): T {
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const centred = tf.sub(input, tf.mean(input, -1, true));
    const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    const normalised = tf.mul(centred, invStd);
    save([normalised, invStd]);
    return {
      value: tf.add(tf.mul(normalised, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xHat, inv] = saved as [tf.Tensor, tf.Tensor];
        const g = tf.mul(dy, gamma);
        const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xHat, tf.mean(tf.mul(g, xHat), -1, true)));
        return [tf.mul(inner, inv)];
      },
    };
  }) as unknown as (x: tf.Tensor) => tf.Tensor;
  return normalise(x) as T;
}
