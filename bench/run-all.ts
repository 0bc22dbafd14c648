/**
 * `npm run bench`: runs every benchmark suite, each in its own process and in several rounds, and writes
 * BENCHMARKS.md — one table of advood vs reference (measured in the same run), the spread between rounds
 * as the stated noise, machine details and the exact commands.
 *
 *   npm run bench                      all suites, BENCH_ROUNDS (default 2) rounds each
 *   npx tsx bench/run-all.ts --suite knn --json    one suite, rows as JSON (what the runner calls)
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';
import { BIGG_RESULT, type BigGResult } from './openclip-bigg.js';
import { median } from '../src/metrics/percentile.js';

interface Suite {
  name: string;
  /** What it measures, for the document. */
  about: string;
  /** Rounds for this suite when fewer than BENCH_ROUNDS make sense (a full demo takes minutes). */
  maxRounds?: number;
  run(): Promise<BenchRow[]>;
}

/** The one list of suites. Each module also runs on its own (`npx tsx bench/<file>.ts`). */
const SUITES: readonly Suite[] = [
  { name: 'mobilenet', about: 'MobileNetV2 (embedded target) forward and forward+input-gradient', run: async () => (await import('./mobilenet.js')).benchMobileNet() },
  { name: 'vit', about: 'ViT-B/32 vision tower forward and forward+input-gradient', run: async () => (await import('./vit.js')).benchVit() },
  { name: 'attack-step', about: 'ViT-B/32 attack step (forward, input gradient, Adam, clamp)', run: async () => (await import('./attack-step.js')).benchAttackStep() },
  { name: 'knn', about: 'k-NN cosine scoring, 50k × 1024 bank, 2k queries', run: async () => (await import('./knn.js')).benchKnn() },
  { name: 'release-write', about: 'release writing throughput and bounded memory', run: async () => (await import('./release-write.js')).benchReleaseWrite() },
  {
    name: 'banks',
    about: 'k-NN and the Mahalanobis fit (float64) over an N × 1664 features-file bank (BENCH_BANK_ROWS, default 100k; 1,281,167 = ImageNet) vs PyTorch 2.x, peak RSS of each side',
    maxRounds: 1,
    run: async () => (await import('./banks.js')).benchBanks(),
  },
  { name: 'release-scale', about: 'release write, verify and merge at 100k rows (BENCH_RELEASE_ROWS) beside 10k: time linear, memory flat', maxRounds: 1, run: async () => (await import('./release-scale.js')).benchReleaseScale() },
  {
    name: 'evaluate-scale',
    about: '`evaluate` on 50k OOD images (BENCH_EVALUATE_OOD) beside 5k, tiny images and the stand-in target: time and peak RSS',
    maxRounds: 1,
    run: async () => (await import('./evaluate-scale.js')).benchEvaluateScale(),
  },
  {
    name: 'optimisers',
    about: 'attack strength at equal steps on the demo: APGD and signed-gradient vs Adam (AUROC after N steps, time per step)',
    // The AUROCs are deterministic; one round also keeps the timing pair (same process, same images) comparable.
    maxRounds: 1,
    run: async () => (await import('./optimisers.js')).benchOptimisers(),
  },
  {
    name: 'memory',
    about: 'peak RSS and time of forward + input gradient through the real loading path, ViT-B/32 and ViT-L/14, against PyTorch 2.x (open_clip, same checkpoint)',
    maxRounds: 1,
    run: async () => (await import('./memory.js')).benchMemory(),
  },
  { name: 'native', about: 'the tensorflow backend against PyTorch 2.x (venv) and 1.13 (Debian) CPU at 1 and 2 threads', maxRounds: 1, run: async () => (await import('./native.js')).benchNative() },
  {
    name: 'backbones',
    about: 'DINOv2 ViT-B/14 and SigLIP B/16 attack step at 224 px, batch 8: tensorflow backend vs PyTorch 2.x (venv, transformers) at 2 threads',
    maxRounds: 1,
    run: async () => (await import('./backbone-base.js')).benchBackbones(),
  },
  {
    name: 'generate-wall',
    about: "`generate` wall time against the seconds inside its attack steps (16 images, 20 steps, 'sample' targets, embedded target)",
    maxRounds: 1,
    run: async () => (await import('./generate-wall.js')).benchGenerateWall(),
  },
  { name: 'demo', about: 'end-to-end `advood demo`, 2 worker processes vs 1', maxRounds: 1, run: async () => (await import('./demo-workers.js')).benchDemoWorkers() },
];

const SELF = fileURLToPath(import.meta.url);

/** Units that count work per second are better when higher; times and sizes when lower. */
function higherIsBetter(unit: string): boolean {
  return unit.endsWith('/s');
}

function runSuiteInChild(suite: Suite): BenchRow[] {
  const output = execFileSync(process.execPath, ['--import=tsx', SELF, '--suite', suite.name, '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  const last = output.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as BenchRow[];
}


interface Combined {
  suite: string;
  row: BenchRow;
  ratio: number;
  /** Largest relative deviation of a round's ratio from the median ratio (0 for one round). */
  spread: number;
  rounds: number;
  /** The same row's ratio in the BENCHMARKS.md this run replaces, if it had the row. */
  previous: number | null;
}

const DOCUMENT = new URL('../BENCHMARKS.md', import.meta.url);

function rowKey(suite: string, name: string, referenceName: string): string {
  return `${suite}\u0000${name}\u0000${referenceName}`;
}

/**
 * Ratios of the previous BENCHMARKS.md. Rounds inside one run share the machine's state and understate how far
 * a later run moves, so the stated noise also counts the change against the last complete run.
 */
function previousRatios(): Map<string, number> {
  const ratios = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(DOCUMENT, 'utf8');
  } catch {
    return ratios;
  }
  for (const line of text.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    // | suite | benchmark | unit | advood | reference | advood/ref | better is | reference is | … |
    const ratio = Number(cells[5]);
    if (cells.length >= 9 && Number.isFinite(ratio) && cells[0] !== 'suite') ratios.set(rowKey(cells[0]!, cells[1]!, cells[7]!), ratio);
  }
  return ratios;
}

/** The noise a rerun should stay within: the larger of the spread between rounds and the move since the last run. */
function statedNoise(r: Combined): number | null {
  const sinceLast = r.previous === null ? null : Math.abs(r.ratio - r.previous) / r.previous;
  if (r.rounds < 2 && sinceLast === null) return null;
  return Math.max(r.spread, sinceLast ?? 0);
}

function combine(suite: string, rounds: BenchRow[][], previous: Map<string, number>): Combined[] {
  const first = rounds[0] ?? [];
  return first.map((row, index) => {
    const same = rounds.map((r) => r[index]).filter((r): r is BenchRow => r !== undefined && r.name === row.name && r.referenceName === row.referenceName);
    const ratios = same.map((r) => r.advood / r.reference);
    const ratio = median(ratios);
    return {
      suite,
      row: { ...row, advood: median(same.map((r) => r.advood)), reference: median(same.map((r) => r.reference)) },
      ratio,
      spread: Math.max(...ratios.map((r) => Math.abs(r - ratio) / ratio)),
      rounds: same.length,
      previous: previous.get(rowKey(suite, row.name, row.referenceName)) ?? null,
    };
  });
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function torchVersion(): string {
  try {
    return execFileSync(torchPython(), ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not available';
  }
}

function document(results: Combined[], rounds: number, profile: string, seconds: number): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '# advood benchmarks',
    '',
    'Produced by `npm run bench` (bench/run-all.ts); do not edit by hand. Every reference figure was measured in the same run, on the same machine.',
    '',
    `- Machine: ${cpu}, ${cpus().length} logical cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, no GPU`,
    `- Node ${process.versions.node}; @tensorflow/tfjs ${packageVersion('@tensorflow/tfjs')}, backend wasm (1 thread unless a row says 2: ADVOOD_WASM_THREADS=2) except rows named 'tensorflow:' (tfjs-node ${packageVersion('@tensorflow/tfjs-node') ?? '—'} on the wheel's libtensorflow, npm run setup:native); PyTorch ${torchVersion()} (Debian python3-torch, CPU) unless a row names another`,
    `- Rounds: ${rounds}; each suite runs in a fresh process per round, and each figure inside a round is already a median of several runs.`,
    `- Total bench time: ${(seconds / 60).toFixed(1)} min`,
    '',
    '**Noise.** Each suite ran in fresh processes, BENCH_ROUNDS times (the full demo once). The last column is the noise a ' +
      'rerun should stay within: the larger of the spread between this run\'s rounds (largest deviation of a round\'s ratio from the ' +
      'median) and the change of the ratio since the previous complete run (the "previous run" column). Rounds of one run share ' +
      'the machine\'s state, so the second term is usually the larger. Timings on a loaded machine swing further.',
    '',
    '| suite | benchmark | unit | advood | reference | advood/ref | better is | reference is | noise | previous run |',
    '|---|---|---|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const r of results) {
    const direction = higherIsBetter(r.row.unit) ? 'higher' : 'lower';
    const noise = statedNoise(r);
    lines.push(
      `| ${r.suite} | ${r.row.name} | ${r.row.unit} | ${format(r.row.advood)} | ${format(r.row.reference)} | ${r.ratio.toFixed(2)} | ${direction} | ` +
        `${r.row.referenceName} | ${noise === null ? 'unmeasured' : `±${(100 * noise).toFixed(0)} %`} | ${r.previous === null ? '—' : r.previous.toFixed(2)} |`,
    );
  }
  // Rows of one benchmark against several references share their note; say it once.
  const notes = new Map<string, string>();
  for (const r of results) if (r.row.note && !notes.has(r.row.note)) notes.set(r.row.note, r.row.name);
  if (notes.size) {
    lines.push('', 'Notes:', '');
    for (const [note, name] of notes) lines.push(`- ${name}: ${note}`);
  }
  if (profile) lines.push('', profile);
  const bigG = bigGSection();
  if (bigG) lines.push('', bigG);
  lines.push(
    '',
    '## Commands',
    '',
    '```',
    'npm run bench                          # everything, writes this file',
    ...SUITES.map((s) => `npx tsx bench/run-all.ts --suite ${s.name}   # ${s.about}`),
    'npx tsx bench/openclip-bigg.ts         # ViT-bigG-14 against open_clip (not part of npm run bench: ~10 GB, many minutes)',
    '```',
    '',
  );
  return lines.join('\n');
}

/** The last bench/openclip-bigg.ts result, with its own date: it is too large to rerun with every bench. */
function bigGSection(): string {
  let result: BigGResult;
  try {
    result = JSON.parse(readFileSync(BIGG_RESULT, 'utf8')) as BigGResult;
  } catch {
    return '';
  }
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return [
    `## ${result.model} against open_clip (random weights; \`${result.command}\`, ${result.date})`,
    '',
    `advood loads open_clip's own checkpoint (safetensors → tensors, ${result.parity.loadSeconds.toFixed(0)} s) on ${result.advood.backend} ` +
      `(TensorFlow ${result.advood.tensorflow}) and matches open_clip: features cos ${result.parity.featuresCos.toFixed(8)} ` +
      `(max |Δ| ${result.parity.featuresMaxAbsDiff.toExponential(1)}), input gradient of the attack loss cos ${result.parity.gradientCos.toFixed(8)}.`,
    '',
    '| batch 1, forward + input gradient | advood | PyTorch ' + result.pytorch.version + ' | advood/PyTorch |',
    '|---|---:|---:|---:|',
    `| time per step (${result.threads} threads) | ${result.advood.stepSeconds.toFixed(1)} s | ${result.pytorch.stepSeconds.toFixed(1)} s | ${(result.advood.stepSeconds / result.pytorch.stepSeconds).toFixed(2)} |`,
    `| peak RSS of the process | ${gib(result.advood.peakRssBytes)} | ${gib(result.pytorch.peakRssBytes)} | ${(result.advood.peakRssBytes / result.pytorch.peakRssBytes).toFixed(2)} |`,
    '',
    `Machine: ${result.machine}. PyTorch runs the vision tower alone, built on the meta device and filled from the same file.`,
  ].join('\n');
}

/** Where the ViT attack step spends its time, by tfjs kernel (when the step is slower than PyTorch). */
async function profileSection(results: Combined[]): Promise<string> {
  const step = results.find((r) => r.suite === 'attack-step' && r.row.unit.startsWith('ms'));
  if (!step || step.ratio <= 1) return '';
  const { profileVitByOp } = await import('./profile-vit.js');
  const kernels = await profileVitByOp();
  const lines = [
    '## Where the ViT-B/32 step goes (tfjs wasm, batch 8, forward + input gradient)',
    '',
    `The attack step is ${step.ratio.toFixed(2)}× PyTorch. Time by kernel (bench/profile-vit.ts):`,
    '',
    '| kernel | ms | share |',
    '|---|---:|---:|',
    ...kernels.slice(0, 15).map((k) => `| ${k.kernel} | ${k.ms.toFixed(1)} | ${(100 * k.share).toFixed(1)} % |`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const suiteFlag = args.indexOf('--suite');
  if (suiteFlag >= 0) {
    const name = args[suiteFlag + 1];
    const suite = SUITES.find((s) => s.name === name);
    if (!suite) throw new Error(`unknown suite '${name}'; known: ${SUITES.map((s) => s.name).join(', ')}`);
    const rows = await suite.run();
    if (args.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n');
    else for (const row of rows) process.stdout.write(`${row.name}: advood ${format(row.advood)} ${row.unit}, ${row.referenceName} ${format(row.reference)} → ratio ${(row.advood / row.reference).toFixed(2)}\n`);
    return;
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const started = performance.now();
  const previous = previousRatios();
  const results: Combined[] = [];
  for (const suite of SUITES) {
    const perRound: BenchRow[][] = [];
    const suiteRounds = Math.min(rounds, suite.maxRounds ?? rounds);
    for (let round = 0; round < suiteRounds; round++) {
      process.stderr.write(`bench: ${suite.name}, round ${round + 1}/${suiteRounds}\n`);
      perRound.push(runSuiteInChild(suite));
    }
    results.push(...combine(suite.name, perRound, previous));
  }
  const profile = await profileSection(results);
  const text = document(results, rounds, profile, (performance.now() - started) / 1000);
  writeFileSync(DOCUMENT, text);
  process.stdout.write(text);
}

await main();
