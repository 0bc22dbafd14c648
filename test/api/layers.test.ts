/**
 * Imports only point down: every relative import between the top-level folders of src/ (and attacks/) goes to
 * a lower layer than the importing file's. A new folder must be given its place here; an import that points up
 * or sideways fails, naming the file and the import.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Lower numbers are lower layers; folders of one layer may not import each other. */
const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  runtime: 1,
  hub: 1,
  metrics: 1,
  models: 2,
  report: 2,
  data: 3,
  release: 4,
  detectors: 4,
  attacks: 4,
  sources: 5,
  publish: 6,
  pipeline: 6,
  cli: 7,
  index: 8,
};

function layerOf(path: string): string {
  const parts = relative(ROOT, path).split(sep);
  if (parts[0] === 'attacks') return 'attacks';
  return parts.length > 2 ? parts[1]! : 'index';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

test('every import between layers points down', (t) => {
  const files = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'attacks'))];
  const upward: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    t.true(from in LAYERS, `${relative(ROOT, file)}: its folder '${from}' has no layer in test/api/layers.test.ts`);
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const to = layerOf(normalize(join(dirname(file), match[1]!)));
      if (to !== from && !(LAYERS[to]! < LAYERS[from]!)) upward.push(`${relative(ROOT, file)} (${from}) imports ${match[1]} (${to})`);
    }
  }
  t.true(files.length > 100);
  t.deepEqual(upward, []);
});
