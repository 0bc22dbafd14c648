/**
 * Zero-shot class embeddings from prompt ensembles, as the paper's code builds them for MCM and PLP
 * (Adaloglou et al., TMLR 2024; templates from Radford et al. 2021's ensemble): encode every template for a
 * class, L2-normalise each, average over templates, L2-normalise again.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.js';
import type { Encoder } from './encoder.js';

/** The paper's five templates; the one place they are written down. */
export const PAPER_PROMPT_TEMPLATES: readonly string[] = [
  'a photo of a {c}.',
  'a blurry photo of a {c}.',
  'a photo of many {c}.',
  'a photo of the large {c}.',
  'a photo of the small {c}.',
];

export function fillTemplate(template: string, className: string): string {
  return template.replaceAll('{c}', className);
}

/** [classNames.length, D] unit-norm text embeddings in the encoder's projected space. */
export function promptEnsembleEmbeddings(
  encoder: Encoder,
  classNames: readonly string[],
  templates: readonly string[] = PAPER_PROMPT_TEMPLATES,
): tf.Tensor2D {
  const encodeText = encoder.encodeText?.bind(encoder);
  if (!encodeText) throw new UserError(`target '${encoder.id}' has no text tower; zero-shot detectors need a CLIP target`);
  if (templates.length === 0) throw new UserError('prompt ensemble: no templates');
  return tf.tidy(() => {
    const perClass = classNames.map((name) => {
      const embeddings = encodeText(templates.map((t) => fillTemplate(t, name)));
      const unit = tf.div(embeddings, tf.norm(embeddings, 'euclidean', 1, true));
      const mean = tf.mean(unit, 0);
      return tf.div(mean, tf.norm(mean));
    });
    return tf.stack(perClass) as tf.Tensor2D;
  });
}
