/**
 * An encoder family (mobilenet-v2, clip, dinov2, siglip, eva-clip) knows how to validate its target config, estimate
 * its memory and load weights into an Encoder. Families are registered once, in create-encoder.ts.
 */
import type { BackendReport } from '../runtime/backend.js';
import type { EmbeddingKind, Encoder, FeatureKind } from './encoder.js';
import type { LoadProgress } from './load-progress.js';

/** A target config as read from configs/targets/*.json (or built from a checkpoint directory). */
export interface TargetConfig {
  /** Preset name, e.g. 'vit-g' or 'mobilenet-v2'. */
  name: string;
  /** Key into the encoder-family registry. */
  family: string;
  description: string;
  /** Where the config came from (a file path), for error messages. */
  origin: string;
  /** The rest is family-specific and validated by the family. */
  [field: string]: unknown;
}

export interface LoadOptions {
  /** Local weights directory (--weights). */
  weights?: string;
  /** Override of the config's default feature kind (--features). */
  features?: EmbeddingKind;
  /** Override of the input size, for families whose input size is free (mobilenet-v2; dinov2 resamples its positions). */
  inputSize?: number;
  backend: BackendReport;
  /** Progress/log sink for long loads (downloads). */
  log?: (message: string) => void;
  /** Bytes downloaded and tensors loaded, as they go. */
  onProgress?: (event: LoadProgress) => void;
}

/**
 * `T` is the family's typed reading of a target config: `validate` parses the config once into it, and
 * `estimateBytes` and `load` take that, never the raw config again.
 */
export interface EncoderFamily<T = unknown> {
  readonly name: string;
  /** Every feature kind the family's encoders give (README, --help); a target's default is one of them. */
  readonly featureKinds: readonly FeatureKind[];
  /** The family-specific fields a target config may hold (besides name, family and description). */
  readonly configFields: readonly string[];
  /** The typed target; throws UserError naming config.origin and the bad field. */
  validate(config: TargetConfig): T;
  /** Approximate bytes of tensor memory to run input gradients at batch 1 on the given backend. */
  estimateBytes(target: T, options: LoadOptions): number;
  load(target: T, options: LoadOptions): Promise<Encoder>;
  /** When `dir` is a checkpoint directory of this family, a config describing it; else null. */
  configFromCheckpointDir?(dir: string): TargetConfig | null;
  /** The checkpoint directories configFromCheckpointDir recognises, in a few words (for errors and the README). */
  readonly checkpointFormats?: string;
}
