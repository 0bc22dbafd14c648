/**
 * The embedded MobileNetV2 backbone as an Encoder: pooled 1280-d features of [0,1] pixels at any input size
 * from 32 up (src/models/mobilenet/mobilenet-family.ts validates and loads it).
 */
import * as tf from '@tensorflow/tfjs';
import type { EmbeddingKind, Encoder, FeatureKind, Rgb } from '../encoder.js';
import type { MobileNetV2Network } from './mobilenet-v2-network.js';

/** The only kind: the backbone has no projection head. */
export const MOBILENET_FEATURE_KINDS: readonly FeatureKind[] = ['pre-projection'];

/**
 * nsfwjs feeds `img.toFloat().div(255)` straight into the network (dist/esm/core.js, NSFWJS.infer): the model was
 * trained on [0,1] pixels, not keras's [-1,1]. So the normalisation is the identity.
 */
const MEAN: Rgb = [0, 0, 0];
const STD: Rgb = [1, 1, 1];

export class MobileNetV2Encoder implements Encoder {
  readonly id: string;
  readonly embedDim: number;
  readonly mean = MEAN;
  readonly std = STD;
  readonly featureKinds = MOBILENET_FEATURE_KINDS;

  constructor(
    readonly inputSize: number,
    readonly features: EmbeddingKind,
    readonly weightsSha256: string,
    private readonly network: MobileNetV2Network,
  ) {
    // Features differ with the input size, so the size is part of the identity used by caches and provenance.
    this.id = `mobilenet-v2@${inputSize}`;
    this.embedDim = network.featureDim;
  }

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    if (!MOBILENET_FEATURE_KINDS.includes(kind)) throw new Error(`${this.id}: no '${kind}' features; it has only 'pre-projection'`);
    const [, h, w, c] = pixels.shape;
    if (pixels.rank !== 4 || h !== this.inputSize || w !== this.inputSize || c !== 3) {
      throw new Error(`${this.id}: encodeImage expects [B,${this.inputSize},${this.inputSize},3] pixels in [0,1], got [${pixels.shape}]`);
    }
    // MEAN/STD are the identity (see above), so the [0,1] pixels are the network input as they are.
    return this.network.features(pixels);
  }

  dispose(): void {
    this.network.dispose();
  }
}
