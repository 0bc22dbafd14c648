/**
 * NegLabel's inputs (src/detectors/neglabel.ts, src/data/lexicon.ts): the bundled WordNet lexicon, the official
 * dedup, and one line for each bad input before any text is embedded: a missing or malformed lexicon file, a
 * count the lexicon cannot give, a fit without a text tower or class names.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLexicon } from '../../src/data/lexicon.js';
import { NegLabelDetector } from '../../src/detectors/neglabel.js';
import { createDetectors } from '../../src/detectors/registry.js';
import { featureSet } from '../helpers/synthetic-features.js';
import { syntheticTextEmbedder } from '../helpers/synthetic-text.js';

const work = mkdtempSync(join(tmpdir(), 'advood-lexicon-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function listFile(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

const words = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join('\n') + '\n';

test('the bundled WordNet lexicon: its noun and adjective lemmas, each a clean line', (t) => {
  const { nouns, adjectives } = readLexicon();
  t.is(nouns.length, 117798);
  t.is(adjectives.length, 21479);
  t.true(nouns.includes('dog') && adjectives.includes('red'));
});

test('a word in both lists is a noun (the official dedup), and the fit notes count what was mined', async (t) => {
  const nouns = listFile('dedup-nouns.txt', words('w', 40));
  const adjectives = listFile('dedup-adjectives.txt', words('w', 20) + words('a', 20));
  const [detector] = createDetectors([{ name: 'neglabel', options: { nouns, adjectives, groups: 2, negativeFraction: 0.25 } }]);
  const embedder = syntheticTextEmbedder(4);
  await detector!.fit({ train: featureSet([[0, 0, 0, 1]], { classNames: ['cat', 'dog'] }), embedText: embedder });
  // 2 class prompts + 40 nouns + the 20 adjectives that are not nouns.
  t.is(embedder.prompts, 62);
  t.deepEqual(detector!.fitNotes!(), ['15 negative labels (10 nouns, 5 adjectives) mined from a lexicon of 60 words', '2 groups of 7; the last 1 negatives dropped to make equal groups']);
});

test('a missing lexicon file is one line naming it, when the detector is built', (t) => {
  const missing = join(work, 'no-such-nouns.txt');
  t.throws(() => createDetectors([{ name: 'neglabel', options: { nouns: missing } }]), { message: `${missing}: cannot read the word list (no such file or directory (or a dangling symlink))` });
});

for (const [name, content, message] of [
  ['empty.txt', '', /empty\.txt: the word list is empty$/],
  ['blank-line.txt', 'dog\n\ncat\n', /blank-line\.txt:2: empty or whitespace-only line$/],
  ['control.txt', 'dog\nca\tt\n', /control\.txt:2: control character U\+0009 in "ca\\tt"$/],
  ['spaces.txt', 'dog\n cat\n', /spaces\.txt:2: leading or trailing whitespace in " cat"$/],
  ['latin1.txt', Buffer.from([0x64, 0x6f, 0x67, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]), /latin1\.txt:2: is not valid UTF-8$/],
] as const) {
  test(`a malformed lexicon (${name}) is one line naming the file and line`, (t) => {
    const adjectives = listFile(name, content);
    t.throws(() => createDetectors([{ name: 'neglabel', options: { adjectives } }]), { message });
  });
}

test('a count the lexicon cannot give is one line, before anything is embedded', (t) => {
  const lexicon = { nouns: ['dog', 'cat', 'car'], adjectives: ['red'] };
  t.throws(() => new NegLabelDetector({ lexicon, negativeFraction: 2, groups: 1 }), { message: 'neglabel: negativeFraction 2 asks for 8 negative labels from a lexicon of 4 words' });
  t.throws(() => new NegLabelDetector({ lexicon }), { message: "neglabel: 100 groups need at least as many negative labels, but 0.15 of the lexicon's 4 words is 0" });
});

test('fitting without a text tower or without class names is one line', async (t) => {
  const detector = new NegLabelDetector({ lexicon: { nouns: ['dog', 'cat'], adjectives: ['red', 'big'] }, negativeFraction: 0.5, groups: 1 });
  await t.throwsAsync(detector.fit({ train: featureSet([[1, 0]], { classNames: ['a'] }) }), { message: /neglabel: needs a text embedder for its own prompts \(a target with a text tower/ });
  await t.throwsAsync(detector.fit({ train: featureSet([[1, 0]]), embedText: syntheticTextEmbedder(2) }), { message: /neglabel: needs the class names of the ID train set/ });
});
