/**
 * Word lists: the candidate lexicon NegLabel mines its negative labels from (src/detectors/neglabel.ts), bundled
 * as datasets/lexicon/wordnet/{nouns,adjectives}.txt (built by datasets/lexicon/build-lexicon.ts). A list is
 * UTF-8, one word per line; every word becomes a text prompt, so a bad line fails here, with its file and line,
 * instead of becoming a prompt nobody meant.
 */
import { readFileSync } from 'node:fs';
import { UserError, errorMessage } from '../core/errors.js';
import { fsErrorReason, isFsError } from '../core/fs-error.js';
import { packagePath } from '../core/repo-paths.js';

export interface Lexicon {
  readonly nouns: readonly string[];
  readonly adjectives: readonly string[];
}

/** The bundled WordNet 3.0 lists. */
export const WORDNET_LEXICON_FILES = {
  nouns: packagePath('datasets', 'lexicon', 'wordnet', 'nouns.txt'),
  adjectives: packagePath('datasets', 'lexicon', 'wordnet', 'adjectives.txt'),
} as const;

// C0 and C1 controls and DEL: invisible in a prompt, and in a committed list only by corruption.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** The words of one list file, in file order. */
export function readWordList(path: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`${path}: cannot read the word list (${isFsError(error) ? fsErrorReason(error) : errorMessage(error)})`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${path}:${lineOfInvalidUtf8(bytes)}: is not valid UTF-8`);
  }
  const lines = text.split('\n');
  // One final newline ends the last line rather than starting an empty one.
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new UserError(`${path}: the word list is empty`);
  return lines.map((line, i) => {
    const where = `${path}:${i + 1}`;
    const word = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (word.trim().length === 0) throw new UserError(`${where}: empty or whitespace-only line`);
    const control = CONTROL.exec(word);
    if (control) throw new UserError(`${where}: control character U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} in ${JSON.stringify(word)}`);
    if (word !== word.trim()) throw new UserError(`${where}: leading or trailing whitespace in ${JSON.stringify(word)}`);
    return word;
  });
}

/** The line (1-based) of the first byte sequence that is not UTF-8. */
function lineOfInvalidUtf8(bytes: Buffer): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}

/** Nouns and adjectives from two list files (default: the bundled WordNet lists). */
export function readLexicon(files: { nouns: string; adjectives: string } = WORDNET_LEXICON_FILES): Lexicon {
  return { nouns: readWordList(files.nouns), adjectives: readWordList(files.adjectives) };
}
