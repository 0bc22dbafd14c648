/**
 * The CLI's one error boundary: whatever a command throws, or lets escape as an uncaught exception or an
 * unhandled rejection, ends as one line on stderr and a documented exit code (README "Exit codes"). The stack
 * is shown only with --debug or ADVOOD_DEBUG=1.
 *
 * tfjs-backend-wasm's Emscripten module installs process handlers that rethrow whatever reaches them, so Node
 * prints a dump of its minified source and a stack. The process-level handlers here are installed before any
 * backend loads; Node calls listeners in the order they were added, and ours exits, so theirs never run.
 */
import { describeFsError, isFsError } from '../core/fs-error.js';
import { InterruptedError, UserError } from '../core/errors.js';
import { interruptedExitCode } from './interrupt-signals.js';

export const EXIT_CODES = {
  ok: 0,
  /** `release verify` found problems (each printed). */
  problems: 1,
  /** A mistake the user can fix: a flag, an input, a refused output folder. */
  usage: 2,
  /** A file could not be read or written (disk full, permission, …); work already done is kept. */
  io: 3,
  /** A bug in advood. */
  internal: 70,
  /** Stopped by SIGINT (130) or SIGTERM (143) at a safe point: 128 + the signal's number, as a shell reports it. */
  interruptedBySigint: 130,
  interruptedBySigterm: 143,
} as const;

/** True when --debug is on the command line or ADVOOD_DEBUG is set to something other than 0/empty. */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.ADVOOD_DEBUG;
  return argv.includes('--debug') || (flag !== undefined && flag !== '' && flag !== '0' && flag !== 'false');
}

/** The line and exit code a failure ends with. */
export function describeFailure(error: unknown): { line: string; code: number } {
  if (error instanceof UserError) return { line: error.message, code: EXIT_CODES.usage };
  if (error instanceof InterruptedError) return { line: error.message, code: interruptedExitCode(error) };
  if (isFsError(error)) {
    return { line: `${describeFsError(error)}; fix it and rerun the same command (an interrupted generate resumes)`, code: EXIT_CODES.io };
  }
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return { line: `internal error: ${message.split('\n')[0]} (a bug in advood; rerun with --debug for the stack)`, code: EXIT_CODES.internal };
}

/** Prints the failure's line (and with `debug` its stack) and returns the exit code. */
export function reportFailure(error: unknown, debug: boolean, write: (text: string) => void = (t) => void process.stderr.write(t)): number {
  const { line, code } = describeFailure(error);
  write(`advood: ${line}\n`);
  if (debug && error instanceof Error && error.stack) write(`${error.stack}\n`);
  return code;
}

/**
 * Process-wide: an error that escapes every await (an 'error' event nobody listens to, a rejection nobody
 * awaits) is reported like any other and the process exits with its code. Call once, before loading a backend.
 */
export function installProcessErrorBoundary(debug: boolean): void {
  const exit = (error: unknown) => {
    process.exitCode = reportFailure(error, debug);
    process.exit();
  };
  process.prependListener('uncaughtException', exit);
  process.prependListener('unhandledRejection', exit);
}
