/**
 * An EVA-CLIP checkpoint as an Encoder: the vision tower is built at load; the text tower (open_clip's CLIP text
 * transformer, src/models/clip/text-tower.ts) is read from the checkpoint on the first encodeText call, as CLIP's is
 * (src/models/clip/clip-encoder.ts), so attacks that never need text never hold its weights.
 */
import type * as tf from '@tensorflow/tfjs';
import type { EmbeddingKind, Encoder, FeatureKind, Rgb } from '../encoder.js';
import type { LoadProgress } from '../load-progress.js';
import type { TensorSource } from '../safetensors.js';
import { streamTowerParams } from '../tower-weights.js';
import { usableClipTokenizer, type ClipTokenizer } from '../clip/clip-tokenizer.js';
import { ClipTextTower } from '../clip/text-tower.js';
import type { EvaClipArchitecture } from './eva-architecture.js';
import { EvaVisionTower, type EvaReadout } from './eva-vision-tower.js';
import { evaParams } from './eva-weight-map.js';

/** The kinds an EVA-CLIP target gives: the CLS token before the head (the default, as CLIP's) and after it. */
export const EVA_FEATURE_KINDS: readonly EvaReadout[] = ['pre-projection', 'projected'];

export interface EvaEncoderOptions {
  id: string;
  architecture: EvaClipArchitecture;
  /** Already checked with checkEvaCheckpoint; the encoder closes it on dispose. */
  source: TensorSource;
  tokenizer: ClipTokenizer | null;
  features: EvaReadout;
  weightsSha256: string;
  onProgress?: (event: LoadProgress) => void;
}

export class EvaEncoder implements Encoder {
  readonly id: string;
  readonly inputSize: number;
  readonly embedDim: number;
  readonly mean: Rgb;
  readonly std: Rgb;
  readonly features: EmbeddingKind;
  readonly featureKinds: readonly FeatureKind[] = EVA_FEATURE_KINDS;
  readonly weightsSha256: string;
  private readonly vision: EvaVisionTower;
  private text: ClipTextTower | null = null;

  constructor(private readonly options: EvaEncoderOptions) {
    const { architecture: arch } = options;
    this.id = options.id;
    this.inputSize = arch.vision.imageSize;
    this.features = options.features;
    this.embedDim = options.features === 'projected' ? arch.embedDim : arch.vision.width;
    this.mean = arch.mean;
    this.std = arch.std;
    this.weightsSha256 = options.weightsSha256;
    const onProgress = options.onProgress;
    const weights = streamTowerParams(options.source, evaParams(arch, 'vision'), onProgress && ((loaded, total) => onProgress({ kind: 'tensors', tower: 'vision', loaded, total })));
    this.vision = new EvaVisionTower(arch, weights, { inputGradient: true });
  }

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    if (!this.featureKinds.includes(kind)) throw new Error(`${this.id}: no '${kind}' features; EVA-CLIP has ${this.featureKinds.join(', ')}`);
    return this.vision.forward(pixels, kind as EvaReadout);
  }

  encodeText(prompts: readonly string[]): tf.Tensor2D {
    const arch = this.options.architecture;
    const tokenizer = usableClipTokenizer(this.id, this.options.tokenizer, arch.text.vocabSize);
    if (!this.text) this.text = new ClipTextTower(arch, streamTowerParams(this.options.source, evaParams(arch, 'text')));
    return this.text.forward(tokenizer.tokenize(prompts, arch.text.contextLength));
  }

  dispose(): void {
    this.vision.dispose();
    this.text?.dispose();
    this.text = null;
    this.options.source.close();
  }
}
