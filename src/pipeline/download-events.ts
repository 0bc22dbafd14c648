/**
 * Hub downloads reported through a pipeline's own progress events (not straight to stderr), so that the CLI
 * draws them as bars with an ETA and --json prints them as events.
 */
import type { DownloadProgress } from '../hub/download-progress.js';
import type { SourceOptions } from '../sources/source-kind.js';

export type DownloadEvent = { kind: 'download' } & DownloadProgress;

/** Source options that turn a URI kind's downloads and messages into `report`'s events. */
export function reportingDownloads(report: (event: DownloadEvent | { kind: 'stage'; message: string }) => void): SourceOptions {
  return { onDownload: (event) => report({ kind: 'download', ...event }), log: (message) => report({ kind: 'stage', message }) };
}
