/**
 * writeFeatures: the whole of `advood features` as a library call — encode every image of a source and write
 * the features Arrow file. The file is locked from the first image to the rename that writes it, so that two
 * runs naming one --out fail fast instead of both computing and the later one silently winning.
 */
import { resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { acquireOutputFileLock } from '../core/output-lock.js';
import { writeFeatureFile } from '../data/feature-file.js';
import { type ComputedFeatures, type ComputeFeaturesOptions, computeFeatures } from '../data/features.js';
import type { ImageSource } from '../data/image-source.js';
import type { Encoder } from '../models/encoder.js';
import { refuseOutputInRelease } from '../release/release-folder.js';

export async function writeFeatures(encoder: Encoder, source: ImageSource, out: string, options: ComputeFeaturesOptions): Promise<ComputedFeatures> {
  refuseOutputInRelease(out);
  const lock = acquireOutputFileLock(resolve(out), 'advood features');
  try {
    const result = await computeFeatures(encoder, source, options);
    if (result.set.ids.length === 0) {
      throw new UserError(`${source.name}: none of the ${source.items.length} images could be used (see the skipped items above)`);
    }
    writeFeatureFile(out, result.set);
    return result;
  } finally {
    lock.release();
  }
}
