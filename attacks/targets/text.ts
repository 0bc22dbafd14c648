/**
 * 'text': the CLIP text embedding of an ID class, built as in the paper's code (and CLIP's zero-shot recipe):
 * encode each of five prompt templates, L2-normalise, average over templates, L2-normalise again.
 * Only text-capable encoders (CLIP) have encodeText.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/core/errors.js';
import { itemRandom } from '../item-random.js';
import { resolveClassIndex, type TargetStrategy } from './target-strategy.js';

/** The five templates of DESIGN.md (the paper's code). */
export const PROMPT_TEMPLATES = [
  'a photo of a {c}.',
  'a blurry photo of a {c}.',
  'a photo of many {c}.',
  'a photo of the large {c}.',
  'a photo of the small {c}.',
] as const;

/** [classes × D] unit text embeddings, averaged over the templates. */
export function classTextEmbeddings(encodeText: (prompts: readonly string[]) => tf.Tensor2D, classNames: readonly string[]): Float32Array[] {
  return tf.tidy(() => {
    const prompts = classNames.flatMap((c) => PROMPT_TEMPLATES.map((t) => t.replace('{c}', c)));
    const embeds = encodeText(prompts);
    const unit = tf.div(embeds, tf.norm(embeds, 'euclidean', 1, true));
    const perClass = tf.mean(unit.reshape([classNames.length, PROMPT_TEMPLATES.length, -1]), 1) as tf.Tensor2D;
    const normalised = tf.div(perClass, tf.norm(perClass, 'euclidean', 1, true));
    const dim = normalised.shape[1]!;
    const data = normalised.dataSync() as Float32Array;
    return classNames.map((_, c) => data.slice(c * dim, (c + 1) * dim));
  });
}

export const textTargets: TargetStrategy = {
  name: 'text',
  prepare({ seed, encoder, idFeatures, requestedClass }) {
    const encodeText = encoder.encodeText?.bind(encoder);
    if (!encodeText) {
      throw new UserError(`target strategy 'text' needs a text-capable encoder (CLIP); '${encoder.id}' has no text tower`);
    }
    const classNames = idFeatures.classNames;
    if (classNames.length === 0) throw new UserError("target strategy 'text' needs class names from a labelled ID source");
    const embeddings = classTextEmbeddings(encodeText, classNames);
    const given = requestedClass === null ? null : resolveClassIndex(requestedClass, classNames);
    return {
      choose: (items) =>
        items.map((item) => {
          const c = given ?? itemRandom(seed, item.key, 'target-class').nextInt(classNames.length);
          return {
            vector: Float32Array.from(embeddings[c]!),
            strategy: 'text',
            targetClass: c,
            targetIndex: -1,
            reason: `CLIP text embedding of ID class ${classNames[c]} (5 prompt templates; class ${given === null ? 'drawn at random' : 'given'})`,
          };
        }),
    };
  },
};
