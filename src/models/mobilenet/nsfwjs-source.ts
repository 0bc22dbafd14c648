/**
 * Reads the ImageNet-pretrained MobileNetV2 backbone shipped inside nsfwjs 4.4.0 (a Keras layers model with
 * 8-bit quantized weights, bundled as base64 JS modules, so no network is involved) and turns it into folded
 * conv weights for the plan in architecture.ts.
 *
 * The model is loaded from the package's own bundle with tf.loadLayersModel rather than nsfwjs's `load()`, which
 * prints a hosting notice on stdout (it would corrupt `--json` output) and runs a 224² warm-up prediction. The
 * artefacts are the same; test/models/mobilenet-features.test.ts compares against nsfwjs's `load()` itself.
 */
import * as tf from '@tensorflow/tfjs';
import { packageVersion } from '../../runtime/backend.js';
import { foldBatchNorm } from '../../runtime/fast-conv.js';
import type { ConvLayerPlan, MobileNetV2Plan } from './architecture.js';
import { kernelShape, planLayers } from './architecture.js';

/** Describes where the weights came from; part of the cache key. */
export function nsfwjsSourceLabel(): string {
  return `nsfwjs@${packageVersion('nsfwjs') ?? 'missing'} MobileNetV2 backbone, BatchNorm folded`;
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** The nsfwjs MobileNetV2 as a tfjs layers model, fixed to 224×224 inputs. */
export async function loadNsfwjsMobileNetV2(): Promise<tf.LayersModel> {
  const { MobileNetV2Model } = await import('nsfwjs/models/mobilenet_v2');
  const modelJson = ((await MobileNetV2Model.modelJson()) as { default: ModelJson }).default;
  const shards = new Map<string, Uint8Array>();
  for (const [index, bundle] of MobileNetV2Model.weightBundles.entries()) {
    const base64 = ((await bundle()) as { default: string }).default;
    shards.set(`group1-shard${index + 1}of${MobileNetV2Model.weightBundles.length}`, Buffer.from(base64, 'base64'));
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const path of group.paths) {
      const shard = shards.get(path);
      if (!shard) throw new Error(`nsfwjs MobileNetV2: weight shard '${path}' missing from the package`);
      parts.push(shard);
    }
    weightSpecs.push(...group.weights);
  }
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    weightData.set(part, offset);
    offset += part.length;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: weightData.buffer }),
  );
}

export interface NamedWeights {
  name: string;
  shape: number[];
  values: Float32Array;
}

function layer(model: tf.LayersModel, name: string, className: string): tf.layers.Layer {
  let found: tf.layers.Layer;
  try {
    found = model.getLayer(name);
  } catch {
    throw new Error(`nsfwjs MobileNetV2: layer '${name}' not found; the packaged model does not match the MobileNetV2 plan`);
  }
  if (found.getClassName() !== className) throw new Error(`nsfwjs MobileNetV2: '${name}' is a ${found.getClassName()}, expected ${className}`);
  return found;
}

function inputsOf(found: tf.layers.Layer): string[] {
  return found.inboundNodes[0].inboundLayers.map((l) => l.name);
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`nsfwjs MobileNetV2: ${what}; the packaged model does not match the MobileNetV2 plan`);
}

function weightNamed(found: tf.layers.Layer, suffix: string): tf.Tensor {
  const index = found.weights.findIndex((w) => (w.originalName ?? w.name).endsWith(`/${suffix}`));
  expect(index >= 0, `layer '${found.name}' has no weight '${suffix}'`);
  return found.getWeights()[index];
}

/**
 * Checks one conv (+ its padding, BN, ReLU6) against the plan and folds its BN. `input` is the keras layer whose
 * output feeds it; returns the keras layer whose output it produces.
 */
function extractConv(model: tf.LayersModel, plan: ConvLayerPlan, input: string, out: NamedWeights[]): string {
  let feed = input;
  if (plan.zeroPadding) {
    const pad = layer(model, plan.zeroPadding, 'ZeroPadding2D');
    expect(JSON.stringify(pad.getConfig().padding) === JSON.stringify(plan.padding), `${pad.name} pads ${JSON.stringify(pad.getConfig().padding)}`);
    expect(inputsOf(pad)[0] === feed, `${pad.name} reads ${inputsOf(pad)} instead of ${feed}`);
    feed = pad.name;
  }
  const conv = layer(model, plan.name, plan.kind === 'conv2d' ? 'Conv2D' : 'DepthwiseConv2D');
  const config = conv.getConfig();
  const k = plan.kernelSize;
  expect(JSON.stringify(config.kernelSize) === JSON.stringify([k, k]), `${conv.name} kernel ${JSON.stringify(config.kernelSize)}`);
  expect(JSON.stringify(config.strides) === JSON.stringify([plan.stride, plan.stride]), `${conv.name} strides ${JSON.stringify(config.strides)}`);
  // A 1×1 stride-1 conv is the same under 'same' and 'valid' (keras's Conv_1 says 'valid').
  const paddingAgrees = config.padding === (plan.zeroPadding ? 'valid' : 'same') || (k === 1 && plan.stride === 1);
  expect(paddingAgrees, `${conv.name} padding ${config.padding}`);
  expect(JSON.stringify(config.dilationRate) === '[1,1]', `${conv.name} dilation ${JSON.stringify(config.dilationRate)}`);
  expect(config.useBias === false && config.activation === 'linear', `${conv.name} has a bias or activation`);
  if (plan.kind === 'depthwise') expect(config.depthMultiplier === 1, `${conv.name} depth multiplier ${config.depthMultiplier}`);
  expect(inputsOf(conv)[0] === feed, `${conv.name} reads ${inputsOf(conv)} instead of ${feed}`);
  const kernel = weightNamed(conv, plan.kind === 'conv2d' ? 'kernel' : 'depthwise_kernel') as tf.Tensor4D;
  expect(JSON.stringify(kernel.shape) === JSON.stringify(kernelShape(plan)), `${conv.name} kernel shape [${kernel.shape}]`);

  const bn = layer(model, plan.batchNorm, 'BatchNormalization');
  const bnConfig = bn.getConfig();
  expect(inputsOf(bn)[0] === conv.name, `${bn.name} reads ${inputsOf(bn)}`);
  expect(bnConfig.axis === -1 || bnConfig.axis === 3, `${bn.name} normalises axis ${bnConfig.axis}`);
  expect(bnConfig.center === true && bnConfig.scale === true, `${bn.name} lacks centre or scale`);
  const folded = foldBatchNorm(plan.kind, kernel, {
    gamma: weightNamed(bn, 'gamma') as tf.Tensor1D,
    beta: weightNamed(bn, 'beta') as tf.Tensor1D,
    movingMean: weightNamed(bn, 'moving_mean') as tf.Tensor1D,
    movingVariance: weightNamed(bn, 'moving_variance') as tf.Tensor1D,
    epsilon: bnConfig.epsilon as number,
  });
  out.push({ name: `${plan.name}/kernel`, shape: folded.kernel.shape, values: folded.kernel.dataSync() as Float32Array });
  out.push({ name: `${plan.name}/bias`, shape: folded.bias.shape, values: folded.bias.dataSync() as Float32Array });
  tf.dispose([folded.kernel, folded.bias]);

  if (!plan.relu6) {
    expect(plan.activation === 'linear', `${plan.name} planned with an activation but no ReLU layer`);
    return bn.name;
  }
  const relu = layer(model, plan.relu6, 'ReLU');
  // getConfig() keys are camelCase in tfjs-layers 4.22: reading `max_value` gives undefined, i.e. a plain ReLU.
  expect(relu.getConfig().maxValue === 6, `${relu.name} has maxValue ${relu.getConfig().maxValue}, not 6`);
  expect(inputsOf(relu)[0] === bn.name, `${relu.name} reads ${inputsOf(relu)}`);
  return relu.name;
}

/**
 * Verifies the layers model against the plan (layer classes, configs and wiring, up to the pooled `flatten_1`)
 * and returns the BN-folded kernels and biases, named `${conv}/kernel` and `${conv}/bias`, in plan order.
 */
export function extractFoldedWeights(model: tf.LayersModel, plan: MobileNetV2Plan): NamedWeights[] {
  const out: NamedWeights[] = [];
  let current = extractConv(model, plan.stem, model.inputLayers[0].name, out);
  for (const block of plan.blocks) {
    const blockInput = current;
    if (block.expand) current = extractConv(model, block.expand, current, out);
    current = extractConv(model, block.depthwise, current, out);
    current = extractConv(model, block.project, current, out);
    if (block.add) {
      const add = layer(model, block.add, 'Add');
      expect(JSON.stringify(inputsOf(add).sort()) === JSON.stringify([blockInput, current].sort()), `${add.name} adds ${inputsOf(add)}`);
      current = add.name;
    }
  }
  current = extractConv(model, plan.head, current, out);
  const flatten = layer(model, 'flatten_1', 'Flatten');
  const pool = inputsOf(flatten)[0];
  expect(inputsOf(layer(model, pool, 'AveragePooling2D'))[0] === current, `${pool} does not pool ${current}`);
  expect(planLayers(plan).length * 2 === out.length, 'not every planned layer was extracted');
  return out;
}
