/**
 * `advood generate --shard i/N` in N processes of the CLI (bin/advood.mjs), then `release merge` of the parts:
 * the path a Slurm array takes, run on one machine. The one place a pipeline starts the CLI; it reads the
 * children's `--json` progress lines.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { packagePath } from '../core/repo-paths.js';
import { mergeReleases } from '../release/write/release-merge.js';

const CLI = packagePath('bin', 'advood.mjs');

export interface ShardProcessesOptions {
  /** `advood generate` flags without --shard, --out and --json. */
  generateArgs: readonly string[];
  workers: number;
  /** The merged release; the parts are written beside it and removed once merged. */
  out: string;
  /** The command line recorded in the merged manifest. */
  command: string;
  onStage?: (message: string) => void;
}

export async function generateInShardProcesses(options: ShardProcessesOptions): Promise<void> {
  const parts = Array.from({ length: options.workers }, (_, i) => `${options.out}.part-${i}`);
  await Promise.all(
    parts.map((part, index) =>
      runChild([CLI, 'generate', ...options.generateArgs, '--shard', `${index}/${options.workers}`, '--out', part, '--json'], `worker ${index}`, options.onStage),
    ),
  );
  rmSync(options.out, { recursive: true, force: true });
  await mergeReleases(parts, options.out, options.command);
  for (const part of parts) rmSync(part, { recursive: true, force: true });
}

function runChild(args: string[], label: string, log?: (message: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as { event?: string; done?: number; total?: number };
        if (event.event === 'progress') log?.(`${label}: ${event.done}/${event.total}`);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${label} exited with ${code}:\n${stderr}`))));
  });
}
