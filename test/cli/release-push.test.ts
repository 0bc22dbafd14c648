/**
 * `advood release push` as a user runs it (a child process): the token and endpoint come from the flag or the
 * environment, a missing or malformed token is one line, and the last line is the URL and commit only once the
 * push is complete.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';
import { startMockHub } from '../helpers/mock-hub.js';
import { advoodWithEnv } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'advood-cli-push-'));
const release = join(root, 'release');
test.before(async () => {
  await generateFixtureRelease({ dir: release, total: 13, batch: 4, shardBytes: 12000 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('a missing or malformed token is one line naming where it came from', async (t) => {
  const missing = await advoodWithEnv({ HF_TOKEN: '', HF_ENDPOINT: 'http://127.0.0.1:9' }, 'release', 'push', release, '--repo', 'me/x');
  t.is(missing.code, 2);
  t.is(missing.stderr.trim(), 'advood: no Hugging Face token: pass --token hf_… or set HF_TOKEN (a write token from http://127.0.0.1:9/settings/tokens)');
  const malformed = await advoodWithEnv({ HF_TOKEN: '', HF_ENDPOINT: '' }, 'release', 'push', release, '--repo', 'me/x', '--token', 'abc');
  t.is(malformed.code, 2);
  t.is(malformed.stderr.trim(), 'advood: --token does not look like a Hugging Face token (it must start with hf_; make one at https://huggingface.co/settings/tokens)');
});

test('pushes with HF_TOKEN to HF_ENDPOINT, prints the URL and commit, and says so when nothing changed', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const env = { HF_TOKEN: hub.token, HF_ENDPOINT: hub.url };
  const first = await advoodWithEnv(env, 'release', 'push', release, '--repo', `${hub.user}/cli`, '--private', '--message', 'first release');
  t.is(first.code, 0, first.stderr);
  const head = hub.head(`${hub.user}/cli`)!;
  t.is(first.stdout, `pushed to ${hub.url}/datasets/${hub.user}/cli at commit ${head} (9 files uploaded, 0 unchanged, 0 deleted, 1 commits)\n`);
  t.regex(first.stderr, /making the Parquet export in .*release-parquet/);
  t.regex(first.stderr, / {2}data\/train-00000-of-00002\.parquet: uploaded \(\d+\.\d KiB\)\n/);
  t.regex(first.stderr, / {2}README\.md: uploaded/);
  const again = await advoodWithEnv(env, 'release', 'push', release, '--repo', `${hub.user}/cli`, '--json');
  t.is(again.code, 0, again.stderr);
  const done = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { event: string; commit: string; uploaded: number };
  t.deepEqual([done.event, done.commit, done.uploaded], ['done', head, 0]);
});
