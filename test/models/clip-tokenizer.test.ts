import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClipTokenizer, cleanCaption } from '../../src/models/clip/clip-tokenizer.js';
import { TINY_MERGES } from '../helpers/tiny-clip.js';

const tok = new ClipTokenizer(TINY_MERGES);
// open_clip's vocabulary order: 188 printable bytes, then the 68 remapped ones, then the same with '</w>'.
const SOT = 512 + TINY_MERGES.length;
const EOT = SOT + 1;
const word = (merge: string) => 512 + TINY_MERGES.indexOf(merge); // id of a merged symbol
const byteEnd = (ch: string) => 256 + (ch.charCodeAt(0) - 33); // printable ASCII char + '</w>'
const byte = (ch: string) => ch.charCodeAt(0) - 33;

test('special tokens and vocabulary size follow open_clip', (t) => {
  t.is(tok.sot, SOT);
  t.is(tok.eot, EOT);
  t.is(tok.vocabSize, 512 + TINY_MERGES.length + 2);
});

test('case and whitespace: lower-cased, runs of whitespace collapsed, ends trimmed', (t) => {
  t.is(cleanCaption('  A\tPHOTO\n\n of  the   CAT  '), 'a photo of the cat');
  t.deepEqual(tok.encode('  A\tPHOTO\n\n of  the   CAT  '), tok.encode('a photo of the cat'));
  t.deepEqual(tok.encode('a photo of the cat'), [word('a </w>'), word('phot o</w>'), word('o f</w>'), word('th e</w>'), word('ca t</w>')]);
});

test('punctuation splits into its own words; contractions split as CLIP does', (t) => {
  t.deepEqual(tok.encode('cat!?'), [word('ca t</w>'), byte('!'), byteEnd('?')]);
  t.deepEqual(tok.encode("dog's"), [word('do g</w>'), byte("'"), byteEnd('s')]);
  t.deepEqual(tok.encode('cat,dog'), [word('ca t</w>'), byteEnd(','), word('do g</w>')]);
  // Digits are single words each.
  t.deepEqual(tok.encode('12'), [byteEnd('1'), byteEnd('2')]);
});

test('unicode: letters stay one word, bytes map through bytes_to_unicode; HTML entities are unescaped', (t) => {
  // 'é' is UTF-8 c3 a9, both printable in GPT-2's table: 0xc3 is entry 127 of the printable run, 0xa9 entry 102
  // (+256 for the word-final '</w>' form).
  t.deepEqual(tok.encode('é'), [127, 256 + 102]);
  // 'Ā' lower-cases to 'ā' = c4 81; 0x81 is not printable and is remapped: entry 188 + 35 of the byte block.
  t.deepEqual(tok.encode('Ā'), [128, 256 + 188 + 35]);
  // Letters of any script are one word; a CJK character is three UTF-8 bytes.
  t.is(tok.encode('猫').length, 3);
  t.is(cleanCaption('Tom &amp;amp; Jerry &#233;'), 'tom & jerry é');
  t.deepEqual(tok.encode('CAFÉ'), tok.encode('café'));
});

test('sequences: SOT first, EOT last, zero padding, truncation at 77 keeps EOT', (t) => {
  const [row] = tok.tokenize(['the cat']);
  t.is(row.length, 77);
  t.deepEqual([...row.slice(0, 4)], [SOT, word('th e</w>'), word('ca t</w>'), EOT]);
  t.true(row.slice(4).every((v) => v === 0));
  const [long] = tok.tokenize([Array.from({ length: 100 }, () => 'cat').join(' ')]);
  t.is(long.length, 77);
  t.is(long[0], SOT);
  t.is(long[76], EOT);
  t.true(long.slice(1, 76).every((v) => v === word('ca t</w>')));
  const [short] = tok.tokenize(['cat cat cat'], 4);
  t.deepEqual([...short], [SOT, word('ca t</w>'), word('ca t</w>'), EOT]);
});

test('files: HF merges.txt + vocab.json and open_clip bpe_simple_vocab (gz) give the same ids', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advood-tok-'));
  try {
    writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${TINY_MERGES.join('\n')}\n`);
    writeFileSync(join(dir, 'bpe.txt.gz'), gzipSync(`"bpe_simple_vocab_16e6.txt#version: 0.2\n${TINY_MERGES.join('\n')}\n`));
    // A vocab.json that numbers symbols differently: ids must come from it.
    const vocab: Record<string, number> = { '<|startoftext|>': 0, '<|endoftext|>': 1, 'cat</w>': 2, 'the</w>': 3 };
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    const fromGz = ClipTokenizer.fromFiles(join(dir, 'bpe.txt.gz'));
    t.deepEqual(fromGz.tokenize(['The cat.']), tok.tokenize(['The cat.']));
    const fromHf = ClipTokenizer.fromFiles(join(dir, 'merges.txt'), join(dir, 'vocab.json'));
    t.deepEqual([...fromHf.tokenize(['the cat'], 5)[0]], [0, 3, 2, 1, 0]);
    t.throws(() => fromHf.encode('dog'), { message: /symbol 'dog<\/w>' .* not in the vocabulary/ });
    writeFileSync(join(dir, 'bad.txt'), '#version\nonlyone\n');
    t.throws(() => ClipTokenizer.fromFiles(join(dir, 'bad.txt')), { message: /merge 1 'onlyone' is not two symbols/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
