/**
 * SIGTERM (what Slurm and Kubernetes send on preemption, requeue or eviction, before SIGKILL after a grace period)
 * and SIGINT (Ctrl-C) end a long command at its next safe point instead of mid-write: the first one aborts the
 * returned signal with an InterruptedError, which the command's pipeline throws once its current batch is done,
 * and the error boundary exits 128 + the signal's number. A second signal exits at once; the journal is crash-safe
 * at every instant (src/release/write/release-writer.ts), so even that loses only the batch in flight, and the
 * lock it leaves behind names a dead pid and is taken over (src/core/output-lock.ts).
 */
import { InterruptedError } from '../core/errors.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

export interface SignalAbort {
  readonly signal: AbortSignal;
  /** Removes the handlers (the command finished): the signals' default behaviour returns. */
  dispose(): void;
}

export function abortOnSignals(command: string, say: (line: string) => void): SignalAbort {
  const controller = new AbortController();
  const handlers = Object.keys(SIGNALS).map((name) => {
    const signal = name as keyof typeof SIGNALS;
    const handler = () => {
      if (controller.signal.aborted) process.exit(128 + SIGNALS[signal]);
      say(`${signal} received: stopping after the batch in flight (a second ${signal} stops at once)`);
      controller.abort(new InterruptedError(signal, `${command} interrupted by ${signal}; the batch in flight was dropped and every batch before it is kept: rerun the same command to resume`));
    };
    process.on(signal, handler);
    return { signal, handler };
  });
  return {
    signal: controller.signal,
    dispose: () => handlers.forEach(({ signal, handler }) => process.off(signal, handler)),
  };
}

export function interruptedExitCode(error: InterruptedError): number {
  return 128 + SIGNALS[error.signal];
}
