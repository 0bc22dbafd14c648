/** What a data-source kind is (src/sources/source-kinds.ts lists them) and what opening one gives. */
import type { DecodeOptions } from '../data/decode-image.js';
import type { DownloadProgress } from '../hub/download-progress.js';
import type { DatasetChoice } from './readers/hf-dataset-columns.js';
import type { ImageSource } from '../data/image-source.js';
import type { ReleaseImageColumn, ReleaseImageSource } from '../release/read/release-image-source.js';

export interface SourceOptions extends DatasetChoice, DecodeOptions {
  /**
   * Set by a URI kind whose local copy is a cache of links (the Hugging Face cache: snapshots/<commit>/* → blobs/):
   * release verification follows links that land inside this folder, and still refuses every other link.
   */
  readonly trustedLinksInto?: string;
  /** Bytes of each file a URI kind downloads (the Hub), for the command's progress; default none. */
  readonly onDownload?: (event: DownloadProgress) => void;
  /** Messages of a URI kind (a moved branch, a cached copy used); default stderr. */
  readonly log?: (message: string) => void;
}

/** Where a URI kind's spec lives on this machine. */
export interface ResolvedLocation {
  /** A local directory or file, opened by content afterwards. */
  readonly path: string;
  /** See SourceOptions.trustedLinksInto. */
  readonly trustedLinksInto?: string;
  /** The location (after the prefix) that names exactly this content: a Hub revision replaced by its commit. */
  readonly pinned?: string;
}

/** An opened source: images, or an advood release (its adversarial and clean columns are two image sets). */
export type OpenedSource =
  | { readonly type: 'images'; readonly images: ImageSource }
  | { readonly type: 'release'; readonly dir: string; openColumn(column: ReleaseImageColumn, name: string): Promise<ReleaseImageSource> };

export interface SourceKind {
  readonly name: string;
  /** The explicit prefix: `folder:`, or a URI scheme such as `hf://`. */
  readonly prefix: string;
  /** What follows the prefix, for the help and README. */
  readonly syntax: string;
  readonly description: string;
  /** For bare local paths: whether `path` holds this kind. */
  sniff?(path: string): boolean;
  /** Opens a local location (the spec without the prefix). */
  open?(location: string, options: SourceOptions): Promise<OpenedSource>;
  /** Opens a bare path that `sniff` matched, where that differs from `open` (default: `open`). */
  openFound?(path: string, options: SourceOptions): Promise<OpenedSource>;
  /** URI kinds: the local path (a directory or file) that `location` stands for, opened by content afterwards. */
  resolve?(location: string, options: SourceOptions): Promise<ResolvedLocation>;
}
