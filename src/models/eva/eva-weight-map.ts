/**
 * open_clip's layout of an EVA-CLIP checkpoint (open_clip_model.safetensors), mapped onto tower-internal names:
 * - vision, timm's Eva under `visual.trunk.`: `patch_embed.proj` (a stride-p conv with bias), `cls_token`, `pos_embed`
 *   (CLS first), per block `blocks.N.{norm1, attn.{q_proj, k_proj (no bias), v_proj, norm, proj}, norm2,
 *   mlp.{fc1_g, fc1_x, norm, fc2}}`, the final `norm` and `head` (a Linear with bias into the joint space);
 * - text, open_clip's TextTransformer under `text.` (CustomTextCLIP): the CLIP text tower's open_clip names
 *   (src/models/clip/clip-weight-map.ts);
 * - `logit_scale` (and `logit_bias` where saved): the contrastive temperature, read by nothing here.
 * nn.Linear weights are stored [out, in].
 */
import type { TensorSource } from '../safetensors.js';
import { checkTensorShapes, convToPatchMatrix, param, transposed, type TowerParam } from '../tower-weights.js';
import { textTowerParams } from '../clip/clip-weight-map.js';
import { evaTokenCount, type EvaClipArchitecture } from './eva-architecture.js';

export type EvaTowerName = 'vision' | 'text';

/** Keys the forward passes do not read: the temperature and buffers some open_clip versions save. */
const IGNORED = /^(logit_scale|logit_bias|text\.attn_mask|attn_mask)$/;

const TRUNK = 'visual.trunk';

function linear(name: string, key: string, inDim: number, outDim: number, bias = true): TowerParam[] {
  const weight = param(`${name}.w`, [inDim, outDim], `${key}.weight`, [outDim, inDim], transposed(outDim, inDim));
  return bias ? [weight, param(`${name}.b`, [outDim], `${key}.bias`)] : [weight];
}

function layerNorm(name: string, key: string, width: number): TowerParam[] {
  return [param(`${name}.g`, [width], `${key}.weight`), param(`${name}.b`, [width], `${key}.bias`)];
}

function blockParams(arch: EvaClipArchitecture, i: number): TowerParam[] {
  const { width: W, mlpDim: H } = arch.vision;
  const b = `blocks.${i}`;
  const p = `${TRUNK}.blocks.${i}`;
  return [
    ...layerNorm(`${b}.ln1`, `${p}.norm1`, W),
    ...linear(`${b}.q`, `${p}.attn.q_proj`, W, W),
    ...linear(`${b}.k`, `${p}.attn.k_proj`, W, W, false),
    ...linear(`${b}.v`, `${p}.attn.v_proj`, W, W),
    ...layerNorm(`${b}.attn_ln`, `${p}.attn.norm`, W),
    ...linear(`${b}.out`, `${p}.attn.proj`, W, W),
    ...layerNorm(`${b}.ln2`, `${p}.norm2`, W),
    ...linear(`${b}.gate`, `${p}.mlp.fc1_g`, W, H),
    ...linear(`${b}.up`, `${p}.mlp.fc1_x`, W, H),
    ...layerNorm(`${b}.mlp_ln`, `${p}.mlp.norm`, H),
    ...linear(`${b}.down`, `${p}.mlp.fc2`, H, W),
  ];
}

function visionParams(arch: EvaClipArchitecture): TowerParam[] {
  const { width: W, patchSize: P, layers } = arch.vision;
  const params = [
    param('patch.w', [P * P * 3, W], `${TRUNK}.patch_embed.proj.weight`, [W, 3, P, P], convToPatchMatrix(W, P)),
    param('patch.b', [W], `${TRUNK}.patch_embed.proj.bias`),
    param('cls', [W], `${TRUNK}.cls_token`, [1, 1, W]),
    param('pos', [evaTokenCount(arch.vision), W], `${TRUNK}.pos_embed`, [1, evaTokenCount(arch.vision), W]),
  ];
  for (let i = 0; i < layers; i++) params.push(...blockParams(arch, i));
  params.push(...layerNorm('ln_final', `${TRUNK}.norm`, W), ...linear('head', `${TRUNK}.head`, W, arch.embedDim));
  return params;
}

/** One tower's parameters, in checkpoint order. */
export function evaParams(arch: EvaClipArchitecture, tower: EvaTowerName): TowerParam[] {
  return tower === 'vision' ? visionParams(arch) : textTowerParams(arch, 'open_clip', 'text.');
}

/** The checkpoint's header against the architecture: every missing, unexpected or mis-shaped tensor by name. */
export function checkEvaCheckpoint(source: TensorSource, arch: EvaClipArchitecture): void {
  const expected = new Map([...evaParams(arch, 'vision'), ...evaParams(arch, 'text')].map((p) => [p.source, p.sourceShape]));
  const { vision, text } = arch;
  checkTensorShapes(
    source,
    expected,
    IGNORED,
    `the open_clip EVA-CLIP layout of ${arch.timmModel} (vision width ${vision.width}, ${vision.layers} blocks, SwiGLU ${vision.mlpDim}; text width ${text.width}, ${text.layers} layers, vocabulary ${text.vocabSize})`,
  );
}
