/**
 * The one interface every target model implements. attacks/, detectors and the CLI see only this.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * The image embeddings encodeImage can return, one vector per image. 'pre-projection' is what the paper attacks
 * (the CLS token after ln_post, before the projection: 1664-d for ViT-bigG) and each family's own pooled image
 * embedding where it has no projection (MobileNetV2's pooled features, DINOv2's pooler_output); 'projected' lives
 * in the joint image–text space (CLIP); 'cls-patch-mean' is the CLS token ⊕ the mean patch token, the input of
 * DINOv2's linear probes (DINOv2 only). These are the kinds a preset, an attack or `--features` may choose; each
 * encoder lists the ones it has in `featureKinds`.
 */
export const FEATURE_KINDS = ['pre-projection', 'projected', 'cls-patch-mean'] as const;
export type EmbeddingKind = (typeof FEATURE_KINDS)[number];

/**
 * Per-patch features in the joint image–text space, for detectors that look at image regions (GL-MCM). A row is
 * the 'projected' embedding followed by one projected local feature per patch, (1 + patches) · embedDim values,
 * so that it stays one row per image in a FeatureSet and one differentiable [B, ·] tensor for an attack. Only
 * text-capable ViT encoders have it (src/models/clip/vision-tower.ts says how the local features are made).
 */
export const LOCAL_FEATURE_KIND = 'local-projected';

export type FeatureKind = EmbeddingKind | typeof LOCAL_FEATURE_KIND;

export type Rgb = readonly [number, number, number];

export interface Encoder {
  /** Stable identity used in caches and provenance, e.g. 'mobilenet-v2@128' or 'vit-g'. */
  readonly id: string;
  /** Square input side in pixels. */
  readonly inputSize: number;
  /**
   * The shortest image side is resized to this before the centre crop to inputSize (DINOv2: 256 for 224); absent:
   * inputSize, CLIP's resize-and-crop.
   */
  readonly resizeSize?: number;
  /**
   * 'squash': both sides are resized to inputSize, no crop (SigLIP's SiglipImageProcessor); absent or 'shortest':
   * the shortest side is resized and the centre cropped.
   */
  readonly resizeMode?: 'shortest' | 'squash';
  /** Width of encodeImage's output for the encoder's default feature kind. */
  readonly embedDim: number;
  /** Per-channel normalisation applied inside encodeImage; callers always pass [0,1] pixels. */
  readonly mean: Rgb;
  readonly std: Rgb;
  /** The default representation of encodeImage. */
  readonly features: EmbeddingKind;
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
