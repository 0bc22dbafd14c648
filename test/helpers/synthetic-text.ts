/**
 * A TextEmbedder (src/detectors/detector.ts) without a text tower, for detector tests: the prompts in `known`
 * get the given vectors, every other prompt a fixed pseudo-random Gaussian vector seeded by its sha256 (as
 * test/helpers/attack-fake-encoder.ts's encodeText does). `prompts` counts what was asked for.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { FeatureSet } from '../../src/data/feature-set.js';
import type { TextEmbedder } from '../../src/detectors/detector.js';
import { NEGLABEL_NOUN_TEMPLATE } from '../../src/detectors/neglabel.js';
import { featureSet } from './synthetic-features.js';

export interface SyntheticTextEmbedder extends TextEmbedder {
  prompts: number;
}

export function syntheticTextEmbedder(dim: number, known: ReadonlyMap<string, readonly number[]> = new Map()): SyntheticTextEmbedder {
  const embedder: SyntheticTextEmbedder = {
    id: `synthetic text (${dim}-d)`,
    prompts: 0,
    async embed(prompts) {
      embedder.prompts += prompts.length;
      const rows = prompts.map((prompt) => {
        const given = known.get(prompt);
        if (given) return given;
        const random = new SeededRandom(createHash('sha256').update(prompt).digest().readUInt32LE(0));
        return Array.from({ length: dim }, () => random.nextGaussian());
      });
      return { ...featureSet(rows, { prefix: 'prompt' }), ids: [...prompts] };
    },
  };
  return embedder;
}

/**
 * The embedder of the registry-wide detector tests: NegLabel's ID prompt of each class ('the nice {}') gets the
 * class's text embedding, so that its ID labels point where the other zero-shot detectors' do; the lexicon's
 * prompts are pseudo-random.
 */
export function classTextEmbedder(classText: FeatureSet): SyntheticTextEmbedder {
  const known = new Map(classText.classNames.map((name, c) => [NEGLABEL_NOUN_TEMPLATE.replace('{}', name), Array.from(classText.vectors.subarray(c * classText.dim, (c + 1) * classText.dim))] as const));
  return syntheticTextEmbedder(classText.dim, known);
}
