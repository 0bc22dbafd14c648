/**
 * Many small independent matrix products at once (one per image and attention head), for the attention core.
 *
 * On wasm, a batched `matMul` runs tfjs's scalar fallback loop: XNNPACK is used only when both operands have
 * batch 1 (tfjs-backend-wasm batch_mat_mul_impl.cc), so attention's 96 products of 50×64·64×50 (ViT-B/32,
 * batch 8) run at ~3 GFLOP/s, whatever the transpose flags. A depthwise convolution with channel multiplier N is
 * a grouped convolution, which XNNPACK runs as one GEMM per group: the same products take 1.5–2.5 ms instead of
 * 9.7 ms (measured on this machine, wasm, 1 thread). Splitting into 96 2-D matMuls is slower still (35–110 ms:
 * per-op overhead).
 *
 * The trick: lay a out as one image row [1, 1, M·K, G] (G channels), b as a 1×K filter [1, K, G, N], and
 * stride K along the row, so output pixel m of channel g·N+n is Σ_k a[m,k,g]·b[k,g,n].
 *
 * Forward only on wasm (it has no depthwise backprop kernels): call it inside a custom gradient whose backward
 * pass is written with groupedMatMul again, as fast-attention.ts does.
 */
import * as tf from '@tensorflow/tfjs';

export type GroupedMatMulMethod = 'depthwise-conv' | 'batched-matmul';

/**
 * The wasm backend gets the depthwise-conv route; native TensorFlow and the cpu backend have fast batched
 * matmuls (and cuDNN is not tuned for 1×K filters with large multipliers), so they keep batched matMul.
 */
export function defaultGroupedMatMulMethod(): GroupedMatMulMethod {
  return tf.getBackend() === 'wasm' ? 'depthwise-conv' : 'batched-matmul';
}

/**
 * The methods the current backend can run. Native TensorFlow's CPU depthwise kernel refuses the 1×K stride
 * ("Current implementation only supports equal length strides in the row and column dimensions", TensorFlow
 * 2.21 from the pip wheel), so there only batched matMul is offered.
 */
export function groupedMatMulMethods(): GroupedMatMulMethod[] {
  return tf.getBackend().startsWith('tensorflow') ? ['batched-matmul'] : ['depthwise-conv', 'batched-matmul'];
}

/** out[m, g, n] = Σ_k a[m, k, g] · b[k, g, n], for a: [M, K, G], b: [K, G, N] → [M, G, N]. */
export function groupedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, method: GroupedMatMulMethod = defaultGroupedMatMulMethod()): tf.Tensor3D {
  if (!groupedMatMulMethods().includes(method)) throw new Error(`groupedMatMul: the ${tf.getBackend()} backend cannot run the ${method} method`);
  const [m, k, g] = a.shape;
  const [kb, gb, n] = b.shape;
  if (k !== kb || g !== gb) {
    throw new Error(`groupedMatMul: a is [${a.shape.join(', ')}] ([M,K,G]), b is [${b.shape.join(', ')}] ([K,G,N]): K and G must agree`);
  }
  return tf.tidy(() => {
    if (method === 'batched-matmul') {
      const product = tf.matMul(tf.transpose(a, [2, 0, 1]), tf.transpose(b, [1, 0, 2])); // [G, M, N]
      return tf.transpose(product, [1, 0, 2]) as tf.Tensor3D;
    }
    const row = tf.reshape(a, [1, 1, m * k, g]) as tf.Tensor4D;
    const filter = tf.reshape(b, [1, k, g, n]) as tf.Tensor4D;
    return tf.reshape(tf.depthwiseConv2d(row, filter, [1, k], 'valid'), [m, g, n]) as tf.Tensor3D;
  });
}
