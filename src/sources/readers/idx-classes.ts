/**
 * IDX sets with their class names: the spec's CLASSES file, else `classes.txt` beside the images, else the
 * bundled `datasets/<folder name>-classes.txt` (so Debian's `.../fashion-mnist/` gets Fashion-MNIST's names),
 * else '0', '1', ….
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError, errorMessage } from '../../core/errors.js';
import { packagePath } from '../../core/repo-paths.js';
import type { ImageSource } from '../../data/image-source.js';
import { type IdxPair, openIdx } from './idx-source.js';

export const DATASETS_DIR = packagePath('datasets');

/** One class name per line (blank lines skipped). */
export function readClassNames(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`${path}: cannot read class names (${errorMessage(error)})`);
  }
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length === 0) throw new UserError(`${path}: no class names`);
  return names;
}

export function openIdxWithClasses(pair: IdxPair, classesFile: string | null): Promise<ImageSource> {
  const candidates = classesFile
    ? [classesFile]
    : [join(dirname(pair.images), 'classes.txt'), join(DATASETS_DIR, `${basename(dirname(resolve(pair.images)))}-classes.txt`)];
  const found = candidates.find((path) => existsSync(path));
  return openIdx(pair, found && pair.labels ? { classNames: readClassNames(found) } : {});
}
