/**
 * CLIP's byte-level BPE tokenizer (Radford et al. 2021; open_clip's SimpleTokenizer, HF's CLIPTokenizer).
 *
 * Text is cleaned as open_clip's basic_clean + whitespace_clean (without ftfy: HTML entities unescaped twice,
 * whitespace runs collapsed), lower-cased, split by CLIP's regex, mapped byte-wise to printable unicode
 * (GPT-2's bytes_to_unicode) and merged by rank; the last symbol of each word carries '</w>'.
 * Sequences are [SOT, …, EOT], truncated to the context length with EOT kept last, and zero-padded.
 */
import { parseGuardedJson } from '../../core/json-guard.js';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError, errorMessage } from '../../core/errors.js';

export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
/** open_clip keeps merges[1 : 49152-256-2+1] of its merges file: 48 894 merges, vocabulary 49 408. */
export const CLIP_MAX_MERGES = 49152 - 256 - 2;
export const CLIP_CONTEXT_LENGTH = 77;

const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** GPT-2's reversible byte → printable-character table. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + next++);
  }
  return table;
}

/** The table's characters in open_clip's vocabulary order (printable bytes first, then the remapped ones). */
function byteVocabularyOrder(table: string[]): string[] {
  const printable = table.filter((ch, b) => ch.codePointAt(0) === b);
  const remapped = table.filter((ch, b) => ch.codePointAt(0) !== b);
  return [...printable, ...remapped];
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** html.unescape for numeric entities and the common named ones (the full HTML5 table is not bundled). */
function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? match;
  });
}

/** open_clip's basic_clean (minus ftfy) + whitespace_clean + lower(). */
export function cleanCaption(text: string): string {
  return unescapeHtml(unescapeHtml(text)).trim().replace(/\s+/gu, ' ').trim().toLowerCase();
}

export class ClipTokenizer {
  readonly sot: number;
  readonly eot: number;
  readonly vocabSize: number;
  private readonly byteTable = bytesToUnicode();
  private readonly ranks = new Map<string, number>();
  private readonly encoder: Map<string, number>;
  private readonly cache = new Map<string, string[]>();
  private readonly encodeUtf8 = new TextEncoder();

  /**
   * @param merges merge pairs in rank order ("a b").
   * @param vocab HF vocab.json; when absent the vocabulary is built as open_clip does (bytes, bytes+'</w>',
   *   merges, SOT, EOT).
   */
  constructor(merges: readonly string[], vocab?: Record<string, number>, origin = 'tokenizer') {
    merges.forEach((line, rank) => {
      const parts = line.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) throw new UserError(`${origin}: merge ${rank + 1} '${line}' is not two symbols`);
      this.ranks.set(line, rank);
    });
    if (vocab) {
      this.encoder = new Map(Object.entries(vocab));
    } else {
      const symbols = byteVocabularyOrder(this.byteTable);
      const list = [...symbols, ...symbols.map((s) => `${s}</w>`), ...merges.map((m) => m.replace(' ', '')), SOT_TOKEN, EOT_TOKEN];
      this.encoder = new Map(list.map((s, i) => [s, i]));
    }
    const sot = this.encoder.get(SOT_TOKEN);
    const eot = this.encoder.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) throw new UserError(`${origin}: vocabulary lacks ${SOT_TOKEN} or ${EOT_TOKEN}`);
    this.sot = sot;
    this.eot = eot;
    this.vocabSize = Math.max(...this.encoder.values()) + 1;
    this.cache.set(SOT_TOKEN, [SOT_TOKEN]);
    this.cache.set(EOT_TOKEN, [EOT_TOKEN]);
  }

  /**
   * From files: a merges file (HF merges.txt, or open_clip's bpe_simple_vocab_16e6.txt[.gz]) and optionally
   * HF's vocab.json. The merges file's first line is a version header and is skipped, as both libraries do.
   */
  static fromFiles(mergesPath: string, vocabPath?: string): ClipTokenizer {
    let text: string;
    try {
      const raw = readFileSync(mergesPath);
      text = (mergesPath.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    } catch (error) {
      throw new UserError(`${mergesPath}: cannot read BPE merges (${errorMessage(error)})`);
    }
    const lines = text.split('\n').slice(1).filter((l) => l.trim() !== '');
    let vocab: Record<string, number> | undefined;
    if (vocabPath) {
      try {
        vocab = parseGuardedJson(readFileSync(vocabPath, 'utf8')) as Record<string, number>;
      } catch (error) {
        throw new UserError(`${vocabPath}: not a readable vocab.json (${errorMessage(error)})`);
      }
    }
    return new ClipTokenizer(lines.slice(0, CLIP_MAX_MERGES), vocab, mergesPath);
  }

  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = [...word];
    let symbols = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const [first, second] = [symbols[best], symbols[best + 1]];
      // Merge every occurrence of the best pair, left to right, as the reference loop does.
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === first && symbols[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    this.cache.set(word, symbols);
    return symbols;
  }

  /** BPE ids of a caption, without SOT/EOT. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanCaption(text).matchAll(WORD_PATTERN)) {
      const word = [...this.encodeUtf8.encode(match[0])].map((b) => this.byteTable[b]).join('');
      for (const symbol of this.bpe(word)) {
        const id = this.encoder.get(symbol);
        if (id === undefined) throw new UserError(`tokenizer: symbol '${symbol}' (from '${match[0]}') is not in the vocabulary`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** [SOT, ids…, EOT] per text, truncated to contextLength with EOT kept last, zero-padded. */
  tokenize(texts: readonly string[], contextLength = CLIP_CONTEXT_LENGTH): Int32Array[] {
    return texts.map((text) => {
      const ids = [this.sot, ...this.encode(text), this.eot];
      if (ids.length > contextLength) {
        ids.length = contextLength;
        ids[contextLength - 1] = this.eot;
      }
      const row = new Int32Array(contextLength);
      row.set(ids);
      return row;
    });
  }
}

/**
 * The checkpoint's tokenizer, when a text tower of `vocabSize` ids can embed what it emits; else the one-line reason,
 * naming the target (every CLIP-text encoder's encodeText asks this first).
 */
export function usableClipTokenizer(targetId: string, tokenizer: ClipTokenizer | null, vocabSize: number): ClipTokenizer {
  if (!tokenizer) throw new UserError(`target '${targetId}': no tokenizer files (merges.txt [+ vocab.json] or bpe_simple_vocab_16e6.txt.gz) next to the weights`);
  if (tokenizer.vocabSize > vocabSize) throw new UserError(`target '${targetId}': tokenizer has ${tokenizer.vocabSize} ids but the text tower only ${vocabSize}`);
  return tokenizer;
}
