/**
 * The HF transformers layout of Dinov2Model / Dinov2WithRegistersModel (the names save_pretrained writes and the
 * facebook/dinov2-* hub files hold): `embeddings.{cls_token, register_tokens, position_embeddings,
 * patch_embeddings.projection}`, per layer `encoder.layer.N.{norm1, attention.attention.{query,key,value},
 * attention.output.dense, layer_scale1.lambda1, norm2, mlp.{fc1,fc2} | mlp.{weights_in,weights_out},
 * layer_scale2.lambda1}`, then `layernorm`. nn.Linear weights are stored [out, in]. SwiGLU's weights_in stacks the
 * gate and the up projection along its output axis (gate first: transformers splits it with Chunk(dim=0) into
 * gate_proj, up_proj).
 */
import type { TensorSource } from '../safetensors.js';
import { checkTensorShapes, convToPatchMatrix, param, slice, transposed, type TowerParam } from '../tower-weights.js';
import type { Dinov2Architecture } from './dinov2-architecture.js';

/** Keys that carry nothing the forward pass reads: the masked-image-modelling token of pre-training. */
const IGNORED = /^embeddings\.mask_token$/;

function linear(name: string, key: string, inDim: number, outDim: number): TowerParam[] {
  return [param(`${name}.w`, [inDim, outDim], `${key}.weight`, [outDim, inDim], transposed(outDim, inDim)), param(`${name}.b`, [outDim], `${key}.bias`)];
}

function blockParams(arch: Dinov2Architecture, i: number): TowerParam[] {
  const { width: W, ffnHidden: H } = arch;
  const b = `blocks.${i}`;
  const p = `encoder.layer.${i}`;
  const ffn =
    arch.ffn === 'mlp'
      ? [...linear(`${b}.fc1`, `${p}.mlp.fc1`, W, H), ...linear(`${b}.fc2`, `${p}.mlp.fc2`, H, W)]
      : [
          param(`${b}.gate.w`, [W, H], `${p}.mlp.weights_in.weight`, [2 * H, W], transposed(H, W, 0)),
          param(`${b}.gate.b`, [H], `${p}.mlp.weights_in.bias`, [2 * H], slice(0, H)),
          param(`${b}.up.w`, [W, H], `${p}.mlp.weights_in.weight`, [2 * H, W], transposed(H, W, H)),
          param(`${b}.up.b`, [H], `${p}.mlp.weights_in.bias`, [2 * H], slice(H, H)),
          ...linear(`${b}.down`, `${p}.mlp.weights_out`, H, W),
        ];
  return [
    param(`${b}.ln1.g`, [W], `${p}.norm1.weight`),
    param(`${b}.ln1.b`, [W], `${p}.norm1.bias`),
    ...linear(`${b}.q`, `${p}.attention.attention.query`, W, W),
    ...linear(`${b}.k`, `${p}.attention.attention.key`, W, W),
    ...linear(`${b}.v`, `${p}.attention.attention.value`, W, W),
    ...linear(`${b}.out`, `${p}.attention.output.dense`, W, W),
    param(`${b}.scale1`, [W], `${p}.layer_scale1.lambda1`),
    param(`${b}.ln2.g`, [W], `${p}.norm2.weight`),
    param(`${b}.ln2.b`, [W], `${p}.norm2.bias`),
    ...ffn,
    param(`${b}.scale2`, [W], `${p}.layer_scale2.lambda1`),
  ];
}

/** Every parameter of the model, in checkpoint order. */
export function dinov2Params(arch: Dinov2Architecture): TowerParam[] {
  const { width: W, patchSize: P, positionGrid: G } = arch;
  const params = [
    param('patch.w', [P * P * 3, W], 'embeddings.patch_embeddings.projection.weight', [W, 3, P, P], convToPatchMatrix(W, P)),
    param('patch.b', [W], 'embeddings.patch_embeddings.projection.bias'),
    param('cls', [W], 'embeddings.cls_token', [1, 1, W]),
    param('pos', [1 + G * G, W], 'embeddings.position_embeddings', [1, 1 + G * G, W]),
  ];
  if (arch.registers > 0) params.push(param('registers', [arch.registers, W], 'embeddings.register_tokens', [1, arch.registers, W]));
  for (let i = 0; i < arch.layers; i++) params.push(...blockParams(arch, i));
  params.push(param('ln_final.g', [W], 'layernorm.weight'), param('ln_final.b', [W], 'layernorm.bias'));
  return params;
}

/** The checkpoint's header against the architecture: every missing, unexpected or mis-shaped tensor by name. */
export function checkDinov2Checkpoint(source: TensorSource, arch: Dinov2Architecture): void {
  const expected = new Map(dinov2Params(arch).map((p) => [p.source, p.sourceShape]));
  const kind = arch.registers > 0 ? `Dinov2WithRegistersModel (${arch.registers} registers)` : 'Dinov2Model';
  checkTensorShapes(source, expected, IGNORED, `the ${kind} layout of its config (width ${arch.width}, ${arch.layers} layers, ${arch.ffn} FFN)`);
}
