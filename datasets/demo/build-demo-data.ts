/**
 * Builds the bundled demo subsets (committed, so the demo needs no apt at run time) from Debian packages:
 *   dataset-fashion-mnist  → fashion-mnist-train (100 per class), fashion-mnist-test (30 per class): the ID sets
 *   openclipart-png        → openclipart (200 clipart images, sampled across the 22 categories): OOD
 *   python3-skimage        → textures (192 random crops of brick/grass/gravel + 8 photos): OOD
 * Every set is a PNG ImageFolder (one code path, viewable). Fashion-MNIST keeps its 28×28 grey originals
 * (preprocessing upsamples); OOD images are stored with the short side at most 128 px to keep the commit small.
 * Sampling is seeded, so a rebuild gives byte-identical files; manifest.json records the sha256 of each file.
 *
 * Run: npm run demo-data   (options: --check: rebuild into a temp dir and compare with the committed manifest)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { encodePng } from '../../src/data/decode-image.js';
import { openIdx, readIdx } from '../../src/sources/readers/idx-source.js';
import { readClassNames } from '../../src/sources/readers/idx-classes.js';
import { SeededRandom } from '../../src/core/seeded-random.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const OPENCLIPART_DIR = '/usr/share/openclipart/png';
const SKIMAGE_DIR = '/usr/lib/python3/dist-packages/skimage/data';

const TRAIN_PER_CLASS = 100;
const TEST_PER_CLASS = 30;
const OPENCLIPART_COUNT = 200;
const TEXTURE_CROPS = 192;
/** Photos from skimage.data with CC0 / public-domain terms (see LICENSES.md). */
const PHOTOS = ['astronaut.png', 'camera.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'hubble_deep_field.jpg', 'retina.jpg', 'clock_motion.png'];
const TEXTURES = ['brick.png', 'grass.png', 'gravel.png'];
/** OOD images keep at most this short side (CLIP preprocessing then resizes to the model's size). */
const OOD_MAX_SHORT_SIDE = 128;
const SEED = 20240305;

/** The project's seeded PRNG (mulberry32), so the sample is the same on every machine. */
function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function walkPngs(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walkPngs(path);
      return name.toLowerCase().endsWith('.png') ? [path] : [];
    });
}

async function writePng(path: string, image: Sharp): Promise<void> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await encodePng(new Uint8Array(data), info.height, info.width));
}

/** Flattens onto white, converts to sRGB (or keeps grey) and shrinks so the short side is ≤ OOD_MAX_SHORT_SIDE. */
function oodImage(input: string | Buffer, grey: boolean): Sharp {
  return sharp(input, { limitInputPixels: 8192 * 8192 })
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace(grey ? 'b-w' : 'srgb')
    .resize(OOD_MAX_SHORT_SIDE, OOD_MAX_SHORT_SIDE, { fit: 'outside', withoutEnlargement: true, kernel: 'cubic' });
}

async function buildFashion(out: string): Promise<void> {
  const classNames = readClassNames(join(HERE, '..', 'fashion-mnist-classes.txt'));
  const classesTxt = classNames.map((name) => `${slug(name)}\t${name}`).join('\n') + '\n';
  for (const [split, prefix, perClass] of [['fashion-mnist-train', 'train', TRAIN_PER_CLASS], ['fashion-mnist-test', 't10k', TEST_PER_CLASS]] as const) {
    const source = await openIdx(
      { images: join(FASHION_DIR, `${prefix}-images-idx3-ubyte.gz`), labels: join(FASHION_DIR, `${prefix}-labels-idx1-ubyte.gz`) },
      { classNames },
    );
    const taken = new Array<number>(classNames.length).fill(0);
    const pixels = readIdx(join(FASHION_DIR, `${prefix}-images-idx3-ubyte.gz`), 3).array.data;
    // The first `perClass` images of each class in file order: deterministic and easy to trace back.
    for (const [row, item] of source.items.entries()) {
      const label = item.label!;
      if (taken[label] >= perClass) continue;
      taken[label]++;
      const path = join(out, split, slug(classNames[label]), `${prefix}-${String(row).padStart(5, '0')}.png`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, await encodePng(pixels.subarray(row * 784, (row + 1) * 784), 28, 28));
      if (taken.every((n) => n >= perClass)) break;
    }
    writeFileSync(join(out, split, 'classes.txt'), classesTxt);
  }
}

async function buildOpenclipart(out: string): Promise<void> {
  const random = seededRandom(SEED);
  const categories = readdirSync(OPENCLIPART_DIR).filter((name) => statSync(join(OPENCLIPART_DIR, name)).isDirectory()).sort();
  const queues = categories.map((category) => shuffled(walkPngs(join(OPENCLIPART_DIR, category)), random));
  let written = 0;
  // Round-robin over the categories, so every category is represented as evenly as its size allows.
  while (written < OPENCLIPART_COUNT && queues.some((q) => q.length > 0)) {
    for (const [c, queue] of queues.entries()) {
      if (written >= OPENCLIPART_COUNT) break;
      const path = queue.shift();
      if (!path) continue;
      // The path below the category keeps names unique (two subfolders may hold the same file name).
      const below = relative(join(OPENCLIPART_DIR, categories[c]), path).replace(/\.png$/i, '');
      const name = `${categories[c]}--${below.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`;
      if (existsSync(join(out, 'openclipart', name))) throw new Error(`demo name collision: ${name}`);
      try {
        await writePng(join(out, 'openclipart', name), oodImage(path, false));
        written++;
      } catch (error) {
        process.stderr.write(`skipped ${path}: ${(error as Error).message}\n`);
      }
    }
  }
}

async function buildTextures(out: string): Promise<void> {
  const random = seededRandom(SEED + 1);
  for (let i = 0; i < TEXTURE_CROPS; i++) {
    const texture = TEXTURES[i % TEXTURES.length];
    const path = join(SKIMAGE_DIR, texture);
    const { width, height } = await sharp(path).metadata();
    // Random square crops of 64–256 px, each shrunk to 96 px: varied scale, small files.
    const side = 64 + Math.floor(random() * 193);
    const left = Math.floor(random() * (width - side + 1));
    const top = Math.floor(random() * (height - side + 1));
    const image = sharp(path).extract({ left, top, width: side, height: side }).toColourspace('b-w').resize(96, 96, { kernel: 'cubic' });
    const name = `${basename(texture, '.png')}-${String(i).padStart(3, '0')}.png`;
    await writePng(join(out, 'textures', name), image);
  }
  for (const photo of PHOTOS) {
    const path = join(SKIMAGE_DIR, photo);
    const grey = (await sharp(path).metadata()).channels === 1;
    await writePng(join(out, 'textures', `photo-${photo.replace(/\.[^.]+$/, '')}.png`), oodImage(path, grey));
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
}

const SETS = ['fashion-mnist-train', 'fashion-mnist-test', 'openclipart', 'textures'];

function manifest(out: string): Record<string, unknown> {
  const files: Record<string, { sha256: string; bytes: number }> = {};
  let total = 0;
  for (const set of SETS) {
    for (const path of listFiles(join(out, set))) {
      const bytes = readFileSync(path);
      files[relative(out, path).split(sep).join('/')] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
      total += bytes.length;
    }
  }
  const counts = Object.fromEntries(SETS.map((set) => [set, Object.keys(files).filter((f) => f.startsWith(`${set}/`) && f.endsWith('.png')).length]));
  return {
    description: 'advood demo subsets; rebuild with `npm run demo-data` (datasets/demo/build-demo-data.ts). Licences: LICENSES.md.',
    seed: SEED,
    sources: {
      'fashion-mnist-train': `${FASHION_DIR}/train-*.gz (Debian dataset-fashion-mnist), first ${TRAIN_PER_CLASS} per class`,
      'fashion-mnist-test': `${FASHION_DIR}/t10k-*.gz (Debian dataset-fashion-mnist), first ${TEST_PER_CLASS} per class`,
      openclipart: `${OPENCLIPART_DIR} (Debian openclipart-png), ${OPENCLIPART_COUNT} sampled round-robin across categories`,
      textures: `${SKIMAGE_DIR} (Debian python3-skimage): ${TEXTURE_CROPS} crops of ${TEXTURES.join(', ')} + photos ${PHOTOS.join(', ')}`,
    },
    counts,
    totalBytes: total,
    files,
  };
}

async function build(out: string): Promise<void> {
  for (const set of SETS) rmSync(join(out, set), { recursive: true, force: true });
  await buildFashion(out);
  await buildOpenclipart(out);
  await buildTextures(out);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest(out), null, 2) + '\n');
}

async function main(): Promise<void> {
  for (const path of [FASHION_DIR, OPENCLIPART_DIR, SKIMAGE_DIR]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install dataset-fashion-mnist openclipart-png python3-skimage`);
  }
  if (process.argv.includes('--check')) {
    const temp = mkdtempSync(join(tmpdir(), 'advood-demo-'));
    await build(temp);
    const fresh = JSON.parse(readFileSync(join(temp, 'manifest.json'), 'utf8')) as { files: unknown };
    const committed = JSON.parse(readFileSync(join(HERE, 'manifest.json'), 'utf8')) as { files: unknown };
    rmSync(temp, { recursive: true, force: true });
    const same = JSON.stringify(fresh.files) === JSON.stringify(committed.files);
    process.stdout.write(same ? 'demo data: rebuild matches manifest.json\n' : 'demo data: rebuild DIFFERS from manifest.json\n');
    process.exitCode = same ? 0 : 1;
    return;
  }
  await build(HERE);
  const { counts, totalBytes } = JSON.parse(readFileSync(join(HERE, 'manifest.json'), 'utf8')) as { counts: unknown; totalBytes: number };
  process.stdout.write(`demo data written to ${HERE}: ${JSON.stringify(counts)}, ${(totalBytes / 1024 / 1024).toFixed(2)} MiB\n`);
}

await main();
