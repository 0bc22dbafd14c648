/**
 * Backend selection: tensorflow-gpu → tensorflow → wasm → cpu.
 *
 * tfjs-node(-gpu) are optional dependencies whose install downloads libtensorflow; where that fails npm
 * drops them, and where it half-succeeds the package exists without its native binding. Importing such a
 * package throws *after* partly registering a backend, so we look for the binding file first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError, errorMessage } from '../core/errors.js';
import { type GpuDevice, queryGpuDevice } from './gpu-device.js';
import { applyGpuTensorflowEnv, applyQuietTensorflowEnv } from './native-env.js';
import { readNativeStamp } from './native-stamp.js';
import { withQuietStderr } from './quiet-stderr.js';
import { WASM_THREADS_ENV, registerThreadedWasmBackend, requestedWasmThreads, wasmThreadsInUse } from './wasm-threads.js';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it was skipped or failed; empty when chosen. */
  reason: string;
}

/** Where a node backend's libtensorflow came from. */
export interface NativeLibrary {
  /** TF_Version() as the loaded library reports it. */
  tensorflowVersion: string;
  /** 'wheel FILE (npm run setup:native)', or the package's own install-time download. */
  origin: string;
}

export interface BackendReport {
  chosen: BackendName;
  /** tfjs's own name for the backend ('tensorflow' for both node variants). */
  tfBackend: string;
  attempts: BackendAttempt[];
  /** How the choice was made: 'auto', '--backend' or 'ADVOOD_BACKEND'. */
  source: string;
  threads: number;
  versions: Record<string, string>;
  /** Upper bound on tensor memory, when the backend has one (wasm: 4 GiB linear memory). */
  heapLimitBytes: number | null;
  /** The TensorFlow library behind a node backend; absent for wasm and cpu. */
  native?: NativeLibrary;
  /** The CUDA device of tensorflow-gpu, as nvidia-smi names it; absent elsewhere or when nvidia-smi is missing. */
  gpu?: GpuDevice;
}

/** What a loader learned while bringing its backend up. */
export interface LoadedBackend {
  /** Threads the backend computes on; 0 = the backend's own default pool. */
  threads: number;
  native?: NativeLibrary;
  gpu?: GpuDevice;
}

/** One way to bring a backend up. Tests inject fakes to exercise the fallback chain. */
export interface BackendLoader {
  name: BackendName;
  /** Throws with a human reason when the backend cannot be used here. */
  load(): Promise<LoadedBackend | void>;
}

const require = createRequire(import.meta.url);

/** wasm32 linear memory cannot exceed 4 GiB (32-bit addresses); big ViTs do not fit (estimateClipBytes in src/models/clip/clip-family.ts). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;

/**
 * wasm's linear memory grows to about this many bytes per byte of live tensors and never shrinks (freed blocks
 * stay in the heap, and a large allocation needs a free run of its size): measured with bench/recompute.ts
 * (recomputed blocks, tfjs 4.22) at 1.91× for ViT-B/16 batch 1 and 1.78× for ViT-B/32 batch 8; a random
 * ViT-L/14, 2.4 GiB of tensors by estimateClipBytes' count, aborted at the 4 GiB cap. Memory estimates on wasm
 * are tensor bytes times this.
 */
export const WASM_HEAP_PER_TENSOR_BYTE = 1.9;

function packageDir(pkg: string): string | null {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
}

export function packageVersion(pkg: string): string | null {
  const dir = packageDir(pkg);
  if (!dir) return null;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Finds `lib/napi-v*\/tfjs_binding.node`; its absence means libtensorflow never installed. */
function nodeBindingPath(pkg: string): string | null {
  const dir = packageDir(pkg);
  if (!dir) return null;
  const lib = join(dir, 'lib');
  if (!existsSync(lib)) return null;
  for (const entry of readdirSync(lib)) {
    const binding = join(lib, entry, 'tfjs_binding.node');
    if (entry.startsWith('napi-v') && existsSync(binding)) return binding;
  }
  return null;
}

/** TF_NUM_INTRAOP_THREADS, which libtensorflow honours; 0 when unset (TensorFlow uses every core). */
function tensorflowThreads(): number {
  const value = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * tfjs-node finds its binding with node-pre-gyp, which parses the *process's* command line as its own options: a
 * user's `-C x` or any prefix of `--directory` (`--dir x`) would make it look for package.json under x. The
 * import therefore sees a command line with no arguments.
 */
async function withoutCommandLine<T>(step: () => Promise<T>): Promise<T> {
  const argv = process.argv;
  process.argv = argv.slice(0, 2);
  try {
    return await step();
  } finally {
    process.argv = argv;
  }
}

function nodeLoader(name: 'tensorflow-gpu' | 'tensorflow', pkg: string): BackendLoader {
  return {
    name,
    async load() {
      const dir = packageDir(pkg);
      if (!dir) throw new Error(`${pkg} is not installed (optional dependency); run 'npm run setup:native${name === 'tensorflow-gpu' ? ' -- --gpu' : ''}'`);
      const binding = nodeBindingPath(pkg);
      if (!binding) throw new Error(`${pkg} has no native binding; run 'npm run setup:native${name === 'tensorflow-gpu' ? ' -- --gpu' : ''}'`);
      applyQuietTensorflowEnv();
      if (name === 'tensorflow-gpu') applyGpuTensorflowEnv();
      // A stock tfjs-node-gpu links libtensorflow 2.9.1 (CUDA 11.2 / cuDNN 8.1); without them this import throws.
      await withQuietStderr(dirname(binding), () => withoutCommandLine(() => import(pkg)));
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the 'tensorflow' backend did not initialise`);
      const stamp = readNativeStamp(dir);
      const tensorflowVersion = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version;
      const gpu = name === 'tensorflow-gpu' ? queryGpuDevice() : null;
      return {
        threads: tensorflowThreads(),
        ...(gpu && { gpu }),
        native: {
          tensorflowVersion,
          origin: stamp ? `wheel ${stamp.wheel} (npm run setup:native)` : `libtensorflow downloaded by ${pkg}'s install script`,
        },
      };
    },
  };
}

const wasmLoader: BackendLoader = {
  name: 'wasm',
  async load() {
    const threads = requestedWasmThreads();
    if (threads > 1 && !tf.engine().registry['wasm']) {
      // Opt-in (wasm-threads.ts); on any failure the stock single-threaded build below takes over.
      try {
        const actual = await registerThreadedWasmBackend(threads);
        if (await tf.setBackend('wasm')) return { threads: await wasmThreadsInUse() };
        throw new Error(`the threaded backend (${actual} threads) did not initialise`);
      } catch (error) {
        process.emitWarning(`${WASM_THREADS_ENV}=${threads}: threaded wasm unavailable (${errorMessage(error)}); using 1 thread`);
      }
    }
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Load the .wasm files shipped inside the package: no network, ever.
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(dirname(wasmFile) + '/');
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    return { threads: await wasmThreadsInUse() };
  },
};

const cpuLoader: BackendLoader = {
  name: 'cpu',
  async load() {
    if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  },
};

export const DEFAULT_LOADERS: readonly BackendLoader[] = [
  nodeLoader('tensorflow-gpu', '@tensorflow/tfjs-node-gpu'),
  nodeLoader('tensorflow', '@tensorflow/tfjs-node'),
  wasmLoader,
  cpuLoader,
];

/**
 * What tensors can occupy: wasm32's 4 GiB linear memory; host memory for TensorFlow on the CPU; the device's
 * memory for tensorflow-gpu (unknown, null, when nvidia-smi cannot say: TensorFlow then reports exhaustion).
 */
function heapLimit(name: BackendName, gpu: GpuDevice | undefined): number | null {
  if (name === 'wasm') return WASM_HEAP_LIMIT_BYTES;
  if (name === 'tensorflow') return totalmem();
  if (name === 'tensorflow-gpu') return gpu?.memoryBytes ?? null;
  return null;
}

export function parseBackendName(value: string, origin: string): BackendName | 'auto' {
  if (value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName | 'auto';
  throw new UserError(`${origin}: unknown backend '${value}'; expected one of auto, ${BACKEND_NAMES.join(', ')}`);
}

let active: BackendReport | null = null;

/**
 * Brings up the first backend that works, in preference order. An explicit request (flag, then
 * ADVOOD_BACKEND) tries only that backend and fails loudly if it cannot start.
 */
export async function initBackend(
  options: { request?: string; loaders?: readonly BackendLoader[] } = {},
): Promise<BackendReport> {
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  requestedWasmThreads(); // a malformed ADVOOD_WASM_THREADS is a UserError here, not a silent fall to the next backend
  let source = 'auto';
  let request: BackendName | 'auto' = 'auto';
  if (options.request && options.request !== 'auto') {
    request = parseBackendName(options.request, '--backend');
    source = '--backend';
  } else if (process.env.ADVOOD_BACKEND) {
    request = parseBackendName(process.env.ADVOOD_BACKEND, 'ADVOOD_BACKEND');
    source = 'ADVOOD_BACKEND';
  }
  if (active && (request === 'auto' || request === active.chosen) && !options.loaders) return active;

  const attempts: BackendAttempt[] = [];
  for (const loader of loaders) {
    if (request !== 'auto' && loader.name !== request) {
      attempts.push({ name: loader.name, ok: false, reason: `not requested (${source}=${request})` });
      continue;
    }
    try {
      const loaded = (await loader.load()) ?? { threads: 0 };
      attempts.push({ name: loader.name, ok: true, reason: '' });
      const report: BackendReport = {
        chosen: loader.name,
        tfBackend: tf.getBackend(),
        attempts,
        source,
        threads: loaded.threads,
        versions: versions(),
        heapLimitBytes: heapLimit(loader.name, loaded.gpu),
        ...(loaded.native ? { native: loaded.native } : {}),
        ...(loaded.gpu ? { gpu: loaded.gpu } : {}),
      };
      if (!options.loaders) active = report;
      return report;
    } catch (error) {
      attempts.push({ name: loader.name, ok: false, reason: errorMessage(error) });
    }
  }
  const detail = attempts.map((a) => `  ${a.name}: ${a.reason}`).join('\n');
  throw new UserError(`no tensor backend could start:\n${detail}`);
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  for (const pkg of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    const version = packageVersion(pkg);
    if (version) out[pkg] = version;
  }
  return out;
}
