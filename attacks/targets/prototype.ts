/** 'prototype': the mean normalised feature of one ID class, given in the params or drawn per item. */
import { UserError } from '../../src/core/errors.js';
import { itemRandom } from '../item-random.js';
import { classPrototypes } from './class-prototypes.js';
import { resolveClassIndex, type AllIdFeaturesStrategy } from './target-strategy.js';

export const prototypeTargets: AllIdFeaturesStrategy = {
  name: 'prototype',
  description: 'the mean normalised feature (prototype) of one ID class: `target.class`, else a random class per image',
  reads: 'all-id-features',
  prepare({ seed, idFeatures, requestedClass }) {
    const prototypes = classPrototypes(idFeatures);
    const available = prototypes.means.flatMap((m, c) => (m ? [c] : []));
    const given = requestedClass === null ? null : resolveClassIndex(requestedClass, prototypes.classNames);
    if (given !== null && !prototypes.means[given]) {
      throw new UserError(`target class '${prototypes.classNames[given]}' has no images in the ID source`);
    }
    return {
      choose: (items) =>
        items.map((item) => {
          const c = given ?? available[itemRandom(seed, item.key, 'target-class').nextInt(available.length)]!;
          return {
            vector: Float32Array.from(prototypes.means[c]!),
            strategy: 'prototype',
            targetClass: c,
            targetIndex: -1,
            reason: `prototype of ID class ${prototypes.classNames[c]} (${given === null ? 'drawn at random' : 'given'})`,
          };
        }),
    };
  },
};
