/**
 * A single-node Slurm cluster in a temp folder, for the tests that run advood as a Slurm array
 * (test/cli/slurm-array.test.ts): munged, slurmctld and `slurmd -N localhost` started directly (no systemd), on
 * 127.0.0.1 with free ports, linuxproc process tracking and no cgroup, task or accounting plugins, so it runs in a
 * container as root. Every client command gets SLURM_CONF; stop() ends the daemons by their pid files.
 *
 * startSlurmCluster() returns the reason instead where Slurm cannot start (not installed, not root, a daemon
 * that does not come up), for the test to skip with.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DAEMONS = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'sinfo'];

export interface SlurmCluster {
  /** Environment for Slurm's client commands (SLURM_CONF), to merge into the caller's. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client command (sbatch, scontrol, …) and returns its stdout. */
  command(name: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** Slurm's view of one job (`scontrol show job -o`): its fields, e.g. JobState, Restarts, ExitCode. */
  job(id: string): Promise<Record<string, string>>;
  /**
   * `scontrol requeue ID`, as preemption or an operator does (Slurm sends the job SIGTERM, then SIGKILL after
   * KillWait), then makes it eligible at once: Slurm holds a requeued job back ~2 minutes (BeginTime; measured
   * 125 s with 22.05), which would only slow the test.
   */
  requeue(id: string): Promise<void>;
  /** The daemons' logs, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

function onPath(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function killByPidFile(file: string): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isSafeInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export async function startSlurmCluster(dir: string): Promise<SlurmCluster | string> {
  if (process.getuid?.() !== 0) return 'Slurm needs root here (its daemons run as root with SlurmUser=root)';
  const missing = DAEMONS.filter((name) => !onPath(name) && !existsSync(join('/usr/sbin', name)));
  if (missing.length > 0) return `Slurm is not installed (no ${missing.join(', ')}; apt-get install slurm-wlm munge)`;
  const sbin = (name: string) => (existsSync(join('/usr/sbin', name)) ? join('/usr/sbin', name) : name);

  for (const sub of ['munge', 'state', 'spool', 'log']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const socket = join(dir, 'munge', 'munge.socket');
  const key = join(dir, 'munge', 'munge.key');
  const pidFiles = { munged: join(dir, 'munge', 'munged.pid'), slurmctld: join(dir, 'slurmctld.pid'), slurmd: join(dir, 'slurmd.pid') };
  await run(sbin('mungekey'), ['--create', `--keyfile=${key}`]);
  await run(sbin('munged'), ['--force', `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${pidFiles.munged}`, `--log-file=${join(dir, 'log', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'seed')}`]);

  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=advood-test',
      // slurmctld accepts to run only where its host name is the controller's.
      `SlurmctldHost=${hostname()}(127.0.0.1)`,
      'SlurmUser=root',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${pidFiles.slurmctld}`,
      `SlurmdPidFile=${pidFiles.slurmd}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/builtin',
      'JobRequeue=1',
      // Requeued and finished jobs stay visible to scontrol for the whole test.
      'MinJobAge=600',
      // The grace between SIGTERM and SIGKILL when a job is requeued or cancelled.
      'KillWait=30',
      'NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN',
      'PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const daemonEnv = { ...process.env, ...env };
  const stop = async () => {
    // Jobs first: a job's slurmstepd outlives slurmd.
    await run('scancel', ['--full', '--user=root'], { env: daemonEnv }).catch(() => {});
    for (let waited = 0; waited < 15_000; waited += 250) {
      const queue = await run('squeue', ['-h'], { env: daemonEnv }).then((r) => r.stdout, () => '');
      if (queue.trim() === '') break;
      await sleep(250);
    }
    killByPidFile(pidFiles.slurmd);
    killByPidFile(pidFiles.slurmctld);
    await sleep(500);
    killByPidFile(pidFiles.munged);
  };
  const logs = () =>
    ['slurmctld.log', 'slurmd.log', 'munged.log']
      .map((name) => join(dir, 'log', name))
      .filter(existsSync)
      .map((file) => `== ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')}`)
      .join('\n');
  const command = async (name: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}) =>
    (await run(name, [...args], { env: { ...process.env, ...env, ...extra } })).stdout;
  try {
    await run(sbin('slurmctld'), ['-i'], { env: daemonEnv });
    await run(sbin('slurmd'), ['-N', 'localhost'], { env: daemonEnv });
  } catch (error) {
    await stop();
    return `Slurm's daemons did not start (${(error as Error).message.split('\n')[0]})`;
  }
  // Up when the node is idle: slurmd registered with slurmctld.
  for (let waited = 0; ; waited += 250) {
    const state = await command('sinfo', ['-h', '-N', '-o', '%T']).catch(() => '');
    if (state.trim() === 'idle') break;
    if (waited > 30_000) {
      const why = logs();
      await stop();
      return `Slurm's node did not come up in 30 s (sinfo: ${state.trim() || 'no answer'})\n${why}`;
    }
    await sleep(250);
  }
  const job = async (id: string) => {
    const line = await command('scontrol', ['show', 'job', '-o', id]);
    return Object.fromEntries(line.trim().split(/\s+/).filter((field) => field.includes('=')).map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)]));
  };
  return {
    env,
    command,
    job,
    async requeue(id) {
      await command('scontrol', ['requeue', id]);
      for (let waited = 0; (await job(id)).JobState !== 'PENDING'; waited += 100) {
        if (waited > 60_000) throw new Error(`job ${id} did not return to PENDING after scontrol requeue`);
        await sleep(100);
      }
      await command('scontrol', ['update', `JobId=${id}`, 'StartTime=now']);
    },
    logs,
    stop,
  };
}
