/**
 * The one interface every target model implements. attacks/, detectors and the CLI see only this.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * Which representation encodeImage returns. 'pre-projection' is what the paper attacks (the CLS token after
 * ln_post, before the projection: 1664-d for ViT-bigG); 'projected' lives in the joint image–text space.
 * Encoders without a projection (MobileNetV2) only have 'pre-projection' (their pooled features).
 */
export const FEATURE_KINDS = ['pre-projection', 'projected'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

export type Rgb = readonly [number, number, number];

export interface Encoder {
  /** Stable identity used in caches and provenance, e.g. 'mobilenet-v2@128' or 'vit-g'. */
  readonly id: string;
  /** Square input side in pixels. */
  readonly inputSize: number;
  /** Width of encodeImage's output for the encoder's default feature kind. */
  readonly embedDim: number;
  /** Per-channel normalisation applied inside encodeImage; callers always pass [0,1] pixels. */
  readonly mean: Rgb;
  readonly std: Rgb;
  /** The default representation of encodeImage. */
  readonly features: FeatureKind;
  /** Feature kinds this encoder can produce. */
  readonly featureKinds: readonly FeatureKind[];
  /** sha256 of the weights actually loaded (provenance for releases and caches). */
  readonly weightsSha256: string;
  /**
   * [B,H,W,3] float32 pixels in [0,1] at inputSize → [B,D] features. Differentiable w.r.t. the pixels.
   * `kind` defaults to `features`.
   */
  encodeImage(pixels: tf.Tensor4D, kind?: FeatureKind): tf.Tensor2D;
  /** Projected text embeddings [N, D_proj] (not normalised). Only text-capable encoders (CLIP) have it. */
  encodeText?(prompts: readonly string[]): tf.Tensor2D;
  /** Releases every weight tensor. */
  dispose(): void;
}
