/**
 * The embedded default target: the ImageNet-pretrained MobileNetV2 backbone bundled in nsfwjs 4.4.0, rebuilt with
 * fast input gradients and a free input size. Its features are the pooled 1280-d vector (nsfwjs's `flatten_1`).
 *
 * Config fields (configs/targets/mobilenet-v2.json): `inputSize` (square side, ≥ 32) and `features`
 * ('pre-projection', the only kind: the backbone has no projection head).
 */
import { UserError } from '../../core/errors.js';
import type { EmbeddingKind } from '../encoder.js';
import type { EncoderFamily, LoadOptions } from '../encoder-family.js';
import { MIN_INPUT_SIZE, mobileNetV2Plan, planActivationElements, planLayers, kernelShape } from './architecture.js';
import { MOBILENET_FEATURE_KINDS, MobileNetV2Encoder } from './mobilenet-encoder.js';
import { MobileNetV2Network } from './mobilenet-v2-network.js';
import { loadMobileNetV2Weights } from './weight-cache.js';

/** Above this the 4 GiB wasm heap, not the architecture, is the limit; larger sizes are almost surely typos. */
const MAX_INPUT_SIZE = 1024;


/** A validated mobilenet-v2 target: the config's input size and feature kind. */
export interface MobileNetTarget {
  readonly inputSize: number;
  readonly features: EmbeddingKind;
}

function checkedInputSize(size: unknown, where: string): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < MIN_INPUT_SIZE || size > MAX_INPUT_SIZE) {
    throw new UserError(`${where} must be an integer from ${MIN_INPUT_SIZE} to ${MAX_INPUT_SIZE}, got ${JSON.stringify(size)}`);
  }
  return size;
}

function checkedFeatureKind(kind: unknown, where: string): EmbeddingKind {
  if (!MOBILENET_FEATURE_KINDS.includes(kind as EmbeddingKind)) {
    throw new UserError(`${where}: mobilenet-v2 has only 'pre-projection' features (no projection head), got ${JSON.stringify(kind)}`);
  }
  return kind as EmbeddingKind;
}

/** The size a load runs at: the option (an attack's input size) over the config's. */
function inputSizeFor(target: MobileNetTarget, options: Pick<LoadOptions, 'inputSize'>): number {
  return options.inputSize === undefined ? target.inputSize : checkedInputSize(options.inputSize, 'inputSize option');
}


export const mobileNetV2Family: EncoderFamily<MobileNetTarget> = {
  name: 'mobilenet-v2',
  featureKinds: MOBILENET_FEATURE_KINDS,
  configFields: ['inputSize', 'features'],

  validate(config) {
    return {
      inputSize: checkedInputSize(config.inputSize, `${config.origin}: field 'inputSize'`),
      features: checkedFeatureKind(config.features ?? 'pre-projection', `${config.origin}: field 'features'`),
    };
  },

  estimateBytes(target, options) {
    const plan = mobileNetV2Plan();
    const weights = planLayers(plan).reduce((n, l) => n + kernelShape(l).reduce((a, b) => a * b, 1) + l.outChannels, 0);
    // Per activation: the saved output, its gradient and the dx being formed, float32 each.
    return 4 * (2 * weights + 3 * planActivationElements(plan, inputSizeFor(target, options)));
  },

  async load(target, options) {
    const inputSize = inputSizeFor(target, options);
    const features = options.features === undefined ? target.features : checkedFeatureKind(options.features, '--features');
    if (options.weights) {
      throw new UserError(`--weights ${options.weights}: mobilenet-v2 is embedded (nsfwjs 4.4.0) and takes no weights directory`);
    }
    const plan = mobileNetV2Plan();
    const loaded = await loadMobileNetV2Weights(plan, { log: options.log });
    if (loaded.from === 'nsfwjs') options.log?.('decoded the MobileNetV2 weights from nsfwjs and cached them');
    return new MobileNetV2Encoder(inputSize, features, loaded.packed.sha256, new MobileNetV2Network(plan, loaded.packed));
  },
};
