/**
 * Builds the bundled candidate lexicon of NegLabel (src/detectors/neglabel.ts) from Debian's `wordnet-base`
 * package (WordNet 3.0), committed so that evaluation needs no apt at run time:
 *   dict index.noun → wordnet/nouns.txt, index.adj → wordnet/adjectives.txt
 * NegLabel's official code (XueJiang16/NegLabel, mmcls/models/classifiers/multi_modal.py) mines its negative labels
 * from WordNet's nouns and adjectives; a lemma is the first field of an index line, with '_' for spaces. Lines that
 * start with two spaces are WordNet's licence header. Each file is sorted (by UTF-16 code unit, so the order does
 * not depend on the locale) and deduplicated; a word that is both noun and adjective stays in both files (the
 * detector keeps its noun: nouns first, as the official code deduplicates). manifest.json records each file's sha256.
 *
 * The package is fetched with `apt-get download` into a temp dir and unpacked with `dpkg-deb -x` (no root needed).
 *
 * Run: npm run lexicon-data   (options: --check: rebuild into a temp dir and compare with the committed manifest)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = 'wordnet-base';
/** Where the index files sit in the unpacked package: Debian's layout, then upstream's dict/. */
const DICT_DIRS = ['usr/share/wordnet', 'dict'];
const LISTS = [
  { file: 'nouns.txt', index: 'index.noun' },
  { file: 'adjectives.txt', index: 'index.adj' },
] as const;
const OUTPUT_FILES = [...LISTS.map((l) => l.file), 'LICENSE'];

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr.trim().split('\n').at(-1) ?? ''}`);
  return result.stdout;
}

/** Downloads and unpacks the package; returns the unpacked root, the .deb's file name and its version. */
function fetchPackage(scratch: string): { root: string; deb: string; version: string } {
  run('apt-get', ['download', PACKAGE], scratch);
  const deb = readdirSync(scratch).find((name) => name.startsWith(`${PACKAGE}_`) && name.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${scratch}`);
  const root = join(scratch, 'root');
  run('dpkg-deb', ['-x', deb, root], scratch);
  const version = run('dpkg-deb', ['-f', deb, 'Version'], scratch).trim();
  return { root, deb, version };
}

/** Lemmas of a WordNet index file: first field, '_' → ' ', header lines skipped; sorted, unique. */
function indexLemmas(text: string): string[] {
  const words = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('  ') || line.trim().length === 0) continue;
    words.add(line.split(' ', 1)[0]!.replaceAll('_', ' '));
  }
  return [...words].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** WordNet's own licence, from the package's copyright file (the `License: WordNet3.0` paragraph, unfolded). */
function wordnetLicence(copyright: string): string {
  const lines = copyright.split('\n');
  const start = lines.findIndex((l) => l.startsWith('License: WordNet'));
  if (start < 0) throw new Error(`${PACKAGE} copyright file has no 'License: WordNet…' paragraph`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    body.push(line === ' .' ? '' : line.slice(1));
  }
  return body.join('\n').trimEnd() + '\n';
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function build(out: string): void {
  const scratch = mkdtempSync(join(tmpdir(), 'advood-wordnet-'));
  try {
    const { root, deb, version } = fetchPackage(scratch);
    const dict = DICT_DIRS.map((d) => join(root, d)).find((d) => existsSync(join(d, 'index.noun')));
    if (!dict) throw new Error(`${deb}: no index.noun under ${DICT_DIRS.join(' or ')}`);
    const target = join(out, 'wordnet');
    mkdirSync(target, { recursive: true });
    const counts: Record<string, number> = {};
    for (const { file, index } of LISTS) {
      const words = indexLemmas(readFileSync(join(dict, index), 'utf8'));
      writeFileSync(join(target, file), words.join('\n') + '\n');
      counts[file] = words.length;
    }
    writeFileSync(join(target, 'LICENSE'), wordnetLicence(readFileSync(join(root, 'usr/share/doc', PACKAGE, 'copyright'), 'utf8')));
    const files = Object.fromEntries(
      OUTPUT_FILES.map((file) => {
        const bytes = readFileSync(join(target, file));
        return [`wordnet/${file}`, { sha256: sha256(bytes), bytes: bytes.length }];
      }),
    );
    const manifest = {
      description: 'NegLabel candidate lexicon: WordNet 3.0 noun and adjective lemmas; rebuild with `npm run lexicon-data` (datasets/lexicon/build-lexicon.ts). Licence: wordnet/LICENSE.',
      source: `Debian package ${PACKAGE} ${version}: ${LISTS.map((l) => `${l.index} → ${l.file}`).join(', ')}`,
      counts,
      files,
    };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(): void {
  if (process.argv.includes('--check')) {
    const temp = mkdtempSync(join(tmpdir(), 'advood-lexicon-'));
    try {
      build(temp);
      const fresh = JSON.parse(readFileSync(join(temp, 'manifest.json'), 'utf8')) as { files: unknown; source: string };
      const committed = JSON.parse(readFileSync(join(HERE, 'manifest.json'), 'utf8')) as { files: unknown; source: string };
      const same = JSON.stringify(fresh.files) === JSON.stringify(committed.files);
      process.stdout.write(same ? 'lexicon: rebuild matches manifest.json\n' : `lexicon: rebuild DIFFERS from manifest.json (rebuilt from ${fresh.source}; committed from ${committed.source})\n`);
      process.exitCode = same ? 0 : 1;
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
    return;
  }
  build(HERE);
  const { counts } = JSON.parse(readFileSync(join(HERE, 'manifest.json'), 'utf8')) as { counts: unknown };
  process.stdout.write(`lexicon written to ${join(HERE, 'wordnet')}: ${JSON.stringify(counts)}\n`);
}

main();
