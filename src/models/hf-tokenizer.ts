/**
 * A checkpoint's own tokenizer.json (the Hugging Face tokenizers format: SentencePiece Unigram, byte-fallback BPE
 * such as Gemma's, WordPiece), read by @huggingface/tokenizers, and tokenizer_config.json for the padding token and
 * side. `encodeFixed` is transformers' `tokenizer(texts, padding='max_length', max_length=L, truncation=True)`:
 * the text is truncated before the post-processor's special tokens are placed, so a long prompt keeps its end-of-text
 * token, then padded to exactly L on the configured side. Text towers that read a fixed position (SigLIP pools the
 * last one) need exactly this layout.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError, errorMessage } from '../core/errors.js';
import { parseGuardedJson } from '../core/json-guard.js';

function readJson(path: string): Record<string, unknown> {
  try {
    const value = parseGuardedJson(readFileSync(path, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${path}: not a readable tokenizer file (${errorMessage(error)})`);
  }
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object {content, …}. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

export class HfTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly padId: number;
  readonly paddingSide: 'left' | 'right';
  /** One more than the largest id the tokenizer can emit (its vocabulary and added tokens). */
  readonly vocabSize: number;

  private constructor(tokenizer: Tokenizer, padId: number, paddingSide: 'left' | 'right', vocabSize: number) {
    this.tokenizer = tokenizer;
    this.padId = padId;
    this.paddingSide = paddingSide;
    this.vocabSize = vocabSize;
  }

  /** The tokenizer in `dir` (tokenizer.json + tokenizer_config.json), or null when it has no tokenizer.json. */
  static fromDir(dir: string): HfTokenizer | null {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) return null;
    const json = readJson(file);
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJson(configPath) : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
    } catch (error) {
      throw new UserError(`${file}: not a tokenizer @huggingface/tokenizers can read (${errorMessage(error)})`);
    }
    const padText = tokenText(config.pad_token) ?? tokenText(config.eos_token);
    const padId = padText === undefined ? undefined : tokenizer.token_to_id(padText);
    if (padId === undefined) throw new UserError(`${configPath}: no pad_token (or eos_token) that ${file} knows; SigLIP-style towers pad every prompt`);
    const side = config.padding_side ?? 'right';
    if (side !== 'left' && side !== 'right') throw new UserError(`${configPath}: padding_side must be 'left' or 'right', got ${JSON.stringify(side)}`);
    const vocab = tokenizer.get_vocab() as Record<string, number> | Map<string, number>;
    const ids = vocab instanceof Map ? [...vocab.values()] : Object.values(vocab);
    const added = [...tokenizer.get_added_tokens_decoder().keys()];
    return new HfTokenizer(tokenizer, padId, side, Math.max(...ids, ...added) + 1);
  }

  /** Each text as exactly `length` ids: special tokens as the post-processor places them, truncated, padded. */
  encodeFixed(texts: readonly string[], length: number): Int32Array[] {
    return texts.map((text) => {
      const full: number[] = this.tokenizer.encode(text).ids;
      let ids = full;
      if (full.length > length) {
        const plain: number[] = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
        // The template's special tokens surround the text: find where it sits in the full encoding.
        const start = full.findIndex((_, i) => plain.every((id, j) => full[i + j] === id));
        const prefix = full.slice(0, Math.max(0, start));
        const suffix = start < 0 ? [] : full.slice(start + plain.length);
        const room = length - prefix.length - suffix.length;
        if (room < 0) throw new UserError(`tokenizer: the special tokens alone need more than ${length} positions`);
        ids = [...prefix, ...plain.slice(0, room), ...suffix];
      }
      const row = new Int32Array(length).fill(this.padId);
      row.set(ids, this.paddingSide === 'right' ? 0 : length - ids.length);
      return row;
    });
  }
}
