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

/** The resize of the shortest side to `resize` (default: the crop size) and the centre crop to size×size. */
export function clipGeometry(height: number, width: number, size: number, resize = size): ClipGeometry {
  if (!(height > 0 && width > 0 && size > 0 && resize >= size)) throw new RangeError(`clipGeometry: bad sizes ${height}×${width} → ${resize} → ${size}`);
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  // torchvision: new_long = int(requested_new_short * long / short), in float arithmetic.
  const newLong = Math.trunc((resize * long) / short);
  const resizedHeight = height <= width ? resize : newLong;
  const resizedWidth = height <= width ? newLong : resize;
  return {
    resizedHeight,
    resizedWidth,
    top: roundHalfEven((resizedHeight - size) / 2),
    left: roundHalfEven((resizedWidth - size) / 2),
  };
}

/**
 * The preprocessing an encoder expects: resize + centre crop to its input size (and resize size), or a squash resize
 * to the input size where the encoder says so (SigLIP); alpha on white.
 */
export function preprocessFor(
  encoder: { readonly inputSize: number; readonly resizeSize?: number; readonly resizeMode?: 'shortest' | 'squash' },
  overrides: Partial<Preprocess> = {},
): Preprocess {
  const resize = encoder.resizeSize !== undefined && encoder.resizeSize !== encoder.inputSize ? { resize: encoder.resizeSize } : {};
  const mode = encoder.resizeMode === 'squash' ? 'squash' : 'clip';
  return { mode, size: encoder.inputSize, ...resize, background: DEFAULT_BACKGROUND, ...overrides };
}

/**
 * A stable, human-readable key for caches and provenance, e.g. `clip-128-bg255,255,255`, or `clip-224from256-…`
 * where the shortest side is resized to more than the crop (the key of a plain resize-and-crop is unchanged).
 */
export function preprocessKey(preprocess: Preprocess): string {
  const resize = preprocess.mode === 'clip' && preprocess.resize !== undefined && preprocess.resize !== preprocess.size ? `from${preprocess.resize}` : '';
  return `${preprocess.mode}-${preprocess.size}${resize}-bg${preprocess.background.join(',')}`;
}
