/**
 * A `fetch` for @huggingface/hub (its `fetch` parameter), which itself never retries: answers 429 and 5xx are
 * retried with exponential backoff, waiting what Retry-After asks where the server says. 401/403/404/409/412 and
 * every other 4xx are final and returned at once: retrying cannot fix a token, a name or a moved branch.
 * Network failures are retried only for requests that are safe to repeat (GET, HEAD, PUT of a blob).
 */
import { errorMessage } from '../core/errors.js';

export interface RetryPolicy {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** First backoff; doubled on every retry (default 1 s). */
  baseDelayMs?: number;
  /** Cap on one backoff (default 30 s). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the answer is returned and reported (default 120 s). */
  maxRetryAfterMs?: number;
  /** Retry requests that got no answer at all (default true); off where an unreachable Hub has a fallback. */
  retryNetworkErrors?: boolean;
  log?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function canResend(init: RequestInit | undefined): boolean {
  const body = init?.body;
  return body === undefined || body === null || typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}

function describe(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): string {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
  return `${init?.method ?? 'GET'} ${new URL(url).pathname}`;
}

export function retryingFetch(policy: RetryPolicy = {}, inner: typeof fetch = fetch): typeof fetch {
  const attempts = policy.attempts ?? 5;
  const base = policy.baseDelayMs ?? 1000;
  const cap = policy.maxDelayMs ?? 30_000;
  const maxRetryAfter = policy.maxRetryAfterMs ?? 120_000;
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async (input, init) => {
    const resendable = canResend(init);
    const method = (init?.method ?? 'GET').toUpperCase();
    const idempotent = method === 'GET' || method === 'HEAD' || method === 'PUT';
    for (let attempt = 1; ; attempt++) {
      const backoff = Math.min(cap, base * 2 ** (attempt - 1));
      let response: Response;
      try {
        response = await inner(input, init);
      } catch (error) {
        if (attempt >= attempts || policy.retryNetworkErrors === false || !idempotent || !resendable || (error as Error).name === 'AbortError') throw error;
        policy.log?.(`${describe(input, init)}: ${errorMessage(error)}; retry ${attempt} of ${attempts - 1} in ${(backoff / 1000).toFixed(1)} s`);
        await sleep(backoff);
        continue;
      }
      if (!isRetryableStatus(response.status) || attempt >= attempts || !resendable) return response;
      const asked = retryAfterMs(response.headers.get('retry-after'));
      if (asked !== null && asked > maxRetryAfter) return response;
      const wait = asked ?? backoff;
      policy.log?.(`${describe(input, init)}: HTTP ${response.status}; retry ${attempt} of ${attempts - 1} in ${(wait / 1000).toFixed(1)} s`);
      await response.body?.cancel();
      await sleep(wait);
    }
  };
}
