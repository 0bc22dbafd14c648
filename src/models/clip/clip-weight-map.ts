/**
 * Key maps from the two checkpoint layouts users hold into one set of tower parameters.
 *
 * - HF transformers (CLIPModel): `vision_model.encoder.layers.N.self_attn.q_proj.weight`, nn.Linear weights
 *   stored [out, in], projections as bias-free Linear layers (`visual_projection.weight` [embed, width]).
 * - open_clip: `visual.transformer.resblocks.N.attn.in_proj_weight` (q, k, v stacked: [3·width, width]),
 *   projections as plain matrices (`visual.proj` [width, embed]).
 *
 * Tower parameters are laid out for FastLinear ([in, out]) and the reshape-based patch embedding
 * ([(py, px, channel), width]). Every check happens on header names and shapes, before any data is read.
 */
import { UserError } from '../../core/errors.js';
import type { TensorSource } from '../safetensors.js';
import { visionTokenCount, type ClipArchitecture } from './clip-architecture.js';

export type ClipLayout = 'hf' | 'open_clip';
export type ClipTowerName = 'vision' | 'text';

/** One tower parameter, where it comes from, and how to lay it out. */
export interface TowerParam {
  /** Tower-internal name, e.g. 'blocks.3.q.w'. */
  name: string;
  shape: number[];
  /** Checkpoint key it is read from. */
  source: string;
  /** Shape the checkpoint must declare for that key. */
  sourceShape: number[];
  extract(src: Float32Array): Float32Array;
}

/** Keys that carry no tower weights: buffers (position ids, masks) and the contrastive temperature. */
const IGNORED: Record<ClipLayout, RegExp> = {
  hf: /^(logit_scale|(text|vision)_model\.embeddings\.position_ids)$/,
  open_clip: /^(logit_scale|logit_bias|attn_mask)$/,
};

const identity = (src: Float32Array): Float32Array => src;

/** [rows, cols] → [cols, rows]; turns PyTorch's [out, in] Linear weights into FastLinear's [in, out]. */
function transposed(rows: number, cols: number, rowOffset = 0): (src: Float32Array) => Float32Array {
  return (src) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const base = (rowOffset + r) * cols;
      for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
    }
    return out;
  };
}

function slice(start: number, length: number): (src: Float32Array) => Float32Array {
  return (src) => src.slice(start, start + length);
}

/** Conv weight [width, 3, p, p] (OIHW) → [(py, px, c), width], matching the patch reshape in the vision tower. */
function convToPatchMatrix(width: number, patch: number): (src: Float32Array) => Float32Array {
  return (src) => {
    const out = new Float32Array(patch * patch * 3 * width);
    for (let o = 0; o < width; o++)
      for (let c = 0; c < 3; c++)
        for (let py = 0; py < patch; py++)
          for (let px = 0; px < patch; px++) {
            out[((py * patch + px) * 3 + c) * width + o] = src[((o * 3 + c) * patch + py) * patch + px];
          }
    return out;
  };
}

function param(name: string, shape: number[], source: string, sourceShape = shape, extract = identity): TowerParam {
  return { name, shape, source, sourceShape, extract };
}

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
  const E = arch.embedDim;
  if (tower === 'vision') {
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
  const { width: W, layers, mlpDim, contextLength: C, vocabSize: V } = arch.text;
  const hf = layout === 'hf';
  const params: TowerParam[] = hf
    ? [param('token', [V, W], 'text_model.embeddings.token_embedding.weight'), param('pos', [C, W], 'text_model.embeddings.position_embedding.weight')]
    : [param('token', [V, W], 'token_embedding.weight'), param('pos', [C, W], 'positional_embedding')];
  for (let i = 0; i < layers; i++) params.push(...blockParams(layout, hf ? 'text_model' : '', i, W, mlpDim));
  if (hf) {
    params.push(
      param('ln_final.g', [W], 'text_model.final_layer_norm.weight'),
      param('ln_final.b', [W], 'text_model.final_layer_norm.bias'),
      param('proj', [W, E], 'text_projection.weight', [E, W], transposed(E, W)),
    );
  } else {
    params.push(param('ln_final.g', [W], 'ln_final.weight'), param('ln_final.b', [W], 'ln_final.bias'), param('proj', [W, E], 'text_projection'));
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

function listed(names: string[], limit = 12): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Strict check of a checkpoint's header against the architecture: missing, unexpected and mis-shaped keys
 * are all listed by name in one UserError. Reads no tensor data.
 */
export function checkCheckpointKeys(source: TensorSource, arch: ClipArchitecture, layout: ClipLayout): void {
  const expected = expectedCheckpointShapes(arch, layout);
  const present = new Set(source.names());
  const missing = [...expected.keys()].filter((k) => !present.has(k));
  const unexpected = [...present].filter((k) => !expected.has(k) && !IGNORED[layout].test(k));
  const misShaped: string[] = [];
  for (const [key, shape] of expected) {
    if (!present.has(key)) continue;
    const actual = source.info(key).shape;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      misShaped.push(`${key} is [${actual.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${listed(missing)}`);
  if (unexpected.length) problems.push(`unexpected keys: ${listed(unexpected)}`);
  if (misShaped.length) problems.push(`mis-shaped: ${listed(misShaped)}`);
  if (problems.length) {
    throw new UserError(`${source.origin}: does not match the ${layout} CLIP layout of this architecture:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads one tower's parameters, each checkpoint key once (open_clip's in_proj feeds three parameters). */
/**
 * Tower parameters handed out once each. A tower takes a parameter, makes its tensor and drops the array, so a
 * load holds one host copy of one tensor at a time instead of the whole tower: with bigG's 7.4 GB vision tower
 * the difference between fitting in memory and not.
 */
export interface TowerWeights {
  /** The parameter's values; each name can be taken once. */
  take(name: string): Float32Array;
}

/**
 * Reads each parameter from the checkpoint when it is taken. Several parameters can share one source tensor
 * (open_clip's fused in_proj holds q, k and v); that tensor is read once and kept until its last part is taken.
 */
export function streamTowerParams(source: TensorSource, params: readonly TowerParam[], onTaken?: (taken: number, total: number) => void): TowerWeights {
  const byName = new Map(params.map((p) => [p.name, p]));
  let taken = 0;
  const open = new Map<string, { raw: Float32Array; remaining: number }>();
  const sharing = new Map<string, number>();
  for (const p of params) sharing.set(p.source, (sharing.get(p.source) ?? 0) + 1);
  return {
    take(name) {
      const p = byName.get(name);
      if (!p) throw new Error(`tower parameter '${name}' was not loaded (or was already taken)`);
      byName.delete(name);
      let entry = open.get(p.source);
      if (!entry) {
        entry = { raw: source.readFloat32(p.source), remaining: sharing.get(p.source)! };
        open.set(p.source, entry);
      }
      const values = p.extract(entry.raw);
      if (--entry.remaining === 0) open.delete(p.source);
      onTaken?.(++taken, params.length);
      return values;
    },
  };
}

/** In-memory parameters (random towers for benchmarks), handed out with the same take-once contract. */
export function towerWeightsFromMap(weights: Map<string, Float32Array>): TowerWeights {
  return {
    take(name) {
      const values = weights.get(name);
      if (!values) throw new Error(`tower parameter '${name}' was not loaded (or was already taken)`);
      weights.delete(name);
      return values;
    },
  };
}
