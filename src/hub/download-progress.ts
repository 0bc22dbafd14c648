/** Bytes of one file received so far, reported as they arrive (a resumed file starts at what it already had). */
export interface DownloadProgress {
  /** The path inside the repository. */
  file: string;
  bytes: number;
  /** The size the Hub announced or listed; null when it said none. */
  totalBytes: number | null;
}
