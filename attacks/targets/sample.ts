/**
 * 'sample' (the paper): each OOD item is paired with the feature of one random ID training image. The
 * official notebook draws the indices with np.random.choice(len(train), N), i.e. with replacement; here the
 * draw is per item from (seed, item key), so it is independent of batching, sharding and resumes.
 */
import { featureRow } from '../../src/data/feature-set.js';
import { UserError } from '../../src/core/errors.js';
import { itemRandom } from '../item-random.js';
import type { TargetStrategy } from './target-strategy.js';

export const sampleTargets: TargetStrategy = {
  name: 'sample',
  description: "a random ID training image's features per OOD image (the paper's)",
  prepare({ seed, idFeatures }) {
    const n = idFeatures.ids.length;
    if (n === 0) throw new UserError('target strategy sample: the ID feature set is empty');
    return {
      choose: (items) =>
        items.map((item) => {
          const index = itemRandom(seed, item.key, 'target').nextInt(n);
          const label = idFeatures.labels[index] ?? -1;
          const className = label >= 0 ? idFeatures.classNames[label] : undefined;
          return {
            vector: Float32Array.from(featureRow(idFeatures, index)),
            strategy: 'sample',
            targetClass: label,
            targetIndex: index,
            reason: `random ID training image ${idFeatures.ids[index]}${className ? ` (class ${className})` : ''}, paired one to one as in the paper`,
          };
        }),
    };
  },
};
