/**
 * One row of an adversarial release: the public contract between `advood generate` (which fills it) and
 * the release writer/reader. Each field's Arrow column (snake_case, e.g. cos_after) is declared in release-columns.ts.
 */
export interface ReleaseRow {
  /** Row id, unique within the release: `<source name>/<source id>`. */
  id: string;
  /** Adversarial image: lossless 8-bit PNG at model resolution. */
  image: Uint8Array;
  /** Clean source image after preprocessing, as 8-bit PNG (null when the release omits it). */
  cleanImage: Uint8Array | null;
  /** Class label of the target (the ID class the image now collides with), -1 when none. */
  label: number;

  sourceDataset: string;
  sourceId: string;
  sourceSha256: string;

  targetStrategy: string;
  /** ID class of the target, -1 for none (e.g. a sample without label). */
  targetClass: number;
  /** Row index of the ID image used as target ('sample'), -1 otherwise. */
  targetIndex: number;
  /** Why this target was chosen, in words (e.g. 'nearest prototype to the clean image: Sneaker'). */
  targetReason: string;

  targetModel: string;
  weightsSha256: string;
  attackPreset: string;
  paramsHash: string;
  seed: number;

  cosBefore: number;
  /** Cosine to the target measured on the decoded 8-bit PNG that is saved. */
  cosAfter: number;
  nearestClassBefore: number;
  nearestClassAfter: number;
  linf: number;
  l2: number;
  psnr: number;
  /** Share of δ's energy inside the low DCT band (k×k lowest frequencies). */
  lowFreqEnergy: number;
  steps: number;
  success: boolean;
  /**
   * Only in a release attacked on a detector (`--objective detector:NAME`): that detector's ID score (higher =
   * more ID) of the clean image and of the saved 8-bit adversarial image.
   */
  detectorScoreBefore?: number;
  detectorScoreAfter?: number;
  /**
   * Only with restarts (the preset's `restarts` > 1): the random start this row's image comes from (0-based),
   * and each start's objective on its own saved 8-bit image (cosine to the target, or the attacked detector's
   * score); the row is the start with the highest one.
   */
  restart?: number;
  restartObjectives?: Float32Array;

  /** The pre-projection (or configured) feature of the saved adversarial image; lets evaluate skip re-encoding. */
  feature: Float32Array | null;
  advoodVersion: string;
}

/** An input item that could not be processed; kept in the release's error table. */
export interface ReleaseError {
  item: string;
  reason: string;
}
