/**
 * Which part of the source a run covers, for arrays of jobs on Slurm or Kubernetes.
 *
 * Partition: contiguous runs of whole batches. With the source in B batches of `batchSize` items (the last one
 * possibly short), part i of n gets batches [floor(i·B/n), floor((i+1)·B/n)), so part sizes differ by at most one
 * batch, every batch of a part holds exactly the items it holds in the unsharded run, and concatenating parts
 * 0…n-1 in order gives back the unsharded order (what `merge` does). Cutting inside a batch would give the items
 * around the cut other batch-mates, and on the tensorflow backend an item's attacked pixels depend on its
 * batch-mates (test/pipeline/shard-bytes.test.ts compares both backends); with whole batches a merged release is
 * the unsharded run's bytes. A part may be empty when n exceeds B.
 *
 * Where the part comes from, first match wins:
 * 1. `--shard i/n`;
 * 2. Slurm job arrays: the task's position in the array, (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) /
 *    SLURM_ARRAY_TASK_STEP, so `--array=1-8` and `--array=0-6:2` work as well as `--array=0-7`; the count is
 *    `--shard-count`, else SLURM_ARRAY_TASK_COUNT, else (MAX − MIN) / STEP + 1;
 * 3. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count from `--shard-count`, which must equal the
 *    Job's `completions` (Kubernetes does not expose it to the pod; `parallelism` only says how many run at once);
 * 4. otherwise the whole source, {index: 0, count: 1}.
 *
 * A task resubmitted on its own (`sbatch --array=2 …`) is position 0 of a one-task array: the environment cannot
 * say which part it was, so its folder's journal refuses it and names the `--shard i/n` that resumes it.
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
  if (env.SLURM_ARRAY_TASK_ID !== undefined) return slurmArrayShard(env, countFlag);
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (countFlag === undefined) throw new UserError('JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job); pass --shard-count equal to the Job\'s completions');
    const index = integerEnv(env, 'JOB_COMPLETION_INDEX');
    if (index >= countFlag) {
      throw new UserError(`JOB_COMPLETION_INDEX=${index} with --shard-count ${countFlag}: --shard-count must equal the Job's completions (not its parallelism)`);
    }
    return checked(index, countFlag, `Kubernetes completion index of ${countFlag}`);
  }
  if (countFlag !== undefined && countFlag !== 1) throw new UserError('--shard-count needs --shard, a Slurm array or a Kubernetes Indexed Job to give the index');
  return { index: 0, count: 1 };
}

/** The task's position in its array (module comment, 2.). */
function slurmArrayShard(env: NodeJS.ProcessEnv, countFlag: number | undefined): ShardSpec {
  const id = integerEnv(env, 'SLURM_ARRAY_TASK_ID');
  const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? integerEnv(env, 'SLURM_ARRAY_TASK_MIN') : 0;
  const step = env.SLURM_ARRAY_TASK_STEP !== undefined ? integerEnv(env, 'SLURM_ARRAY_TASK_STEP') : 1;
  const where = `Slurm array task ${id} (min ${min}, step ${step})`;
  if (step < 1) throw new UserError(`SLURM_ARRAY_TASK_STEP=${step}: the step must be at least 1`);
  if (id < min || (id - min) % step !== 0) throw new UserError(`${where}: the id is not min + k·step; the array's variables disagree`);
  let count = countFlag;
  if (count === undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) count = integerEnv(env, 'SLURM_ARRAY_TASK_COUNT');
  if (count === undefined && env.SLURM_ARRAY_TASK_MAX !== undefined) count = Math.floor((integerEnv(env, 'SLURM_ARRAY_TASK_MAX') - min) / step) + 1;
  if (count === undefined) throw new UserError('SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is; pass --shard-count');
  return checked((id - min) / step, count, `${where} of ${count}`);
}

/** The items of one part, in source order (whole batches; see the module comment). */
export function shardItems<T>(items: readonly T[], shard: ShardSpec, batchSize: number): T[] {
  const { start, end } = shardRange(items.length, shard, batchSize);
  return items.slice(start, end);
}

/** The item range [start, end) of one part: whole batches of `batchSize` (module comment). */
export function shardRange(total: number, shard: ShardSpec, batchSize: number): { start: number; end: number } {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const batches = Math.ceil(total / batchSize);
  const boundary = (part: number) => Math.min(total, Math.floor((part * batches) / shard.count) * batchSize);
  return { start: boundary(shard.index), end: boundary(shard.index + 1) };
}

/** How a refusal names a part: the flag that selects it. */
export function shardFlag(shard: ShardSpec): string {
  return `--shard ${shard.index}/${shard.count}`;
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
