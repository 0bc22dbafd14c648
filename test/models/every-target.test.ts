/**
 * Registry-wide: every target preset in configs/targets/ and every encoder family of src/models/create-encoder.ts,
 * without weights. A preset must validate through its family, estimate a plausible memory need, and name Hub files
 * that the downloader would accept (src/core/untrusted-names.ts); every family must be reachable from a preset.
 */
import test from 'ava';
import { checkRelativePath, checkRevision } from '../../src/core/untrusted-names.js';
import { createEncoder, encoderFamilyNames, resolveTarget, targetPresetNames } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { initTestBackend } from '../helpers/test-backend.js';

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

test('every target preset validates, describes itself and estimates its memory; every family has a preset', (t) => {
  const names = targetPresetNames();
  t.true(names.includes('vit-g') && names.includes('mobilenet-v2'));
  const familiesSeen = new Set<string>();
  for (const name of names) {
    const target = resolveTarget(name);
    const { config } = target;
    familiesSeen.add(config.family);
    t.is(config.name, name);
    t.true(config.description.length > 40, `${name}: description`);
    const bytes = target.estimateBytes({ backend });
    t.true(Number.isFinite(bytes) && bytes > 1e6, `${name}: ${bytes} bytes`);
    const hub = config.hub as { repo?: string; revision?: string; files?: string[] } | undefined;
    if (hub) {
      t.regex(hub.repo ?? '', /^[\w.-]+\/[\w.-]+$/, `${name}: hub.repo`);
      t.notThrows(() => checkRevision(hub.revision, `${name}: hub.revision`));
      for (const file of hub.files ?? []) t.notThrows(() => checkRelativePath(file, `${name}: hub.files`));
    }
  }
  t.deepEqual([...familiesSeen].sort(), encoderFamilyNames().sort(), 'every encoder family is reachable from a preset');
});

test('the CLIP presets grow in memory with their architecture (B/32 < L/14 < H/14 < bigG)', (t) => {
  const bytes = ['vit-b-32', 'vit-l-14', 'vit-h-14', 'vit-g'].map((name) => resolveTarget(name).estimateBytes({ backend }));
  bytes.slice(1).forEach((b, i) => t.true(b > bytes[i]!, `${b} > ${bytes[i]}`));
});

test('the DINOv2 presets grow with their architecture (S < B < L < g), registers and SwiGLU included', (t) => {
  const bytes = ['dinov2-s-14', 'dinov2-b-14', 'dinov2-l-14', 'dinov2-g-14'].map((name) => resolveTarget(name).estimateBytes({ backend }));
  bytes.slice(1).forEach((b, i) => t.true(b > bytes[i]!, `${b} > ${bytes[i]}`));
  t.true(resolveTarget('dinov2-l-14-reg').estimateBytes({ backend }) > bytes[2]!, 'registers add tokens');
  t.true(resolveTarget('dinov2-g-14-reg').estimateBytes({ backend }) > bytes[3]!, 'registers add tokens');
});

test('targets too large for a 4 GiB heap are refused before any weight is read, naming the target', async (t) => {
  const wasmLike: BackendReport = { ...backend, heapLimitBytes: 4 * 1024 ** 3 };
  for (const name of ['dinov2-g-14', 'dinov2-g-14-reg', 'dfn5b-h-14-378', 'metaclip-h-14']) {
    await t.throwsAsync(createEncoder(name, { backend: wasmLike }), { message: new RegExp(`^target '${name}' needs about [\\d.]+ GiB`) }, name);
  }
});
