/**
 * 'text': the CLIP text embedding of an ID class, the same prompt ensemble MCM and PLP use
 * (src/models/prompt-ensemble.ts: five templates, L2-normalise, average over templates, L2-normalise again).
 * Only text-capable encoders (CLIP) have encodeText.
 */
import { UserError } from '../../src/core/errors.js';
import type { Encoder } from '../../src/models/encoder.js';
import { promptEnsembleEmbeddings } from '../../src/models/prompt-ensemble.js';
import { itemRandom } from '../item-random.js';
import { resolveClassIndex, type ClassNamesStrategy } from './target-strategy.js';

/** Unit text embedding of each class, as plain vectors. */
function classTextVectors(encoder: Encoder, classNames: readonly string[]): Float32Array[] {
  const embeddings = promptEnsembleEmbeddings(encoder, classNames);
  const dim = embeddings.shape[1];
  const data = embeddings.dataSync() as Float32Array;
  embeddings.dispose();
  return classNames.map((_, c) => data.slice(c * dim, (c + 1) * dim));
}

export const textTargets: ClassNamesStrategy = {
  name: 'text',
  description: "an ID class's prompt-ensembled CLIP text embedding: `target.class`, else a random class per image (CLIP targets only)",
  reads: 'class-names',
  prepare({ seed, encoder, classNames, requestedClass }) {
    if (!encoder.encodeText) {
      throw new UserError(`target strategy 'text' needs a text-capable encoder (CLIP); '${encoder.id}' has no text tower`);
    }
    if (classNames.length === 0) throw new UserError("target strategy 'text' needs class names from a labelled ID source");
    const embeddings = classTextVectors(encoder, classNames);
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
