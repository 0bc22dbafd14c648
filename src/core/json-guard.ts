/**
 * JSON.parse for files advood reads from disk or the command line. Two things plain JSON.parse lets through
 * are refused, naming where they occur:
 * - the keys `__proto__`, `constructor` and `prototype`: spread or merged into objects (presets, overrides,
 *   configs) they can reach Object.prototype, and they slip past checks that list an object's own keys;
 * - a key given twice in one object: JSON.parse silently keeps the last, so two readers (or a reviewer and
 *   advood) can disagree about what a file says, as with a safetensors header naming a tensor twice.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A forbidden or repeated key; its message names the key and where it is, callers add the file. */
export class JsonKeyError extends Error {
  constructor(
    readonly key: string,
    /** true: given twice; false: a forbidden name. */
    readonly repeated: boolean,
    /** The path of the object holding it: `$` for the top level, `$.a.b[]` below. */
    readonly at: string,
  ) {
    const where = at === '$' ? 'at the top level' : `in ${at}`;
    super(
      repeated
        ? `key ${JSON.stringify(key)} appears twice ${where}; the file is ambiguous`
        : `key ${JSON.stringify(key)} ${where} is not allowed (it could alter object prototypes)`,
    );
    this.name = 'JsonKeyError';
  }
}

/**
 * JSON.parse, refusing forbidden and repeated keys. Throws JSON.parse's SyntaxError for malformed text and a
 * JsonKeyError for a key problem; callers wrap either with the file's name, as they do for a syntax error.
 */
export function parseGuardedJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const problem = keyProblem(text);
  if (problem) throw problem;
  return value;
}

/**
 * Walks the (already valid) JSON text and returns the first forbidden or repeated key, or null. It reads
 * keys only; values other than objects and arrays are skipped over. Iterative, so deep nesting cannot
 * overflow the stack.
 */
export function keyProblem(text: string): JsonKeyError | null {
  /** Per open container: its key set (objects) or null (arrays), and the path to it. */
  const stack: { keys: Set<string> | null; path: string }[] = [];
  let i = 0;
  const n = text.length;
  const readString = (): string => {
    const start = i++;
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  let pendingPath = '$';
  while (i < n) {
    const c = text[i]!;
    const top = stack.at(-1);
    if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, path: pendingPath });
      i++;
      if (c === '[') pendingPath = `${pendingPath}[]`;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      // A string is a key when it opens an object member: inside an object and followed by ':'.
      const value = readString();
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      if (top?.keys && text[j] === ':') {
        if (FORBIDDEN_KEYS.has(value)) return new JsonKeyError(value, false, top.path);
        if (top.keys.has(value)) return new JsonKeyError(value, true, top.path);
        top.keys.add(value);
        pendingPath = `${top.path}.${value}`;
        i = j + 1;
      }
    } else {
      if (c === ',' && top && !top.keys) pendingPath = `${top.path}[]`;
      i++;
    }
  }
  return null;
}
