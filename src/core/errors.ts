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
