/**
 * Image sources: where images come from (ImageFolder, file list, IDX, release) and how one is decoded.
 */

/** One image of a source, before decoding. */
export interface ImageItem {
  /** Stable id within the source (relative path, or `train/123` for IDX rows). */
  readonly id: string;
  /** Class index into the source's classNames, or null when unlabelled. */
  readonly label: number | null;
  /** Where it came from, as the user would name it in an error (a path, or `file.idx#row`). */
  readonly origin: string;
}

/** Decoded pixels at model resolution. */
export interface DecodedImage {
  /** HWC float32 RGB in [0,1]. */
  readonly pixels: Float32Array;
  readonly height: number;
  readonly width: number;
  /** sha256 (hex) of the source bytes as read from disk, for provenance. */
  readonly sourceSha256: string;
}

export interface ImageSource {
  /** Short name used in reports and provenance (e.g. 'fashion-mnist-train'). */
  readonly name: string;
  /** Class names, indexed by ImageItem.label. Empty for unlabelled sources. */
  readonly classNames: readonly string[];
  /** Content fingerprint of the listing (ids + sizes/mtimes), for caches. */
  readonly fingerprint: string;
  readonly items: readonly ImageItem[];
  /** Reads and decodes one item; throws ItemError (naming item.origin) when it cannot. */
  load(item: ImageItem, preprocess: Preprocess): Promise<DecodedImage>;
  /**
   * The sha256 an item's bytes are known to have before they are read (a verified release's rows), or
   * undefined. The feature cache only holds, and only serves, features of items decoded from exactly these bytes.
   */
  expectedSha256?(id: string): string | undefined;
}

/**
 * 'clip': resize the shortest side (bicubic) to `resize` (default `size`), then center-crop size×size (CLIP /
 * open_clip eval; DINOv2's eval resizes to 256 and crops 224).
 * 'squash': resize both sides (bicubic) to size×size, no crop (SigLIP's image processor; open_clip's resize_mode
 * 'squash').
 * 'exact': the image must already be size×size; it is used as is (released adversarial PNGs).
 */
export interface Preprocess {
  readonly mode: 'clip' | 'squash' | 'exact';
  readonly size: number;
  /** The shortest side before the crop, ≥ size; absent: size. */
  readonly resize?: number;
  /** Background that alpha is composited onto, [0,255] RGB. */
  readonly background: readonly [number, number, number];
}
