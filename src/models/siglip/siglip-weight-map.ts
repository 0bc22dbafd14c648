/**
 * The HF transformers layout of SiglipModel / SiglipVisionModel (the names save_pretrained writes and the
 * google/siglip-* and google/siglip2-* hub files hold), mapped onto the tower-internal names of the shared
 * pre-LN block (src/models/clip/transformer.ts: `blocks.N.{ln1, q, k, v, out, ln2, fc1, fc2}`):
 * - vision: `vision_model.embeddings.{patch_embedding, position_embedding}`, per layer
 *   `vision_model.encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.{fc1,fc2}}`,
 *   `vision_model.post_layernorm`, and the attention-pooling head `vision_model.head.{probe,
 *   attention.{in_proj_weight, in_proj_bias, out_proj}, layernorm, mlp.{fc1, fc2}}` (torch.nn.MultiheadAttention
 *   stacks q, k and v along in_proj's output axis, in that order);
 * - text: `text_model.embeddings.{token_embedding, position_embedding}`, the same layers under `text_model.`,
 *   `text_model.final_layer_norm`, `text_model.head` (a Linear with bias);
 * - `logit_scale`, `logit_bias`: the sigmoid loss's temperature and bias (read by nothing here: every zero-shot
 *   detector in src/detectors/ sets its own temperature on cosine similarities).
 * nn.Linear weights are stored [out, in]. A SiglipVisionModel saved alone carries the `vision_model.` prefix when older
 * transformers saved it (the hub's files) and none when transformers 5 did; both are read (`siglipVisionPrefix`).
 */
import type { TensorSource } from '../safetensors.js';
import { checkTensorShapes, convToPatchMatrix, param, slice, transposed, type TowerParam } from '../tower-weights.js';
import { textTowerParams } from '../clip/clip-weight-map.js';
import type { SiglipArchitecture, SiglipTowerShape } from './siglip-architecture.js';

export type SiglipTowerName = 'vision' | 'text';

/** Keys the forward passes do not read. */
const IGNORED = /^(logit_scale|logit_bias|((text|vision)_model\.)?embeddings\.position_ids)$/;

function linear(name: string, key: string, inDim: number, outDim: number): TowerParam[] {
  return [param(`${name}.w`, [inDim, outDim], `${key}.weight`, [outDim, inDim], transposed(outDim, inDim)), param(`${name}.b`, [outDim], `${key}.bias`)];
}

function layerNorm(name: string, key: string, width: number): TowerParam[] {
  return [param(`${name}.g`, [width], `${key}.weight`), param(`${name}.b`, [width], `${key}.bias`)];
}

function blockParams(shape: SiglipTowerShape, prefix: string, i: number): TowerParam[] {
  const { width: W, mlpDim: H } = shape;
  const b = `blocks.${i}`;
  const p = `${prefix ? `${prefix}.` : ''}encoder.layers.${i}`;
  return [
    ...layerNorm(`${b}.ln1`, `${p}.layer_norm1`, W),
    ...linear(`${b}.q`, `${p}.self_attn.q_proj`, W, W),
    ...linear(`${b}.k`, `${p}.self_attn.k_proj`, W, W),
    ...linear(`${b}.v`, `${p}.self_attn.v_proj`, W, W),
    ...linear(`${b}.out`, `${p}.self_attn.out_proj`, W, W),
    ...layerNorm(`${b}.ln2`, `${p}.layer_norm2`, W),
    ...linear(`${b}.fc1`, `${p}.mlp.fc1`, W, H),
    ...linear(`${b}.fc2`, `${p}.mlp.fc2`, H, W),
  ];
}

/** The prefix of the vision tower's keys in this checkpoint: 'vision_model' or '' (see the header comment). */
export function siglipVisionPrefix(source: TensorSource): string {
  return source.names().some((name) => name.startsWith('vision_model.')) ? 'vision_model' : '';
}

function visionParams(arch: SiglipArchitecture, prefix: string): TowerParam[] {
  const v = arch.vision;
  const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const { width: W, patchSize: P, positionGrid: G, mlpDim: H } = v;
  const params = [
    param('patch.w', [P * P * 3, W], key('embeddings.patch_embedding.weight'), [W, 3, P, P], convToPatchMatrix(W, P)),
    param('patch.b', [W], key('embeddings.patch_embedding.bias')),
    param('pos', [G * G, W], key('embeddings.position_embedding.weight')),
  ];
  for (let i = 0; i < v.layers; i++) params.push(...blockParams(v, prefix, i));
  params.push(...layerNorm('ln_post', key('post_layernorm'), W));
  if (v.head) {
    const h = key('head');
    const inProj = (part: string, index: number) => [
      param(`head.${part}.w`, [W, W], `${h}.attention.in_proj_weight`, [3 * W, W], transposed(W, W, index * W)),
      param(`head.${part}.b`, [W], `${h}.attention.in_proj_bias`, [3 * W], slice(index * W, W)),
    ];
    params.push(
      param('head.probe', [W], `${h}.probe`, [1, 1, W]),
      ...inProj('q', 0),
      ...inProj('k', 1),
      ...inProj('v', 2),
      ...linear('head.out', `${h}.attention.out_proj`, W, W),
      ...layerNorm('head.ln', `${h}.layernorm`, W),
      ...linear('head.fc1', `${h}.mlp.fc1`, W, H),
      ...linear('head.fc2', `${h}.mlp.fc2`, H, W),
    );
  }
  return params;
}

function textParams(arch: SiglipArchitecture): TowerParam[] {
  const t = arch.text;
  if (!t) return [];
  const params = [
    param('token', [t.vocabSize, t.width], 'text_model.embeddings.token_embedding.weight'),
    param('pos', [t.contextLength, t.width], 'text_model.embeddings.position_embedding.weight'),
  ];
  for (let i = 0; i < t.layers; i++) params.push(...blockParams(t, 'text_model', i));
  params.push(...layerNorm('ln_final', 'text_model.final_layer_norm', t.width), ...linear('head', 'text_model.head', t.width, t.projection));
  return params;
}

/**
 * open_clip's layout of a SigLIP checkpoint (open_clip_model.safetensors, a timm tower under `visual.trunk.` and the
 * text tower under `text.`), mapped onto the same tower-internal names:
 * - vision: `patch_embed.proj`, `pos_embed` [1, g², W], per block `blocks.N.{norm1, attn.qkv (q, k, v stacked along
 *   the output axis), attn.proj, norm2, mlp.{fc1, fc2}}`, the final `norm`, and the MAP head `attn_pool.{latent, q,
 *   kv (k then v), proj, norm, mlp.{fc1, fc2}}` (timm's AttentionPoolLatent);
 * - text: open_clip's TextTransformer, `text.{token_embedding, positional_embedding, transformer.resblocks.N.*,
 *   ln_final, text_projection}` (the CLIP text tower's names, src/models/clip/clip-weight-map.ts; here the projection
 *   is a Linear with bias).
 */
function openClipVisionParams(arch: SiglipArchitecture): TowerParam[] {
  const { width: W, patchSize: P, positionGrid: G, mlpDim: H, layers } = arch.vision;
  const t = 'visual.trunk';
  const fused = (name: string, key: string, index: number, parts: number): TowerParam[] => [
    param(`${name}.w`, [W, W], `${key}.weight`, [parts * W, W], transposed(W, W, index * W)),
    param(`${name}.b`, [W], `${key}.bias`, [parts * W], slice(index * W, W)),
  ];
  const params = [
    param('patch.w', [P * P * 3, W], `${t}.patch_embed.proj.weight`, [W, 3, P, P], convToPatchMatrix(W, P)),
    param('patch.b', [W], `${t}.patch_embed.proj.bias`),
    param('pos', [G * G, W], `${t}.pos_embed`, [1, G * G, W]),
  ];
  for (let i = 0; i < layers; i++) {
    const b = `blocks.${i}`;
    const p = `${t}.blocks.${i}`;
    params.push(
      ...layerNorm(`${b}.ln1`, `${p}.norm1`, W),
      ...fused(`${b}.q`, `${p}.attn.qkv`, 0, 3),
      ...fused(`${b}.k`, `${p}.attn.qkv`, 1, 3),
      ...fused(`${b}.v`, `${p}.attn.qkv`, 2, 3),
      ...linear(`${b}.out`, `${p}.attn.proj`, W, W),
      ...layerNorm(`${b}.ln2`, `${p}.norm2`, W),
      ...linear(`${b}.fc1`, `${p}.mlp.fc1`, W, H),
      ...linear(`${b}.fc2`, `${p}.mlp.fc2`, H, W),
    );
  }
  params.push(...layerNorm('ln_post', `${t}.norm`, W));
  if (arch.vision.head) {
    const h = `${t}.attn_pool`;
    params.push(
      param('head.probe', [W], `${h}.latent`, [1, 1, W]),
      ...linear('head.q', `${h}.q`, W, W),
      ...fused('head.k', `${h}.kv`, 0, 2),
      ...fused('head.v', `${h}.kv`, 1, 2),
      ...linear('head.out', `${h}.proj`, W, W),
      ...layerNorm('head.ln', `${h}.norm`, W),
      ...linear('head.fc1', `${h}.mlp.fc1`, W, H),
      ...linear('head.fc2', `${h}.mlp.fc2`, H, W),
    );
  }
  return params;
}

function openClipTextParams(arch: SiglipArchitecture): TowerParam[] {
  const text = arch.text!;
  const clipText = { embedDim: text.projection, activation: 'gelu' as const, text };
  const withoutProjection = textTowerParams(clipText, 'open_clip', 'text.').filter((p) => p.name !== 'proj');
  return [...withoutProjection, ...linear('head', 'text.text_projection', text.width, text.projection)];
}

/** One tower's parameters in open_clip's layout, in checkpoint order. */
export function openClipSiglipParams(arch: SiglipArchitecture, tower: SiglipTowerName): TowerParam[] {
  return tower === 'vision' ? openClipVisionParams(arch) : openClipTextParams(arch);
}

/** One tower's parameters, in checkpoint order; `visionPrefix` from siglipVisionPrefix. */
export function siglipParams(arch: SiglipArchitecture, tower: SiglipTowerName, visionPrefix = 'vision_model'): TowerParam[] {
  return tower === 'vision' ? visionParams(arch, visionPrefix) : textParams(arch);
}

/** Keys of open_clip's SigLIP that the forward passes do not read. */
const OPEN_CLIP_IGNORED = /^(logit_scale|logit_bias|text\.attn_mask)$/;

/** An open_clip SigLIP checkpoint's header against the architecture, as checkSiglipCheckpoint does for the HF layout. */
export function checkOpenClipSiglipCheckpoint(source: TensorSource, arch: SiglipArchitecture): void {
  const expected = new Map([...openClipSiglipParams(arch, 'vision'), ...openClipSiglipParams(arch, 'text')].map((p) => [p.source, p.sourceShape]));
  const { vision, text } = arch;
  checkTensorShapes(source, expected, OPEN_CLIP_IGNORED, `open_clip's SigLIP layout (vision width ${vision.width}, ${vision.layers} blocks; text width ${text!.width}, vocabulary ${text!.vocabSize})`);
}

/** The checkpoint's header against the architecture: every missing, unexpected or mis-shaped tensor by name. */
export function checkSiglipCheckpoint(source: TensorSource, arch: SiglipArchitecture): void {
  const prefix = arch.text ? 'vision_model' : siglipVisionPrefix(source);
  const expected = new Map([...siglipParams(arch, 'vision', prefix), ...siglipParams(arch, 'text')].map((p) => [p.source, p.sourceShape]));
  if (arch.text) {
    expected.set('logit_scale', [1]);
    expected.set('logit_bias', [1]);
  }
  const what = arch.text ? 'SiglipModel' : 'SiglipVisionModel';
  checkTensorShapes(source, expected, IGNORED, `the ${what} layout of its config (vision width ${arch.vision.width}, ${arch.vision.layers} layers${arch.text ? `; text width ${arch.text.width}, vocabulary ${arch.text.vocabSize}` : ''})`);
}
