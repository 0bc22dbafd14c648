/**
 * A DINOv2 checkpoint as an Encoder. Image features only: DINOv2 has no text tower, so it has no encodeText, and
 * the detectors and targets that need text refuse it (src/models/prompt-ensemble.ts, the detector registry's needs).
 */
import type * as tf from '@tensorflow/tfjs';
import type { EmbeddingKind, Encoder, FeatureKind, Rgb } from '../encoder.js';
import type { TensorSource } from '../safetensors.js';
import type { LoadProgress } from '../load-progress.js';
import { streamTowerParams } from '../tower-weights.js';
import type { Dinov2Architecture } from './dinov2-architecture.js';
import { Dinov2Tower, type Dinov2Readout } from './dinov2-tower.js';
import { dinov2Params } from './dinov2-weight-map.js';

/** The kinds a DINOv2 target can give: pooler_output, and CLS ⊕ mean patch token (twice as wide). */
export const DINOV2_FEATURE_KINDS: readonly Dinov2Readout[] = ['pre-projection', 'cls-patch-mean'];

export interface Dinov2EncoderOptions {
  id: string;
  architecture: Dinov2Architecture;
  /** Already checked with checkDinov2Checkpoint; read once at construction and closed there. */
  source: TensorSource;
  features: Dinov2Readout;
  weightsSha256: string;
  /** Reports the tensors as they load. */
  onProgress?: (event: LoadProgress) => void;
}

export class Dinov2Encoder implements Encoder {
  readonly id: string;
  readonly inputSize: number;
  readonly resizeSize: number;
  readonly embedDim: number;
  readonly mean: Rgb;
  readonly std: Rgb;
  readonly features: EmbeddingKind;
  readonly featureKinds: readonly FeatureKind[] = DINOV2_FEATURE_KINDS;
  readonly weightsSha256: string;
  private readonly tower: Dinov2Tower;

  constructor(options: Dinov2EncoderOptions) {
    const { architecture: arch } = options;
    this.id = options.id;
    this.inputSize = arch.inputSize;
    this.resizeSize = arch.resizeSize;
    this.features = options.features;
    this.embedDim = options.features === 'cls-patch-mean' ? 2 * arch.width : arch.width;
    this.mean = arch.mean;
    this.std = arch.std;
    this.weightsSha256 = options.weightsSha256;
    try {
      const onProgress = options.onProgress;
      const weights = streamTowerParams(options.source, dinov2Params(arch), onProgress && ((loaded, total) => onProgress({ kind: 'tensors', tower: 'vision', loaded, total })));
      this.tower = new Dinov2Tower(arch, weights, { inputGradient: true });
    } finally {
      options.source.close(); // every tensor is read at construction: nothing is loaded later
    }
  }

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    if (!(DINOV2_FEATURE_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`${this.id}: no '${kind}' features; DINOv2 has ${DINOV2_FEATURE_KINDS.join(', ')}`);
    }
    return this.tower.forward(pixels, kind as Dinov2Readout);
  }

  dispose(): void {
    this.tower.dispose();
  }
}
