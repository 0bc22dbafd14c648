/**
 * A CLIP checkpoint as an Encoder: the vision tower is built at load; the text tower is read from the
 * checkpoint only on the first encodeText call, so attacks that never need text never hold its weights.
 */
import type * as tf from '@tensorflow/tfjs';
import { LOCAL_FEATURE_KIND, type EmbeddingKind, type Encoder, type FeatureKind, type Rgb } from '../encoder.js';
import type { TensorSource } from '../safetensors.js';
import type { ClipArchitecture } from './clip-architecture.js';
import { usableClipTokenizer, type ClipTokenizer } from './clip-tokenizer.js';
import type { LoadProgress } from '../load-progress.js';
import { streamTowerParams, towerParams, type ClipLayout } from './clip-weight-map.js';
import { ClipTextTower } from './text-tower.js';
import { ClipVisionTower } from './vision-tower.js';

export interface ClipEncoderOptions {
  /** Reports the vision tower's tensors as they load (the text tower loads on first use, in a fraction of the time). */
  onProgress?: (event: LoadProgress) => void;
  id: string;
  architecture: ClipArchitecture;
  layout: ClipLayout;
  /** Already checked with checkCheckpointKeys; the encoder closes it on dispose. */
  source: TensorSource;
  tokenizer: ClipTokenizer | null;
  features: EmbeddingKind;
  weightsSha256: string;
}

/** The embeddings a CLIP target can give (its per-patch kind aside). */
export const CLIP_FEATURE_KINDS: readonly EmbeddingKind[] = ['pre-projection', 'projected'];

export class ClipEncoder implements Encoder {
  readonly id: string;
  readonly inputSize: number;
  readonly embedDim: number;
  readonly mean: Rgb;
  readonly std: Rgb;
  readonly features: EmbeddingKind;
  readonly featureKinds: readonly FeatureKind[] = [...CLIP_FEATURE_KINDS, LOCAL_FEATURE_KIND];
  readonly weightsSha256: string;
  private readonly vision: ClipVisionTower;
  private text: ClipTextTower | null = null;
  private readonly options: ClipEncoderOptions;

  constructor(options: ClipEncoderOptions) {
    const { architecture: arch } = options;
    this.options = options;
    this.id = options.id;
    this.inputSize = arch.vision.imageSize;
    this.features = options.features;
    this.embedDim = options.features === 'projected' ? arch.embedDim : arch.vision.width;
    this.mean = arch.mean;
    this.std = arch.std;
    this.weightsSha256 = options.weightsSha256;
    const onProgress = options.onProgress;
    const weights = streamTowerParams(options.source, towerParams(arch, options.layout, 'vision'), onProgress && ((loaded, total) => onProgress({ kind: 'tensors', tower: 'vision', loaded, total })));
    this.vision = new ClipVisionTower(arch, weights, { inputGradient: true });
  }

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    if (!this.featureKinds.includes(kind)) throw new Error(`${this.id}: no '${kind}' features; CLIP has ${this.featureKinds.join(', ')}`);
    return this.vision.forward(pixels, kind);
  }

  encodeText(prompts: readonly string[]): tf.Tensor2D {
    const arch = this.options.architecture;
    const tokenizer = usableClipTokenizer(this.id, this.options.tokenizer, arch.text.vocabSize);
    if (!this.text) {
      this.text = new ClipTextTower(arch, streamTowerParams(this.options.source, towerParams(arch, this.options.layout, 'text')));
    }
    return this.text.forward(tokenizer.tokenize(prompts, arch.text.contextLength));
  }

  dispose(): void {
    this.vision.dispose();
    this.text?.dispose();
    this.text = null;
    this.options.source.close();
  }
}
