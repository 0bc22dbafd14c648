/**
 * Preprocessing settings and the exact CLIP resize + center-crop geometry.
 *
 * open_clip's eval transform (resize_mode 'shortest', the default) is torchvision's
 * `Resize(size, BICUBIC)` followed by `CenterCrop(size)`. The arithmetic below copies torchvision:
 * - `_compute_resized_output_size`: the short side becomes `size`, the long side `int(size * long / short)`
 *   (Python's int() truncates);
 * - `F.center_crop`: `top = int(round((H - size) / 2))`, `left = int(round((W - size) / 2))`, where Python 3's
 *   round() rounds half to even (round(2.5) = 2).
 */
import type { Preprocess } from './image-source.js';

export type { Preprocess } from './image-source.js';

/** White: clipart and documents assume a white page; stated in every cache key and release. */
export const DEFAULT_BACKGROUND: readonly [number, number, number] = [255, 255, 255];

export interface ClipGeometry {
  /** Size after the bicubic resize of the shortest side. */
  readonly resizedHeight: number;
  readonly resizedWidth: number;
  /** Offsets of the size×size center crop inside the resized image. */
  readonly top: number;
  readonly left: number;
}

/** Python 3 round(): half to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function clipGeometry(height: number, width: number, size: number): ClipGeometry {
  if (!(height > 0 && width > 0 && size > 0)) throw new RangeError(`clipGeometry: bad sizes ${height}×${width} → ${size}`);
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  // torchvision: new_long = int(requested_new_short * long / short), in float arithmetic.
  const newLong = Math.trunc((size * long) / short);
  const resizedHeight = height <= width ? size : newLong;
  const resizedWidth = height <= width ? newLong : size;
  return {
    resizedHeight,
    resizedWidth,
    top: roundHalfEven((resizedHeight - size) / 2),
    left: roundHalfEven((resizedWidth - size) / 2),
  };
}

/** The preprocessing an encoder expects: CLIP resize + crop to its input size, alpha on white. */
export function preprocessFor(
  encoder: { readonly inputSize: number },
  overrides: Partial<Preprocess> = {},
): Preprocess {
  return { mode: 'clip', size: encoder.inputSize, background: DEFAULT_BACKGROUND, ...overrides };
}

/** A stable, human-readable key for caches and provenance, e.g. `clip-128-bg255,255,255`. */
export function preprocessKey(preprocess: Preprocess): string {
  return `${preprocess.mode}-${preprocess.size}-bg${preprocess.background.join(',')}`;
}
