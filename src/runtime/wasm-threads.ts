/**
 * Opt-in multi-threaded wasm backend in Node: ADVOOD_WASM_THREADS=N (2 ≤ N ≤ 8) runs tfjs-backend-wasm's
 * threaded-simd build with an N-thread XNNPACK pool. Default: 1 thread, the stock build.
 *
 * tfjs-backend-wasm 4.22 never uses that build in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to
 * false there, tfjs issue #3830), and its loader is browser-only in three ways, each handled here:
 *  1. it hands Emscripten the pthread worker as a Blob URL, which Node's worker_threads cannot start: the worker
 *     script, shipped as a string in wasm-out/…worker.js, is written to a file in the advood cache instead;
 *  2. it sizes the pool as os.cpus().length / 2 (it assumes SMT pairs), so on a 2-vCPU machine it would still use
 *     1 thread: we instantiate the module ourselves and report 2·N logical cores to it;
 *  3. the pool thread only starts once the main event loop has turned (measured: an immediate matmul ran on one
 *     core, one after a 20 ms wait on two), so we wait POOL_START_MS after creating the backend. Should the
 *     thread still be starting, XNNPACK's pool does the work on the main thread: slower, never wrong.
 * Measured on this 2-vCPU machine, a 400×768·768×3072 matmul: ~43 GFLOP/s with 1 thread, ~75–80 with 2 (when
 * the second core is free).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { advoodCacheDir } from '../core/cache-dir.js';
import { UserError } from '../core/errors.js';

export const WASM_THREADS_ENV = 'ADVOOD_WASM_THREADS';
/** tfjs-backend-wasm pre-creates 8 pthread workers, the most its pool can use. */
export const MAX_WASM_THREADS = 8;
const POOL_START_MS = 100;
const WASM_PRIORITY = 2; // tfjs-backend-wasm's own registration priority

const require = createRequire(import.meta.url);

/** The thread count asked for in ADVOOD_WASM_THREADS (1 when unset). */
export function requestedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[WASM_THREADS_ENV];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new UserError(`${WASM_THREADS_ENV}: expected an integer from 1 to ${MAX_WASM_THREADS}, got '${raw}'`);
  }
  return n;
}

/** The subset of the Emscripten module the backend needs, plus the `tfjs` C API table tfjs's own loader adds. */
interface WasmModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  PThread: { runningWorkers: Array<{ unref(): void }>; unusedWorkers: Array<{ unref(): void }> };
}

type ModuleFactory = (config: Record<string, unknown>) => Promise<WasmModule>;

/** Writes the pthread worker script once per content, atomically, and returns its path. */
function workerScriptFile(contents: string): string {
  // The string is a template literal's value: its "\n" escapes became real newlines inside string literals.
  const source = contents.replace(/\n/g, '\\n');
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = join(advoodCacheDir('wasm'), `tfjs-threaded-simd-worker-${digest}.cjs`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, source);
    renameSync(partial, file);
  }
  return file;
}

/**
 * Builds the threaded-simd module and makes it the 'wasm' backend, with `threads` pool threads. Call before the
 * 'wasm' backend is first used. Throws (leaving the stock registration untouched) if the module cannot start.
 * @returns the pool's actual thread count
 */
export async function registerThreadedWasmBackend(threads: number): Promise<number> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof import('@tensorflow/tfjs-backend-wasm');
  const script = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const wasmOut = dirname(script);
  const binary = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm');
  const factory = require(script) as ModuleFactory;
  const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const workerFile = workerScriptFile(wasmWorkerContents);
  // Compiled here so that a missing or broken binary rejects this call rather than surfacing inside Emscripten.
  const compiled = await WebAssembly.compile(readFileSync(binary));

  const module = await factory({
    locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? workerFile : path.endsWith('.wasm') ? binary : prefix + path),
    // Each pthread worker loads the module script from this path (a Blob in tfjs's browser loader).
    mainScriptUrlOrBlob: script,
    // Synchronous, so a link error rejects the factory's promise (Emscripten catches what this throws).
    instantiateWasm: (info: { env: Record<string, unknown> }, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => {
      const imports = { ...info, env: { ...info.env, emscripten_num_logical_cores: () => 2 * threads } };
      const instance = new WebAssembly.Instance(compiled, imports as WebAssembly.Imports);
      receive(instance, compiled);
      return instance.exports;
    },
  });
  // The same C API table tfjs-backend-wasm's loader attaches (backend_wasm.ts, init()).
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasm.setThreadsCount(threads);
  const backend = new wasm.BackendWasm(module as unknown as ConstructorParameters<typeof wasm.BackendWasm>[0]);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => backend, WASM_PRIORITY);
  await new Promise((resolve) => setTimeout(resolve, POOL_START_MS));
  // Emscripten refs a worker while its pthread runs, and the pool's threads run for the life of the process:
  // unref them so that a finished command exits instead of waiting on idle threads.
  for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) worker.unref();
  return wasm.getThreadsCount();
}

/** XNNPACK's pool size as the active wasm module reports it (1 unless ADVOOD_WASM_THREADS took effect). */
export async function wasmThreadsInUse(): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}
