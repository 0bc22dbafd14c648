/**
 * The CUDA device tfjs-node-gpu computes on, as nvidia-smi reports it: its name and memory, so that `doctor`
 * can name it and the memory estimate that guards loading (src/models/create-encoder.ts) is held to the
 * device's memory instead of none. TensorFlow places every op on the first visible GPU (`/device:GPU:0`), so
 * the device is the first one CUDA_VISIBLE_DEVICES leaves visible.
 *
 * None of this can run on a machine without a GPU; the parsing is tested on nvidia-smi's documented CSV
 * (`--query-gpu=index,name,memory.total --format=csv,noheader,nounits`: memory in MiB).
 */
import { execFileSync } from 'node:child_process';

export interface GpuDevice {
  index: number;
  name: string;
  memoryBytes: number;
}

const MIB = 1024 ** 2;

/** The rows of nvidia-smi's CSV answer; rows that are not `index, name, MiB` are ignored. */
export function parseNvidiaSmiGpus(csv: string): GpuDevice[] {
  const gpus: GpuDevice[] = [];
  for (const line of csv.split('\n')) {
    const match = /^\s*(\d+)\s*,\s*(.+?)\s*,\s*(\d+)\s*$/.exec(line);
    if (match) gpus.push({ index: Number(match[1]), name: match[2]!, memoryBytes: Number(match[3]) * MIB });
  }
  return gpus;
}

/**
 * The device TensorFlow will use: the first of CUDA_VISIBLE_DEVICES (indices; UUIDs and MIG names are not
 * resolved here, and then the first GPU stands in), else GPU 0. null when there is none or nvidia-smi is absent.
 */
export function firstVisibleGpu(gpus: readonly GpuDevice[], visible = process.env.CUDA_VISIBLE_DEVICES): GpuDevice | null {
  if (visible !== undefined) {
    const first = visible.split(',')[0]!.trim();
    if (first === '' || first === '-1') return null; // CUDA's own spelling of "no GPU"
    if (/^\d+$/.test(first)) return gpus.find((gpu) => gpu.index === Number(first)) ?? null;
  }
  return gpus[0] ?? null;
}

export function queryGpuDevice(): GpuDevice | null {
  try {
    const csv = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return firstVisibleGpu(parseNvidiaSmiGpus(csv));
  } catch {
    return null;
  }
}
