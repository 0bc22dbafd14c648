/**
 * A mistake the user can fix (bad flag, missing file, unknown target). The CLI prints its message
 * without a stack trace and exits non-zero; everything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** One input item (an image, a row) that could not be used. Runs skip and record these. */
export class ItemError extends UserError {
  constructor(
    /** The file or row that failed, as the user would name it. */
    readonly item: string,
    readonly reason: string,
  ) {
    super(`${item}: ${reason}`);
    this.name = 'ItemError';
  }
}

/** The message of any thrown value, for error tables and logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A run stopped by a signal (SIGTERM from a scheduler's preemption or requeue, SIGINT from Ctrl-C) at a safe point:
 * what was durable stays, the batch in flight is dropped, and the same command resumes. The CLI exits 128 + the
 * signal's number, as a shell reports a process killed by it.
 */
export class InterruptedError extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM', message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}
