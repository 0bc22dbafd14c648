/**
 * Progress for long work: a bar with rate and ETA on a TTY, a line every ~10 % otherwise, or one JSON line
 * per event with --json (on stdout, so pipelines can read it; human output goes to stderr).
 */
export type EventFields = Record<string, string | number | boolean | null>;

export interface Progress {
  /** Advances by `n` items; `fields` (e.g. success rate) are shown next to the bar. */
  tick(n?: number, fields?: EventFields): void;
  /** A one-off event (a skipped item, a written shard). */
  event(name: string, fields: EventFields): void;
  done(fields?: EventFields): void;
}

export interface ProgressOptions {
  json: boolean;
  /** Defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
  /** 'bytes': counts and rates shown in MiB (downloads); default items. */
  unit?: 'items' | 'bytes';
}

const MIB = 1024 ** 2;

export function createProgress(task: string, total: number, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let count = 0;
  let lastDecile = -1;
  let lastDraw = 0;
  const emitJson = (event: string, fields: EventFields) =>
    process.stdout.write(JSON.stringify({ event, task, done: count, total, elapsedS: round((now() - started) / 1000), ...fields }) + '\n');

  const bytes = options.unit === 'bytes';
  const amount = (n: number) => (bytes ? (n / MIB).toFixed(1) : String(n));
  const describe = (fields: EventFields = {}) => {
    const elapsed = (now() - started) / 1000;
    const rate = count / Math.max(elapsed, 1e-9);
    const eta = count > 0 && total > count ? (total - count) / rate : 0;
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? round(v) : v}`).join('  ');
    const counted = bytes ? `${amount(count)}/${amount(total)} MiB  ${(rate / MIB).toFixed(1)} MiB/s` : `${count}/${total}  ${rate.toFixed(2)}/s`;
    return `${task} ${counted}  ETA ${formatDuration(eta)}${extra ? '  ' + extra : ''}`;
  };

  return {
    tick(n = 1, fields = {}) {
      count += n;
      if (options.json) return emitJson('progress', fields);
      if (stream.isTTY) {
        const t = now();
        if (t - lastDraw < 100 && count < total) return;
        lastDraw = t;
        const width = 24;
        const filled = total > 0 ? Math.round((width * count) / total) : width;
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(fields)}\x1b[K`);
        return;
      }
      const decile = total > 0 ? Math.floor((10 * count) / total) : 10;
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(describe(fields) + '\n');
      }
    },
    event(name, fields) {
      if (options.json) return emitJson(name, fields);
      const detail = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ');
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${task}: ${name} ${detail}\n`);
    },
    done(fields = {}) {
      if (options.json) return emitJson('done', fields);
      const elapsed = (now() - started) / 1000;
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${task}: ${amount(count)}/${amount(total)}${bytes ? ' MiB' : ''} in ${formatDuration(elapsed)}${Object.keys(fields).length ? '  ' + Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? round(v) : v}`).join('  ') : ''}\n`);
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
