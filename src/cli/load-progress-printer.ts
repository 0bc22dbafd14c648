/**
 * Bars for long loads: one per file downloaded from the Hub (MiB, rate and ETA) and one per tower whose tensors
 * are loaded; with --json, the same as progress events on stdout.
 */
import type { LoadProgress } from '../models/load-progress.js';
import { type Progress, createProgress } from './progress.js';

interface Bar {
  progress: Progress;
  shown: number;
}

export function loadProgressPrinter(json: boolean): (event: LoadProgress) => void {
  const bars = new Map<string, Bar>();
  return (event) => {
    const key = event.kind === 'download' ? `download ${event.file}` : `tensors ${event.tower}`;
    const total = event.kind === 'download' ? event.totalBytes : event.total;
    const done = event.kind === 'download' ? event.bytes : event.loaded;
    let bar = bars.get(key);
    if (!bar) {
      const task = event.kind === 'download' ? `downloading ${event.file}` : `loading the ${event.tower} tower's tensors`;
      // A resumed download's first event counts the bytes it already had, so the bar starts there.
      bar = { progress: createProgress(task, total ?? 0, { json, unit: event.kind === 'download' ? 'bytes' : 'items' }), shown: 0 };
      bars.set(key, bar);
    }
    bar.progress.tick(done - bar.shown);
    bar.shown = done;
    if (total !== null && done >= total) {
      bar.progress.done();
      bars.delete(key);
    }
  };
}
