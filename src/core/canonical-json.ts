/**
 * Canonical JSON: object keys sorted at every level, the stable text form that Python's `sort_keys=True` gives.
 * Hashes of configs (params hash, run hash, manifest sha256) are taken over this text, so it must not change.
 */

/** Deep copy with object keys sorted at every level (for pretty-printed files such as manifest.json). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeysDeep((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Compact JSON with sorted keys: the input of every content hash of a config. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}
