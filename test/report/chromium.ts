/**
 * Headless Chromium for the report tests. CI installs Debian's `chromium` (.ci/run); where it is missing the tests
 * that need it skip, naming how to get it, rather than pass without having looked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path)) ?? null;
export const NO_CHROMIUM = 'skipped: no /usr/bin/chromium (apt-get install chromium)';

/** Runs Chromium on a page with a fresh profile and no background traffic; returns its stdout (e.g. --dump-dom). */
export function runChromium(url: string, args: readonly string[]): string {
  if (CHROMIUM === null) throw new Error(NO_CHROMIUM);
  return execFileSync(
    CHROMIUM,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'advood-chromium-'))}`,
      ...args, url,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
}
