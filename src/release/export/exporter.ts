/**
 * The export formats of `advood release export --to FORMAT`. Each format's entry lives beside its code
 * (imagefolder-export.ts, parquet-export.ts); this list is the one place the CLI takes its choices from.
 */
import type { ExportOptions } from './export-target.js';

export interface ExportedImage {
  id: string;
  /** The adversarial PNG bytes. */
  image: Uint8Array;
}

export interface ExporterEntry {
  readonly name: string;
  readonly description: string;
  /**
   * Verifies the release in `dir` and writes its export to `out` (never inside the release; a non-empty `out`
   * only with `overwrite`); returns counts to report.
   */
  run(dir: string, out: string, options?: ExportOptions): Promise<Readonly<Record<string, number>>>;
  /** Reads an export back, row by row in release order: what a consumer of the format sees. */
  readBack(out: string): Promise<ExportedImage[]>;
}
