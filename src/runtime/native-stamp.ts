/**
 * The record `npm run setup:native` (scripts/setup-native.ts) leaves next to the addon it built: which
 * TensorFlow wheel libtensorflow came from. `advood doctor` reports it; the set-up reads it to stay idempotent.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const NATIVE_STAMP_FILE = 'advood-native.json';

export interface NativeStamp {
  npmPackage: string;
  /** TF_Version() of the library the addon loaded when it was checked. */
  tensorflowVersion: string;
  /** File name of the pip wheel libtensorflow was taken from. */
  wheel: string;
  wheelSha256: string;
  napiVersion: number;
  builtWith: string;
}

/** The stamp in `lib/napi-v*\/`, or null for an addon advood did not build (the package's own download). */
export function readNativeStamp(packageDir: string): NativeStamp | null {
  const lib = join(packageDir, 'lib');
  if (!existsSync(lib)) return null;
  for (const entry of readdirSync(lib)) {
    const file = join(lib, entry, NATIVE_STAMP_FILE);
    if (!entry.startsWith('napi-v') || !existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as NativeStamp;
    } catch {
      return null;
    }
  }
  return null;
}
