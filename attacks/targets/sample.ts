/**
 * 'sample' (the paper): each OOD item is paired with the feature of one random ID training image. The
 * official notebook draws the indices with np.random.choice(len(train), N), i.e. with replacement; here the
 * draw is per item from (seed, item key), so it is independent of batching, sharding and resumes, and is made
 * before any ID image is encoded: a run encodes only the images it drew, not the whole ID source.
 */
import { UserError } from '../../src/core/errors.js';
import { itemRandom } from '../item-random.js';
import { MAX_ID_DRAWS, type DrawnIdFeaturesStrategy } from './target-strategy.js';

export const sampleTargets: DrawnIdFeaturesStrategy = {
  name: 'sample',
  description: "a random ID training image's features per OOD image (the paper's)",
  reads: 'drawn-id-features',
  drawRow(seed, key, rows, attempt = 0) {
    if (rows === 0) throw new UserError('target strategy sample: the ID source is empty');
    return itemRandom(seed, key, attempt === 0 ? 'target' : `target#${attempt}`).nextInt(rows);
  },
  prepare({ seed, classNames, drawn }) {
    return {
      choose: (items) =>
        items.map((item) => {
          // The first draw whose image could be used (generation-targets.ts encodes along the same chain).
          let index = sampleTargets.drawRow(seed, item.key, drawn.rows);
          for (let attempt = 1; !drawn.features.has(index) && attempt < MAX_ID_DRAWS; attempt++) index = sampleTargets.drawRow(seed, item.key, drawn.rows, attempt);
          const row = drawn.features.get(index);
          if (!row) throw new Error(`target strategy sample: no usable ID row was encoded for ${item.key}`);
          const className = row.label >= 0 ? classNames[row.label] : undefined;
          return {
            vector: Float32Array.from(row.vector),
            strategy: 'sample',
            targetClass: row.label,
            targetIndex: index,
            reason: `random ID training image ${row.id}${className ? ` (class ${className})` : ''}, paired one to one as in the paper`,
          };
        }),
    };
  },
};
