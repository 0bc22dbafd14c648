/**
 * Tower parameters read from a safetensors checkpoint, shared by the ViT families (clip/, dinov2/): each parameter
 * says which checkpoint key it comes from, the shape that key must have and how to lay it out for the fast layers
 * (FastLinear's [in, out], the reshape-based patch embedding's [(py, px, channel), width]). Every check happens on
 * header names and shapes, before any data is read.
 */
import { UserError } from '../core/errors.js';
import type { TensorSource } from './safetensors.js';

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

const identity = (src: Float32Array): Float32Array => src;

/** [rows, cols] → [cols, rows]; turns PyTorch's [out, in] Linear weights into FastLinear's [in, out]. */
export function transposed(rows: number, cols: number, rowOffset = 0): (src: Float32Array) => Float32Array {
  return (src) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const base = (rowOffset + r) * cols;
      for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
    }
    return out;
  };
}

export function slice(start: number, length: number): (src: Float32Array) => Float32Array {
  return (src) => src.slice(start, start + length);
}

/** Conv weight [width, 3, p, p] (OIHW) → [(py, px, c), width], matching the patch reshape in the ViT towers. */
export function convToPatchMatrix(width: number, patch: number): (src: Float32Array) => Float32Array {
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

export function param(name: string, shape: number[], source: string, sourceShape = shape, extract = identity): TowerParam {
  return { name, shape, source, sourceShape, extract };
}

function listed(names: string[], limit = 12): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Strict check of a checkpoint's header against the keys and shapes a model needs: missing, unexpected (unless
 * `ignored` matches them) and mis-shaped keys are all listed by name, in checkpoint-key order of the model, in one
 * UserError that starts with the file and `what` it should be. Reads no tensor data.
 */
export function checkTensorShapes(source: TensorSource, expected: ReadonlyMap<string, number[]>, ignored: RegExp, what: string): void {
  const present = new Set(source.names());
  const missing = [...expected.keys()].filter((k) => !present.has(k));
  const unexpected = [...present].filter((k) => !expected.has(k) && !ignored.test(k));
  const misShaped: string[] = [];
  for (const [key, shape] of expected) {
    if (!present.has(key)) continue;
    const actual = source.info(key).shape;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      misShaped.push(`${key} is [${actual.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  const problems: string[] = [];
  if (misShaped.length) problems.push(`mis-shaped: ${listed(misShaped)}`);
  if (missing.length) problems.push(`missing keys: ${listed(missing)}`);
  if (unexpected.length) problems.push(`unexpected keys: ${listed(unexpected)}`);
  if (problems.length) throw new UserError(`${source.origin}: does not match ${what}:\n  ${problems.join('\n  ')}`);
}

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
