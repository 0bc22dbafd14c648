/**
 * A SigLIP checkpoint as an Encoder: the vision tower is built at load; the text tower is read from the checkpoint on
 * the first encodeText call (as CLIP's, src/models/clip/clip-encoder.ts), so attacks that never need text never hold
 * its weights.
 */
import type * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import type { EmbeddingKind, Encoder, FeatureKind, Rgb } from '../encoder.js';
import type { HfTokenizer } from '../hf-tokenizer.js';
import type { LoadProgress } from '../load-progress.js';
import type { TensorSource } from '../safetensors.js';
import { streamTowerParams } from '../tower-weights.js';
import type { SiglipArchitecture } from './siglip-architecture.js';
import { SiglipTextTower } from './siglip-text-tower.js';
import { SiglipVisionTower, type SiglipReadout } from './siglip-vision-tower.js';
import type { SiglipLayout } from './siglip-checkpoint.js';
import { openClipSiglipParams, siglipParams, siglipVisionPrefix, type SiglipTowerName } from './siglip-weight-map.js';
import { cleanPrompt, type PromptCleaning } from './prompt-cleaning.js';

/** The kinds a SigLIP target can give: the MAP head's output (the default) and the mean of the tokens before it. */
export const SIGLIP_FEATURE_KINDS: readonly SiglipReadout[] = ['projected', 'pre-projection'];

export interface SiglipEncoderOptions {
  id: string;
  architecture: SiglipArchitecture;
  layout: SiglipLayout;
  /** open_clip's cleaning of prompts before its tokenizer; null: none (transformers). */
  promptCleaning: PromptCleaning | null;
  /** Already checked against `layout`; the encoder closes it on dispose. */
  source: TensorSource;
  /** The checkpoint's tokenizer.json, or why there is none (a one-line reason for encodeText). */
  tokenizer: HfTokenizer | { missing: string };
  features: SiglipReadout;
  weightsSha256: string;
  onProgress?: (event: LoadProgress) => void;
}

export class SiglipEncoder implements Encoder {
  readonly id: string;
  readonly inputSize: number;
  readonly resizeMode = 'squash' as const;
  readonly embedDim: number;
  readonly mean: Rgb;
  readonly std: Rgb;
  readonly features: EmbeddingKind;
  readonly featureKinds: readonly FeatureKind[];
  readonly weightsSha256: string;
  /** Present only where the checkpoint has a text tower (SiglipModel): what the zero-shot detectors look for. */
  readonly encodeText?: (prompts: readonly string[]) => tf.Tensor2D;
  private readonly vision: SiglipVisionTower;
  private text: SiglipTextTower | null = null;

  constructor(private readonly options: SiglipEncoderOptions) {
    const { architecture: arch } = options;
    this.id = options.id;
    this.inputSize = arch.inputSize;
    this.features = options.features;
    this.featureKinds = arch.vision.head ? SIGLIP_FEATURE_KINDS : ['pre-projection'];
    if (!this.featureKinds.includes(options.features)) throw new UserError(`${options.id}: no '${options.features}' features (its vision tower has no attention-pooling head)`);
    this.embedDim = arch.vision.width;
    this.mean = arch.mean;
    this.std = arch.std;
    this.weightsSha256 = options.weightsSha256;
    const onProgress = options.onProgress;
    const weights = streamTowerParams(options.source, this.params('vision'), onProgress && ((loaded, total) => onProgress({ kind: 'tensors', tower: 'vision', loaded, total })));
    this.vision = new SiglipVisionTower(arch, weights, { inputGradient: true });
    if (arch.text && arch.vision.head) this.encodeText = (prompts) => this.embedText(prompts);
  }

  private params(tower: SiglipTowerName) {
    const { architecture: arch, layout, source } = this.options;
    if (layout === 'open_clip') return openClipSiglipParams(arch, tower);
    return tower === 'vision' ? siglipParams(arch, 'vision', siglipVisionPrefix(source)) : siglipParams(arch, 'text');
  }

  encodeImage(pixels: tf.Tensor4D, kind: FeatureKind = this.features): tf.Tensor2D {
    if (!this.featureKinds.includes(kind)) throw new Error(`${this.id}: no '${kind}' features; this SigLIP target has ${this.featureKinds.join(', ')}`);
    return this.vision.forward(pixels, kind as SiglipReadout);
  }

  private embedText(prompts: readonly string[]): tf.Tensor2D {
    const { tokenizer, architecture: arch } = this.options;
    const text = arch.text!;
    if ('missing' in tokenizer) throw new UserError(`target '${this.id}': ${tokenizer.missing}`);
    if (tokenizer.vocabSize > text.vocabSize) {
      throw new UserError(`target '${this.id}': its tokenizer.json has ${tokenizer.vocabSize} ids but the text tower only ${text.vocabSize}`);
    }
    if (!this.text) this.text = new SiglipTextTower(text, streamTowerParams(this.options.source, this.params('text')));
    const cleaning = this.options.promptCleaning;
    return this.text.forward(tokenizer.encodeFixed(cleaning ? prompts.map((prompt) => cleanPrompt(prompt, cleaning)) : prompts, text.contextLength));
  }

  dispose(): void {
    this.vision.dispose();
    this.text?.dispose();
    this.text = null;
    this.options.source.close();
  }
}
