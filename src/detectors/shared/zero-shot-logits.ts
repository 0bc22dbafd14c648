/**
 * Zero-shot logits: cos(image embedding after projection, class text embedding) for every (row, class), the
 * quantity behind MCM and behind PLP's pseudo-labels. Text embeddings are the prompt-ensembled class
 * embeddings (src/models/prompt-ensemble.ts: five templates, normalise, average, normalise); we re-normalise them here anyway,
 * since cosine needs unit vectors and a caller may pass raw averages.
 */
import type { FeatureSet } from '../../data/feature-set.js';
import { UserError } from '../../core/errors.js';
import { assertUsableFeatures, l2NormalisedRows } from './feature-validation.js';

/** [rows × classes] cosines, float64. */
export function zeroShotLogits(images: FeatureSet, text: FeatureSet, detector: string): Float64Array {
  assertUsableFeatures(text, `${detector}: text embeddings`);
  assertUsableFeatures(images, `${detector}: projected image features`);
  if (images.dim !== text.dim) {
    throw new UserError(`${detector}: projected image features are ${images.dim}-d but the text embeddings are ${text.dim}-d`);
  }
  const dim = images.dim;
  const classes = text.ids.length;
  const x = l2NormalisedRows(images, `${detector}: projected image features`);
  const t = l2NormalisedRows(text, `${detector}: text embeddings`);
  const out = new Float64Array(images.ids.length * classes);
  for (let r = 0; r < images.ids.length; r++) {
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += x[r * dim + d]! * t[c * dim + d]!;
      out[r * classes + c] = dot;
    }
  }
  return out;
}

/** argmax over classes of each row (first index on ties). */
export function argmaxRows(logits: Float64Array, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}
