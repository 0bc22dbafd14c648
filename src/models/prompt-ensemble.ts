/**
 * Zero-shot class embeddings from prompt ensembles, as the paper's code builds them (Adaloglou et al., TMLR 2024;
 * templates from Radford et al. 2021's ensemble): encode every template for a class, L2-normalise each, average
 * over templates, L2-normalise again. MCM and PLP (src/detectors/) and the 'text' attack target
 * (attacks/targets/text.ts) all use this one function, so detectors and attacks see the same class embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors.js';
import type { Encoder } from './encoder.js';

/** The paper's five templates; the one place they are written down. */
export const PROMPT_TEMPLATES: readonly string[] = [
  'a photo of a {c}.',
  'a blurry photo of a {c}.',
  'a photo of many {c}.',
  'a photo of the large {c}.',
  'a photo of the small {c}.',
];

export function fillTemplate(template: string, className: string): string {
  return template.replaceAll('{c}', className);
}

/**
 * [classNames.length, D] unit-norm text embeddings in the encoder's projected space. All prompts go through
 * the text tower in one batch.
 */
export function promptEnsembleEmbeddings(
  encoder: Encoder,
  classNames: readonly string[],
  templates: readonly string[] = PROMPT_TEMPLATES,
): tf.Tensor2D {
  const encodeText = encoder.encodeText?.bind(encoder);
  if (!encodeText) throw new UserError(`target '${encoder.id}' has no text tower; zero-shot detectors and text targets need a CLIP target`);
  if (templates.length === 0) throw new UserError('prompt ensemble: no templates');
  if (classNames.length === 0) throw new UserError('prompt ensemble: no class names');
  return tf.tidy(() => {
    const embeddings = encodeText(classNames.flatMap((name) => templates.map((t) => fillTemplate(t, name))));
    const unit = tf.div(embeddings, tf.norm(embeddings, 'euclidean', 1, true));
    const perClass = tf.mean(unit.reshape([classNames.length, templates.length, -1]), 1);
    return tf.div(perClass, tf.norm(perClass, 'euclidean', 1, true)) as tf.Tensor2D;
  });
}
