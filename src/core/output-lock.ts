/**
 * An advisory lock per output folder, so that two runs writing the same folder fail fast with one line
 * instead of racing on each other's temp files. The lock is a file created exclusively in the folder holding
 * the owner's pid, host, pid space and, on a cluster, its scheduler identity; the owner refreshes the file's
 * mtime (its heartbeat) from a worker thread, which beats while the main thread is busy attacking a batch.
 *
 * A lock is stale, and taken over, when one of these proves its owner gone (lockVerdict):
 * 1. it was written in this pid space (same host, same kernel boot and pid namespace) and its pid is gone (a
 *    kill -9, a crash);
 * 2. it was written elsewhere by the same scheduler task: the same Slurm job (SLURM_ARRAY_JOB_ID and
 *    SLURM_ARRAY_TASK_ID, else SLURM_JOB_ID, with the step and task rank), or the same pod of a Kubernetes
 *    Indexed Job (JOB_COMPLETION_INDEX and the pod's host name, `<job>-<index>` for every retry). Slurm runs one
 *    instance of a job at a time, so a requeued task on another node means the first is dead; Kubernetes
 *    replaces a pod only once it has terminated when the Job sets `podReplacementPolicy: Failed` (as
 *    examples/k8s-generate-indexed-job.yaml does);
 * 3. its heartbeat is older than its lease (LOCK_LEASE_MS, recorded in the lock): the owner's machine has stopped.
 *    Clocks of the hosts sharing the folder must agree to well within the lease.
 * A lock from another host that none of these prove stale counts as held.
 */
import { closeSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { errorMessage, UserError } from './errors.js';
import { createExclusive, writeAll } from './safe-write.js';

export const LOCK_FILE = '.advood.lock';

/** A lock whose heartbeat is older than this is stale (rule 3). Long next to the beat, so a loaded machine keeps it. */
export const LOCK_LEASE_MS = 10 * 60 * 1000;
/** How often the owner refreshes its lock's mtime. */
const HEARTBEAT_MS = 60 * 1000;

export interface OutputLock {
  readonly path: string;
  release(): void;
}

export interface LockOwner {
  pid: number;
  host: string;
  /** The command holding it, for the refusal's message (absent in locks written before it was recorded). */
  what?: string;
  /** Kernel boot id and pid namespace: a pid means something only inside them (containers share host names). */
  pidSpace?: string;
  /** The scheduler task that wrote it (rule 2), e.g. `slurm:123_4.batch.0` or `k8s:advood-generate-3`. */
  task?: string;
  /** Its lease in ms (rule 3); absent in locks of versions without a heartbeat, which no lease expires. */
  leaseMs?: number;
}

/** Refuses an output path that exists but is not a folder, before any work is done. */
export function checkOutputFolder(dir: string, flag = '--out'): void {
  let isFolder: boolean;
  try {
    isFolder = lstatSync(dir).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UserError(`${flag} ${dir}: part of its path is a file, not a folder`);
    return; // absent: it will be created
  }
  if (!isFolder) throw new UserError(`${flag} ${dir} exists and is not a folder (a file or a symlink); name a new or existing folder`);
}

export interface LockOptions {
  /** Where the scheduler identity is read (rule 2); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How often the heartbeat beats (default HEARTBEAT_MS); tests make it short. */
  heartbeatMs?: number;
}

export function acquireOutputLock(dir: string, what: string, options: LockOptions = {}): OutputLock {
  checkOutputFolder(dir);
  mkdirSync(dir, { recursive: true });
  return takeLock(join(dir, LOCK_FILE), dir, what, '--out', options);
}

/**
 * The lock of one output file (`advood features --out x.arrow`): a dot file beside it. Locking the file's folder
 * instead would serialise unrelated runs that write their files side by side (train.arrow and test.arrow).
 */
export function acquireOutputFileLock(file: string, what: string, options: LockOptions = {}): OutputLock {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  return takeLock(join(dir, `.${basename(file)}${LOCK_FILE}`), file, what, '--out', options);
}

/** Kernel boot id and pid namespace of this process, where Linux exposes them. */
function currentPidSpace(): string | undefined {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return undefined;
  }
}

/** The scheduler task this process runs as (rule 2), or undefined outside Slurm and Kubernetes Indexed Jobs. */
export function schedulerTask(env: NodeJS.ProcessEnv, host = hostname()): string | undefined {
  const job = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
  // The step and task rank tell apart the tasks of one job that do run at once (an srun over several nodes).
  if (job) return `slurm:${job}.${env.SLURM_STEP_ID ?? 'batch'}.${env.SLURM_PROCID ?? '0'}`;
  if (env.JOB_COMPLETION_INDEX !== undefined) return `k8s:${host}#${env.JOB_COMPLETION_INDEX}`;
  return undefined;
}

export function currentOwner(what: string, env: NodeJS.ProcessEnv): LockOwner {
  const pidSpace = currentPidSpace();
  const task = schedulerTask(env);
  return { pid: process.pid, host: hostname(), what, ...(pidSpace && { pidSpace }), ...(task && { task }), leaseMs: LOCK_LEASE_MS };
}

function takeLock(path: string, holder: string, what: string, flag: string, options: LockOptions): OutputLock {
  const owner = currentOwner(what, options.env ?? process.env);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = createExclusive(path);
      try {
        writeAll(fd, Buffer.from(JSON.stringify(owner) + '\n'));
      } finally {
        closeSync(fd);
      }
      const heartbeat = startHeartbeat(path, options.heartbeatMs ?? HEARTBEAT_MS);
      let released = false;
      return {
        path,
        release: () => {
          if (released) return;
          released = true;
          void heartbeat.terminate();
          if (sameOwner(readOwner(path), owner)) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readOwner(path);
    const holding = current?.what ?? what;
    if (current && sameOwner(current, owner)) {
      // This very process holds it (a pipeline pointing one of its own sub-writers at its folder): waiting would never end.
      throw new UserError(`${holder} is in use by another ${holding} in this same process (pid ${current.pid}); each output needs a folder of its own`);
    }
    const verdict = current ? lockVerdict(current, owner, Date.now(), heartbeatOf(path)) : { stale: true, why: 'unreadable' };
    if (!verdict.stale) {
      throw new UserError(`${holder} is in use by another ${holding} (pid ${current!.pid} on ${current!.host}${verdict.why}); wait for it to finish or use another ${flag}`);
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new UserError(`${holder}: could not take the lock ${basename(path)}; another run keeps taking it`);
}

/**
 * Whether a lock's owner is provably gone (module comment, rules 1–3). `heartbeatMs` is the lock file's mtime;
 * `why` says, for a held lock, what would let it be taken over.
 */
export function lockVerdict(owner: LockOwner, me: LockOwner, nowMs: number, heartbeatMs: number | null, pidAlive = isPidAlive): { stale: boolean; why: string } {
  const samePidSpace = owner.host === me.host && (owner.pidSpace === undefined || me.pidSpace === undefined || owner.pidSpace === me.pidSpace);
  if (samePidSpace) return { stale: !(owner.pid === me.pid || pidAlive(owner.pid)), why: '' };
  if (owner.task !== undefined && owner.task === me.task) return { stale: true, why: '' };
  const age = heartbeatMs === null ? null : nowMs - heartbeatMs;
  if (owner.leaseMs !== undefined && age !== null && age > owner.leaseMs) return { stale: true, why: '' };
  const beat = age === null ? '' : `, heartbeat ${Math.max(0, Math.round(age / 1000))} s ago`;
  const lease = owner.leaseMs === undefined ? '' : `; taken over once its heartbeat is older than ${Math.round(owner.leaseMs / 60000)} min`;
  return { stale: false, why: `${beat}${lease}` };
}

/** Refreshes the lock's mtime from a worker thread, so it beats while the main thread is busy in a synchronous attack. */
function startHeartbeat(path: string, everyMs: number): Worker {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { utimesSync } = require('node:fs');
     setInterval(() => { try { const now = new Date(); utimesSync(workerData.path, now, now); } catch {} }, workerData.everyMs);`,
    { eval: true, workerData: { path, everyMs } },
  );
  worker.unref();
  return worker;
}

function heartbeatOf(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** What a reader did with a lock left in a folder whose writer has finished (see clearFinishedLock). */
export type FinishedLock =
  | { state: 'removed'; pid: number | null }
  | { state: 'held'; pid: number; host: string }
  | { state: 'kept'; reason: string };

/**
 * For readers of a folder whose writer is known to be done (a release whose manifest is sealed: the writer
 * seals it last): a lock there is what a run killed between sealing and unlocking left behind. It is removed,
 * unless its owner is a process still running on this host (a writer that just finished and is about to drop
 * it), which is left to it. A lock from another host is removed too: nothing can be writing a sealed release.
 * Null when there is no lock. A folder that cannot be written (read-only media) keeps it.
 */
export function clearFinishedLock(dir: string): FinishedLock | null {
  const path = join(dir, LOCK_FILE);
  if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) return null;
  const owner = readOwner(path);
  if (owner && owner.host === hostname() && isPidAlive(owner.pid)) return { state: 'held', pid: owner.pid, host: owner.host };
  try {
    rmSync(path, { force: true });
  } catch (error) {
    return { state: 'kept', reason: errorMessage(error) };
  }
  return { state: 'removed', pid: owner?.pid ?? null };
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (!Number.isSafeInteger(owner.pid) || typeof owner.host !== 'string') return null;
    const text = (value: unknown) => typeof value === 'string' && /^[\w .:/#\[\]-]{1,200}$/.test(value);
    return {
      pid: owner.pid!,
      host: owner.host,
      ...(typeof owner.what === 'string' && /^[\w .-]{1,60}$/.test(owner.what) && { what: owner.what }),
      ...(text(owner.pidSpace) && { pidSpace: owner.pidSpace }),
      ...(text(owner.task) && { task: owner.task }),
      ...(Number.isSafeInteger(owner.leaseMs) && owner.leaseMs! > 0 && { leaseMs: owner.leaseMs }),
    };
  } catch {
    return null;
  }
}

function sameOwner(a: LockOwner | null, b: LockOwner): boolean {
  return a !== null && a.pid === b.pid && a.host === b.host && a.pidSpace === b.pidSpace;
}

function isPidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
