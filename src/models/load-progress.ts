/**
 * What a long load reports as it goes, for progress bars (src/cli/load-progress-printer.ts draws them; --json
 * prints them): the bytes of each file downloaded from the Hub, and the parameter tensors of each tower moved
 * into tensor memory (bigG's vision tower alone is 7.4 GB, a minute or more from disk).
 */
import type { DownloadProgress } from '../hub/download-progress.js';

export type LoadProgress =
  | ({ kind: 'download' } & DownloadProgress)
  | { kind: 'tensors'; tower: string; loaded: number; total: number };
