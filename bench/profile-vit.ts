/**
 * Where the time of one ViT-B/32 forward + input-gradient goes on wasm: a per-kernel profile at batch 8.
 *
 * tf.profile times every kernel the engine runs. The wasm backend runs kernels synchronously and times them
 * with the wall clock around the call, so the kernel times are real; whatever the profiled wall time has on
 * top of their sum is the engine's own work (the gradient tape, tidy scopes, allocation) and is reported as
 * its own row. Profiling adds some overhead to that row, so its share is an upper bound.
 *
 *   npx tsx bench/profile-vit.ts            (PROFILE_BATCH=n, default 8; PROFILE_DETAIL=n rows by shape, default 25)
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { randomVitB32Tower } from './random-vit.js';

export interface OpProfileRow {
  /** Kernel name (e.g. 'MatMul', 'BatchMatMul'), or '(engine: tape, scopes, allocation)'. */
  kernel: string;
  /** Milliseconds in this kernel over one forward + input-gradient of the whole batch. */
  ms: number;
  /** Fraction of the profiled wall time. */
  share: number;
  calls: number;
}

export const ENGINE_ROW = '(engine: tape, scopes, allocation)';

interface KernelRecord {
  name: string;
  kernelTimeMs: number;
  inputShapes: Array<number[] | null>;
  outputShapes: number[][];
}

export interface VitProfile {
  batch: number;
  wallMs: number;
  byKernel: OpProfileRow[];
  /** Kernel + input shapes → time, the finer view used to find the slow instance of a kernel. */
  byShape: OpProfileRow[];
}

function aggregate(records: KernelRecord[], key: (r: KernelRecord) => string, wallMs: number): OpProfileRow[] {
  const rows = new Map<string, OpProfileRow>();
  for (const r of records) {
    const k = key(r);
    const row = rows.get(k) ?? { kernel: k, ms: 0, share: 0, calls: 0 };
    row.ms += r.kernelTimeMs;
    row.calls += 1;
    rows.set(k, row);
  }
  for (const row of rows.values()) row.share = row.ms / wallMs;
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

/** Profiles one forward + input-gradient of the random ViT-B/32 vision tower (after one warm-up run). */
export async function profileVit(batch = 8): Promise<VitProfile> {
  await initBackend({ request: 'wasm' });
  const tower = randomVitB32Tower();
  const x = tf.randomUniform([batch, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const step = () => {
    const g = tf.grad((input: tf.Tensor) => tf.sum(tower.forward(input as tf.Tensor4D, 'projected')))(x);
    g.dataSync();
    g.dispose();
  };
  try {
    step();
    const start = performance.now();
    const info = await tf.profile(step);
    const wallMs = performance.now() - start;
    // Composite ops (tf.customGrad's 'unnamed scope', tf.fused.matMul's 'fusedMatMul__op') are recorded around
    // the kernels they run, which are recorded too: keep the backend's kernels only, so no time counts twice.
    const backendName = tf.getBackend();
    const records = (info.kernels as unknown as KernelRecord[]).filter((r) => tf.getKernel(r.name, backendName) !== undefined);
    const byKernel = aggregate(records, (r) => r.name, wallMs);
    const kernelMs = byKernel.reduce((sum, r) => sum + r.ms, 0);
    byKernel.push({ kernel: ENGINE_ROW, ms: wallMs - kernelMs, share: (wallMs - kernelMs) / wallMs, calls: 0 });
    const byShape = aggregate(records, (r) => `${r.name} ${r.inputShapes.map((s) => (s ? `[${s.join("×")}]` : "-")).join(" ")}`, wallMs);
    return { batch, wallMs, byKernel, byShape };
  } finally {
    x.dispose();
    tower.dispose();
  }
}

/** The kernel table for BENCHMARKS.md: one forward + input-gradient at batch 8, ms for the whole batch. */
export async function profileVitByOp(): Promise<{ kernel: string; ms: number; share: number }[]> {
  const { byKernel } = await profileVit(8);
  return byKernel.map(({ kernel, ms, share }) => ({ kernel, ms, share }));
}

function printRows(title: string, rows: OpProfileRow[], limit: number): void {
  console.log(`\n${title}`);
  console.log(`${'kernel'.padEnd(72)} ${'ms'.padStart(9)} ${'share'.padStart(6)} ${'calls'.padStart(6)}`);
  for (const r of rows.slice(0, limit)) {
    console.log(`${r.kernel.slice(0, 72).padEnd(72)} ${r.ms.toFixed(1).padStart(9)} ${(100 * r.share).toFixed(1).padStart(5)}% ${String(r.calls).padStart(6)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const batch = Number(process.env.PROFILE_BATCH ?? 8);
  const profile = await profileVit(batch);
  console.log(`ViT-B/32 forward + input-gradient, batch ${batch}, wasm: ${profile.wallMs.toFixed(0)} ms profiled wall time (${(profile.wallMs / batch).toFixed(0)} ms/img)`);
  printRows('by kernel', profile.byKernel, 40);
  printRows('by kernel and input shapes', profile.byShape, Number(process.env.PROFILE_DETAIL ?? 25));
}
