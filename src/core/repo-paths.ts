/**
 * Paths inside the advood package (configs, bundled datasets, the CLI entry, package.json), computed once
 * from this file's location: src/core/ is two levels below the package root, in a checkout and in an
 * installed package alike.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A path below the package root, e.g. packagePath('configs', 'attacks'). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

let version: string | null = null;

/** advood's version from package.json (recorded in every release row and manifest). */
export function advoodVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}
