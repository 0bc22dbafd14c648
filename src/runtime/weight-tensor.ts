/**
 * A kept tensor made from host values that the caller hands over, stored once.
 *
 * wasm copies values into its heap when the tensor is made. tfjs-node instead keeps the JS array and copies it
 * into libtensorflow only when an op first reads the tensor, so a freshly loaded model holds every weight on the
 * JS heap until its first forward pass, and the garbage collector frees those arrays only later still: loading
 * ViT-bigG-14's 7.4 GB vision tower then peaked above 22 GB on a 24 GB machine. Handing the values to
 * libtensorflow at once leaves each array unreferenced as soon as its tensor exists.
 */
import * as tf from '@tensorflow/tfjs';

/** The private step of tfjs-node's backend that moves pending host values into libtensorflow tensors. */
interface TensorflowBackendInternals {
  getInputTensorIds(tensors: tf.Tensor[]): number[];
}

export function weightTensor(values: Float32Array, shape: number[]): tf.Tensor {
  const tensor = tf.keep(tf.tensor(values, shape, 'float32'));
  if (tf.getBackend() === 'tensorflow') {
    const backend = tf.backend() as unknown as Partial<TensorflowBackendInternals>;
    backend.getInputTensorIds?.call(backend, [tensor]);
  }
  return tensor;
}
