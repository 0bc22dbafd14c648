/**
 * The retry policy given to @huggingface/hub: which answers are retried, how long it waits, and that final
 * answers (a token, a name, a moved branch) are returned at once.
 */
import test from 'ava';
import { retryAfterMs, retryingFetch } from '../../src/hub/retrying-fetch.js';

function scripted(statuses: number[], headers: Record<string, string> = {}) {
  const calls: string[] = [];
  const inner = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${String(input)}`);
    const status = statuses[Math.min(calls.length - 1, statuses.length - 1)]!;
    return new Response(status === 204 ? null : 'x', { status, headers });
  }) as typeof fetch;
  return { inner, calls };
}

test('429 and 5xx are retried with doubling backoff, up to the attempts', async (t) => {
  const waits: number[] = [];
  const { inner, calls } = scripted([503, 500, 429, 200]);
  const response = await retryingFetch({ baseDelayMs: 100, sleep: async (ms) => void waits.push(ms) }, inner)('http://hub/api/x', { method: 'POST', body: '{}' });
  t.is(response.status, 200);
  t.deepEqual(waits, [100, 200, 400]);
  t.is(calls.length, 4);
  const stuck = scripted([502]);
  const last = await retryingFetch({ attempts: 3, baseDelayMs: 1, sleep: async () => {} }, stuck.inner)('http://hub/api/x');
  t.is(last.status, 502);
  t.is(stuck.calls.length, 3);
});

test('401, 403, 404, 409, 412 and 422 are returned at once', async (t) => {
  for (const status of [401, 403, 404, 409, 412, 422]) {
    const { inner, calls } = scripted([status, 200]);
    t.is((await retryingFetch({ sleep: async () => t.fail('no wait') }, inner)('http://hub/api/x')).status, status);
    t.is(calls.length, 1);
  }
});

test('Retry-After is honoured in seconds or as a date, and not waited for when longer than the cap', async (t) => {
  t.is(retryAfterMs('7'), 7000);
  t.is(retryAfterMs('Wed, 21 Oct 2026 07:28:10 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT')), 10_000);
  t.is(retryAfterMs('soon'), null);
  t.is(retryAfterMs(null), null);
  const waits: number[] = [];
  const asked = scripted([429, 200], { 'Retry-After': '3' });
  await retryingFetch({ baseDelayMs: 1, sleep: async (ms) => void waits.push(ms) }, asked.inner)('http://hub/api/x');
  t.deepEqual(waits, [3000]);
  const tooLong = scripted([429, 200], { 'Retry-After': '3600' });
  t.is((await retryingFetch({ sleep: async () => t.fail('no wait') }, tooLong.inner)('http://hub/api/x')).status, 429);
});

test('a network failure is retried for GET and PUT, never for a POST that may have landed', async (t) => {
  let tries = 0;
  const failing = (async () => {
    tries++;
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  const policy = { attempts: 3, baseDelayMs: 1, sleep: async () => {} };
  await t.throwsAsync(retryingFetch(policy, failing)('http://hub/x'), { message: 'fetch failed' });
  t.is(tries, 3);
  tries = 0;
  await t.throwsAsync(retryingFetch(policy, failing)('http://hub/x', { method: 'POST', body: '{}' }), { message: 'fetch failed' });
  t.is(tries, 1);
  tries = 0;
  await t.throwsAsync(retryingFetch({ ...policy, retryNetworkErrors: false }, failing)('http://hub/x'), { message: 'fetch failed' });
  t.is(tries, 1);
});
