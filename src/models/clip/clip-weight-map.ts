/**
 * Key maps from the two checkpoint layouts users hold into one set of tower parameters.
 *
 * - HF transformers (CLIPModel): `vision_model.encoder.layers.N.self_attn.q_proj.weight`, nn.Linear weights
 *   stored [out, in], projections as bias-free Linear layers (`visual_projection.weight` [embed, width]).
 * - open_clip: `visual.transformer.resblocks.N.attn.in_proj_weight` (q, k, v stacked: [3·width, width]),
 *   projections as plain matrices (`visual.proj` [width, embed]).
 *
 * Tower parameters are laid out as src/models/tower-weights.ts says; every check is on header names and shapes.
 */
import type { TensorSource } from '../safetensors.js';
import { checkTensorShapes, convToPatchMatrix, param, slice, transposed, type TowerParam } from '../tower-weights.js';
import { visionTokenCount, type ClipArchitecture, type ClipTextModel } from './clip-architecture.js';

export type ClipLayout = 'hf' | 'open_clip';
export type ClipTowerName = 'vision' | 'text';
export { streamTowerParams, towerWeightsFromMap, type TowerParam, type TowerWeights } from '../tower-weights.js';

/** Keys that carry no tower weights: buffers (position ids, masks) and the contrastive temperature. */
const IGNORED: Record<ClipLayout, RegExp> = {
  hf: /^(logit_scale|(text|vision)_model\.embeddings\.position_ids)$/,
  open_clip: /^(logit_scale|logit_bias|attn_mask)$/,
};

function blockParams(layout: ClipLayout, prefix: string, i: number, width: number, mlp: number): TowerParam[] {
  const b = `blocks.${i}`;
  if (layout === 'hf') {
    const p = `${prefix}.encoder.layers.${i}`;
    const linear = (name: string, key: string, inDim: number, outDim: number): TowerParam[] => [
      param(`${b}.${name}.w`, [inDim, outDim], `${p}.${key}.weight`, [outDim, inDim], transposed(outDim, inDim)),
      param(`${b}.${name}.b`, [outDim], `${p}.${key}.bias`),
    ];
    return [
      param(`${b}.ln1.g`, [width], `${p}.layer_norm1.weight`),
      param(`${b}.ln1.b`, [width], `${p}.layer_norm1.bias`),
      ...linear('q', 'self_attn.q_proj', width, width),
      ...linear('k', 'self_attn.k_proj', width, width),
      ...linear('v', 'self_attn.v_proj', width, width),
      ...linear('out', 'self_attn.out_proj', width, width),
      param(`${b}.ln2.g`, [width], `${p}.layer_norm2.weight`),
      param(`${b}.ln2.b`, [width], `${p}.layer_norm2.bias`),
      ...linear('fc1', 'mlp.fc1', width, mlp),
      ...linear('fc2', 'mlp.fc2', mlp, width),
    ];
  }
  const p = `${prefix}transformer.resblocks.${i}`;
  const linear = (name: string, key: string, inDim: number, outDim: number): TowerParam[] => [
    param(`${b}.${name}.w`, [inDim, outDim], `${p}.${key}.weight`, [outDim, inDim], transposed(outDim, inDim)),
    param(`${b}.${name}.b`, [outDim], `${p}.${key}.bias`),
  ];
  // in_proj stacks q, k, v along the output axis; split it here so the tower never slices activations.
  const fused = (name: string, j: number): TowerParam[] => [
    param(`${b}.${name}.w`, [width, width], `${p}.attn.in_proj_weight`, [3 * width, width], transposed(width, width, j * width)),
    param(`${b}.${name}.b`, [width], `${p}.attn.in_proj_bias`, [3 * width], slice(j * width, width)),
  ];
  return [
    param(`${b}.ln1.g`, [width], `${p}.ln_1.weight`),
    param(`${b}.ln1.b`, [width], `${p}.ln_1.bias`),
    ...fused('q', 0),
    ...fused('k', 1),
    ...fused('v', 2),
    ...linear('out', 'attn.out_proj', width, width),
    param(`${b}.ln2.g`, [width], `${p}.ln_2.weight`),
    param(`${b}.ln2.b`, [width], `${p}.ln_2.bias`),
    ...linear('fc1', 'mlp.c_fc', width, mlp),
    ...linear('fc2', 'mlp.c_proj', mlp, width),
  ];
}

/** Every parameter of one tower, in the given layout. */
export function towerParams(arch: ClipArchitecture, layout: ClipLayout, tower: ClipTowerName): TowerParam[] {
  if (tower === 'vision') {
    const E = arch.embedDim;
    const { width: W, layers, mlpDim, patchSize: P } = arch.vision;
    const T = visionTokenCount(arch.vision);
    const hf = layout === 'hf';
    const pre = hf ? 'vision_model' : 'visual.';
    const params: TowerParam[] = hf
      ? [
          param('patch.w', [P * P * 3, W], 'vision_model.embeddings.patch_embedding.weight', [W, 3, P, P], convToPatchMatrix(W, P)),
          param('cls', [W], 'vision_model.embeddings.class_embedding'),
          param('pos', [T, W], 'vision_model.embeddings.position_embedding.weight'),
          // Sic: transformers spells it "pre_layrnorm".
          param('ln_pre.g', [W], 'vision_model.pre_layrnorm.weight'),
          param('ln_pre.b', [W], 'vision_model.pre_layrnorm.bias'),
        ]
      : [
          param('patch.w', [P * P * 3, W], 'visual.conv1.weight', [W, 3, P, P], convToPatchMatrix(W, P)),
          param('cls', [W], 'visual.class_embedding'),
          param('pos', [T, W], 'visual.positional_embedding'),
          param('ln_pre.g', [W], 'visual.ln_pre.weight'),
          param('ln_pre.b', [W], 'visual.ln_pre.bias'),
        ];
    for (let i = 0; i < layers; i++) params.push(...blockParams(layout, pre, i, W, mlpDim));
    if (hf) {
      params.push(
        param('ln_post.g', [W], 'vision_model.post_layernorm.weight'),
        param('ln_post.b', [W], 'vision_model.post_layernorm.bias'),
        param('proj', [W, E], 'visual_projection.weight', [E, W], transposed(E, W)),
      );
    } else {
      params.push(param('ln_post.g', [W], 'visual.ln_post.weight'), param('ln_post.b', [W], 'visual.ln_post.bias'), param('proj', [W, E], 'visual.proj'));
    }
    return params;
  }
  return textTowerParams(arch, layout);
}

/**
 * The text tower's parameters. `openClipPrefix`: where open_clip keeps them, '' in its CLIP class and 'text.' in its
 * CustomTextCLIP (the layout of models whose vision tower is timm's, such as EVA-02's: src/models/eva/).
 */
export function textTowerParams(arch: ClipTextModel, layout: ClipLayout, openClipPrefix = ''): TowerParam[] {
  const E = arch.embedDim;
  const { width: W, layers, mlpDim, contextLength: C, vocabSize: V } = arch.text;
  const hf = layout === 'hf';
  const key = (name: string) => `${openClipPrefix}${name}`;
  const params: TowerParam[] = hf
    ? [param('token', [V, W], 'text_model.embeddings.token_embedding.weight'), param('pos', [C, W], 'text_model.embeddings.position_embedding.weight')]
    : [param('token', [V, W], key('token_embedding.weight')), param('pos', [C, W], key('positional_embedding'))];
  for (let i = 0; i < layers; i++) params.push(...blockParams(layout, hf ? 'text_model' : openClipPrefix, i, W, mlpDim));
  if (hf) {
    params.push(
      param('ln_final.g', [W], 'text_model.final_layer_norm.weight'),
      param('ln_final.b', [W], 'text_model.final_layer_norm.bias'),
      param('proj', [W, E], 'text_projection.weight', [E, W], transposed(E, W)),
    );
  } else {
    params.push(param('ln_final.g', [W], key('ln_final.weight')), param('ln_final.b', [W], key('ln_final.bias')), param('proj', [W, E], key('text_projection')));
  }
  return params;
}

/** Every checkpoint key both towers need, with the shape each must have. */
export function expectedCheckpointShapes(arch: ClipArchitecture, layout: ClipLayout): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const tower of ['vision', 'text'] as const) {
    for (const p of towerParams(arch, layout, tower)) shapes.set(p.source, p.sourceShape);
  }
  return shapes;
}

/**
 * Strict check of a checkpoint's header against the architecture: missing, unexpected and mis-shaped keys
 * are all listed by name in one UserError. Reads no tensor data.
 */
export function checkCheckpointKeys(source: TensorSource, arch: ClipArchitecture, layout: ClipLayout): void {
  checkTensorShapes(source, expectedCheckpointShapes(arch, layout), IGNORED[layout], `the ${layout} CLIP layout of this architecture`);
}
