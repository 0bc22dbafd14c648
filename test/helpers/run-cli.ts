/** Runs the real `advood` CLI in a child process, as a user would, and returns its exit code and output. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TEST_BACKEND } from './test-backend.js';

const run = promisify(execFile);
export const CLI_PATH = new URL('../../bin/advood.mjs', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The child runs on the suite's backend (test/helpers/test-backend.ts), as the in-process tests do. */
export async function advood(...args: string[]): Promise<CliResult> {
  return advoodWithEnv({}, ...args);
}

/** `advood` with extra environment variables (ADVOOD_CACHE, ADVOOD_DEBUG, …). */
export async function advoodWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ADVOOD_BACKEND: TEST_BACKEND, ...env }, maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
