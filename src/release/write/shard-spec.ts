/**
 * Which part of the source a run covers, for arrays of jobs on Slurm or Kubernetes.
 *
 * Partition: contiguous blocks. Part i of n gets items [floor(i·N/n), floor((i+1)·N/n)), so sizes differ by at
 * most one and concatenating parts 0…n-1 in order gives back the unsharded order exactly (what `merge` does).
 *
 * Where the part comes from, first match wins:
 * 1. `--shard i/n`;
 * 2. Slurm job arrays: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (the index is taken relative to
 *    SLURM_ARRAY_TASK_MIN, so `--array=1-8` works as well as `--array=0-7`);
 * 3. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count from `--shard-count` (Kubernetes does not
 *    expose `completions` to the pod);
 * 4. otherwise the whole source, {index: 0, count: 1}.
 */
import { UserError } from '../../core/errors.js';
import type { ShardSpec } from '../release-manifest.js';

export function parseShardFlag(flag: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(flag);
  if (!match) throw new UserError(`--shard ${JSON.stringify(flag)}: expected i/n, e.g. 0/4`);
  return checked(Number(match[1]), Number(match[2]), `--shard ${flag}`);
}

export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv, countFlag?: number): ShardSpec {
  if (flag !== undefined && flag !== '') return parseShardFlag(flag);
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = integerEnv(env, 'SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? integerEnv(env, 'SLURM_ARRAY_TASK_MIN') : 0;
    if (env.SLURM_ARRAY_TASK_COUNT === undefined && countFlag === undefined) {
      throw new UserError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard-count');
    }
    const count = countFlag ?? integerEnv(env, 'SLURM_ARRAY_TASK_COUNT');
    return checked(id - min, count, `Slurm array task ${id} (min ${min}) of ${count}`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (countFlag === undefined) throw new UserError('JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job); pass --shard-count equal to the Job\'s completions');
    return checked(integerEnv(env, 'JOB_COMPLETION_INDEX'), countFlag, `Kubernetes completion index of ${countFlag}`);
  }
  if (countFlag !== undefined && countFlag !== 1) throw new UserError('--shard-count needs --shard, a Slurm array or a Kubernetes Indexed Job to give the index');
  return { index: 0, count: 1 };
}

/** The items of one part, in source order (contiguous blocks; see the module comment). */
export function shardItems<T>(items: readonly T[], shard: ShardSpec): T[] {
  const { start, end } = shardRange(items.length, shard);
  return items.slice(start, end);
}

export function shardRange(total: number, shard: ShardSpec): { start: number; end: number } {
  return { start: Math.floor((shard.index * total) / shard.count), end: Math.floor(((shard.index + 1) * total) / shard.count) };
}

function checked(index: number, count: number, where: string): ShardSpec {
  if (!Number.isSafeInteger(count) || count < 1) throw new UserError(`${where}: the part count must be a positive integer`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new UserError(`${where}: index must be in 0…${count - 1}`);
  return { index, count };
}

function integerEnv(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name]!;
  if (!/^\d+$/.test(raw.trim())) throw new UserError(`${name}=${JSON.stringify(raw)} is not a non-negative integer`);
  return Number(raw);
}
