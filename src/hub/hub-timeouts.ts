/**
 * Every wait on the Hub is bounded. The limits are huggingface_hub's own variables, so one setting serves both:
 *   HF_HUB_ETAG_TIMEOUT      seconds for a metadata request (HEAD, API calls, listing pages) to answer; default 10
 *   HF_HUB_DOWNLOAD_TIMEOUT  seconds a download may go without receiving a byte (connect and idle); default 10
 * A request past its limit is aborted; resolving an hf:// dataset then falls back to a complete cached copy, as on
 * a 5xx answer (src/hub/hub-dataset.ts).
 */
import { UserError } from '../core/errors.js';

const DEFAULT_SECONDS = 10;

function seconds(variable: string): number {
  const text = process.env[variable];
  if (text === undefined || text === '') return DEFAULT_SECONDS;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UserError(`${variable}=${text}: must be a number of seconds > 0`);
  return value;
}

export function metadataTimeoutMs(): number {
  return seconds('HF_HUB_ETAG_TIMEOUT') * 1000;
}

export function downloadIdleTimeoutMs(): number {
  return seconds('HF_HUB_DOWNLOAD_TIMEOUT') * 1000;
}

/** "… did not answer within N s (raise VAR)" for a request of either kind. */
export function timeoutLine(url: string, kind: 'metadata' | 'download'): string {
  const variable = kind === 'metadata' ? 'HF_HUB_ETAG_TIMEOUT' : 'HF_HUB_DOWNLOAD_TIMEOUT';
  const limit = (kind === 'metadata' ? metadataTimeoutMs() : downloadIdleTimeoutMs()) / 1000;
  return `${url} ${kind === 'metadata' ? 'did not answer' : 'sent no data'} within ${limit} s (raise ${variable} to wait longer)`;
}

/** Thrown by timedFetch: the Hub is as good as unreachable, so a cached copy may stand in. */
export class HubTimeoutError extends Error {
  constructor(readonly url: string) {
    super(timeoutLine(url, 'metadata'));
    this.name = 'HubTimeoutError';
  }
}

/**
 * A fetch for @huggingface/hub's API calls whose answer (headers and body) must arrive within the metadata
 * limit, and which refuses a pagination that never ends: more than `maxPages` pages of one listing, or a Link
 * to a page already seen.
 */
export function timedFetch(inner: typeof fetch = fetch, maxPages = 10_000): typeof fetch {
  const seen = new Set<string>();
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (/\/tree\//.test(url)) {
      if (seen.has(url)) throw new UserError(`${url}: the Hub's listing links back to a page it already sent; refusing an endless pagination`);
      seen.add(url);
      if (seen.size > maxPages) throw new UserError(`${url}: the Hub's listing runs past ${maxPages} pages; refusing an endless pagination`);
    }
    const signal = AbortSignal.timeout(metadataTimeoutMs());
    try {
      const response = await inner(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
      // Read the body under the same limit, so that headers followed by silence are bounded too.
      const body = await response.arrayBuffer();
      const bodiless = response.status === 204 || response.status === 205 || response.status === 304;
      return new Response(bodiless ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      if (signal.aborted) throw new HubTimeoutError(url);
      throw error;
    }
  };
}
