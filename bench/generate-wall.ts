/**
 * Where `generate`'s wall time goes: a 16-image, 20-step run of the paper's target strategy ('sample') on the
 * embedded target, its wall time (generateRelease, the encoder already loaded) against the seconds inside the
 * attack's steps (GenerateSummary.attackSeconds). Goal: ≥ 90 % of the wall inside the steps, i.e. the ID features,
 * decoding, 8-bit finish and release writing together under a tenth. A fresh feature cache, so that a run which
 * encoded every ID image (1,000 in the demo's Fashion-MNIST) would show it.
 *
 *   npx tsx bench/generate-wall.ts      (ADVOOD_BACKEND chooses the backend; default: the one auto picks)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEncoder } from '../src/models/create-encoder.js';
import { DEMO } from '../src/pipeline/demo.js';
import { generateRelease, presetInputSize } from '../src/pipeline/generate.js';
import { initBackend } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';

const N = 16;
const STEPS = 20;

export async function benchGenerateWall(): Promise<BenchRow[]> {
  const backend = await initBackend({ request: 'auto' });
  const root = mkdtempSync(join(tmpdir(), 'advood-bench-generate-'));
  const previousCache = process.env.ADVOOD_CACHE;
  process.env.ADVOOD_CACHE = join(root, 'cache');
  // No early stop: every item runs all 20 steps, as the 16-image, 20-step run did.
  const overrides = { steps: STEPS, threshold: null, 'target.strategy': 'sample' };
  const encoder = await createEncoder(DEMO.target, { backend, inputSize: presetInputSize(DEMO.attack, overrides) });
  try {
    const start = performance.now();
    const summary = await generateRelease({
      encoder,
      id: DEMO.idTrain,
      ood: DEMO.attacked,
      n: N,
      attack: DEMO.attack,
      overrides,
      seed: 0,
      out: join(root, 'release'),
      backend,
      command: 'bench/generate-wall.ts',
    });
    const wall = (performance.now() - start) / 1000;
    const share = summary.attackSeconds / wall;
    return [
      {
        name: `generate wall, ${N} images × ${STEPS} steps, 'sample' targets (${DEMO.target} 64 px)`,
        unit: 's',
        advood: wall,
        reference: summary.attackSeconds,
        referenceName: 'the same run, seconds inside the attack steps',
        note: `${(100 * share).toFixed(0)} % of generate's wall inside the attack steps (goal ≥ 90 %), ${backend.chosen}, fresh feature cache`,
      },
    ];
  } finally {
    encoder.dispose();
    if (previousCache === undefined) delete process.env.ADVOOD_CACHE;
    else process.env.ADVOOD_CACHE = previousCache;
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of await benchGenerateWall()) console.log(`${row.name}: ${row.advood.toFixed(2)} s wall, ${row.reference.toFixed(2)} s in steps; ${row.note}`);
}
