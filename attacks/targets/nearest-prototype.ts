/**
 * 'nearest-prototype': the ID class prototype closest (cosine) to the clean OOD feature, i.e. the collision
 * that needs the least movement in feature space.
 */
import { UserError } from '../../src/core/errors.js';
import { classPrototypes, nearestClass } from './class-prototypes.js';
import type { AllIdFeaturesStrategy } from './target-strategy.js';

export const nearestPrototypeTargets: AllIdFeaturesStrategy = {
  name: 'nearest-prototype',
  description: "the ID class prototype nearest the OOD image's clean features (the shortest way into ID)",
  reads: 'all-id-features',
  prepare({ idFeatures }) {
    const prototypes = classPrototypes(idFeatures);
    return {
      choose: (items) =>
        items.map((item) => {
          if (item.cleanFeature.length !== prototypes.dim) {
            throw new UserError(`clean feature of ${item.key} has ${item.cleanFeature.length} dims, ID prototypes ${prototypes.dim}`);
          }
          const nearest = nearestClass(prototypes, item.cleanFeature);
          return {
            vector: Float32Array.from(prototypes.means[nearest.index]!),
            strategy: 'nearest-prototype',
            targetClass: nearest.index,
            targetIndex: -1,
            reason: `nearest ID class prototype to the clean image: ${prototypes.classNames[nearest.index]} (cos ${nearest.cos.toFixed(3)})`,
          };
        }),
    };
  },
};
