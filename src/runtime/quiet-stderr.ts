/**
 * Runs a load step with file descriptor 2 pointed at /dev/null, through the small addon that
 * `npm run setup:native` builds beside the tfjs binding (scripts/native/quiet-stderr/quiet_stderr.c). Without
 * the addon (a tfjs-node installed by its own script) the step runs as is and TensorFlow's banner shows.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const QUIET_STDERR_ADDON = 'advood_quiet_stderr.node';

interface QuietStderrAddon {
  silence(): number;
  restore(saved: number): void;
}

const require = createRequire(import.meta.url);

export async function withQuietStderr<T>(addonDir: string | null, step: () => Promise<T>): Promise<T> {
  const file = addonDir ? join(addonDir, QUIET_STDERR_ADDON) : null;
  if (!file || !existsSync(file)) return step();
  const addon = require(file) as QuietStderrAddon;
  const saved = addon.silence();
  try {
    return await step();
  } finally {
    addon.restore(saved);
  }
}
