/**
 * Where advood keeps derived files (decoded weights, features). ADVOOD_CACHE wins, then
 * $XDG_CACHE_HOME/advood, then ~/.cache/advood. Everything in it can be deleted at any time.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function advoodCacheDir(...parts: string[]): string {
  const root = process.env.ADVOOD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'advood');
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
