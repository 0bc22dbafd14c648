/** The first `n` items of an image source, as a source of its own (for --n, --id-n and experiment sizes). */
import { createHash } from 'node:crypto';
import { checkFlags } from '../core/config-checker.js';
import { UserError } from '../core/errors.js';
import type { ImageSource } from './image-source.js';

/**
 * `n` undefined (or the whole source) returns the source itself. The subset's fingerprint differs from the
 * source's, so the feature cache never confuses the two. `flag` and `spec` name the request in errors.
 */
export function firstItems(source: ImageSource, n: number | undefined, flag: string, spec: string): ImageSource {
  if (n === undefined || n === source.items.length) return source;
  checkFlags.number(n, flag, { min: 1, integer: true });
  if (source.items.length < n) {
    throw new UserError(`${spec}: the source has ${source.items.length} images, fewer than the ${n} requested with ${flag}`);
  }
  return {
    name: source.name,
    classNames: source.classNames,
    fingerprint: createHash('sha256').update(`${source.fingerprint}\u0000first ${n}`).digest('hex'),
    items: source.items.slice(0, n),
    load: (item, preprocess) => source.load(item, preprocess),
    ...(source.expectedSha256 && { expectedSha256: (id: string) => source.expectedSha256!(id) }),
  };
}
