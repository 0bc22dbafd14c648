/**
 * The independent check of a push: Python's `datasets` (5.x, from the reference venv made by
 * scripts/reference-venv.sh) loads the repository from the mock Hub with `load_dataset(REPO)`, the pushed
 * release/ folder and the local release with `load_from_disk`, and all three give the release's ids and image
 * bytes in order. Skipped, saying why, where that venv cannot be made.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { pushReleaseToHub } from '../../src/publish/hub-push.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';
import { startMockHub } from '../helpers/mock-hub.js';
import { referencePython } from '../helpers/reference-venv.js';

const reference = referencePython();
if ('unavailable' in reference) console.log(`# Hub check with Python datasets skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test;
const SCRIPT = fileURLToPath(new URL('../reference/hub_datasets_check.py', import.meta.url));

/** Runs the script without blocking this process: the mock Hub it talks to lives here. */
function runPython(python: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

withVenv('datasets loads the pushed repo (load_dataset), the pushed release/ and the local release (load_from_disk) with every id and image', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'advood-hub-python-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const releaseDir = join(root, 'release');
  await generateFixtureRelease({ dir: releaseDir, total: 13, batch: 4, shardBytes: 12000 });
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  const repo = `${hub.user}/python-check`;
  await pushReleaseToHub({ releaseDir, repo, token: hub.token, endpoint: hub.url, private: true });

  const expected: { id: string; image_sha256: string }[] = [];
  for await (const row of (await openRelease(releaseDir)).rows()) expected.push({ id: row.id, image_sha256: createHash('sha256').update(row.image).digest('hex') });
  const python = (reference as { python: string }).python;
  const result = await runPython(python, [SCRIPT, '--repo', repo, '--release', releaseDir], {
    HF_ENDPOINT: hub.url,
    HF_TOKEN: hub.token,
    HF_HOME: join(root, 'hf-home'),
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_OFFLINE: '0',
    HF_DATASETS_OFFLINE: '0',
  });
  t.is(result.code, 0, result.stderr.split('\n').slice(-60).join('\n'));
  const out = JSON.parse(result.stdout) as Record<string, unknown>;
  t.true(expected.length > 0);
  t.deepEqual(out.hub_parquet, expected);
  t.deepEqual(out.hub_release, expected);
  t.deepEqual(out.local_release, expected);
  t.is(out.hub_image_feature, 'Image');
  t.log(`datasets ${String(out.datasets_version)}; requests to the mock: ${hub.requests.length}`);
});
