/**
 * Registry-wide: every target preset in configs/targets/ and every encoder family of src/models/create-encoder.ts.
 * Without weights, a preset must validate through its family, estimate a plausible memory need, and name Hub files
 * that the downloader would accept (src/core/untrusted-names.ts); every family must be reachable from a preset; and
 * every family loads a tiny twin of its checkpoints and gives each feature kind it lists.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRelativePath, checkRevision } from '../../src/core/untrusted-names.js';
import { createEncoder, encoderFamilies, encoderFamilyNames, resolveTarget, targetPresetNames } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';
import { writeTinyDinov2 } from '../helpers/tiny-dinov2.js';
import { writeTinySiglip } from '../helpers/tiny-siglip.js';
import { writeTinyEvaClip } from '../helpers/tiny-eva-clip.js';

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

test('the SigLIP presets grow with their architecture (B/16 < So400m/14), and the Gemma vocabulary weighs in', (t) => {
  const bytes = (name: string) => resolveTarget(name).estimateBytes({ backend });
  t.true(bytes('siglip-so400m-14-384') > bytes('siglip-b-16-224'));
  t.true(bytes('siglip2-b-16-224') > bytes('siglip-b-16-224'), '256k-token embedding table');
});

test('the EVA-CLIP presets grow with their architecture (B/16 < L/14 < L/14 at 336 px)', (t) => {
  const bytes = ['eva02-b-16', 'eva02-l-14', 'eva02-l-14-336'].map((name) => resolveTarget(name).estimateBytes({ backend }));
  bytes.slice(1).forEach((b, i) => t.true(b > bytes[i]!, `${b} > ${bytes[i]}`));
});

test('targets too large for a 4 GiB heap are refused before any weight is read, naming the target', async (t) => {
  // The wasm backend's report, whatever backend the suite runs on: the estimate is the wasm heap's (src/runtime/backend.ts).
  const wasmLike: BackendReport = { ...backend, chosen: 'wasm', tfBackend: 'wasm', heapLimitBytes: 4 * 1024 ** 3 };
  for (const name of ['dinov2-g-14', 'dinov2-g-14-reg', 'dfn5b-h-14-378', 'metaclip-h-14', 'siglip-so400m-14-384']) {
    await t.throwsAsync(createEncoder(name, { backend: wasmLike }), { message: new RegExp(`^target '${name}' needs about [\\d.]+ GiB`) }, name);
  }
});

/** Each family's tiny twin, as `--target` takes it: a checkpoint directory written here, or the embedded preset. */
const TINY_TWINS: Record<string, (dir: string) => { spec: string; inputSize?: number }> = {
  'mobilenet-v2': () => ({ spec: 'mobilenet-v2', inputSize: 32 }),
  clip: (dir) => {
    writeTinyClip(dir, 'hf', 'quick_gelu'); // returns the weights' sha256
    return { spec: dir };
  },
  dinov2: (dir) => ({ spec: writeTinyDinov2(dir) }),
  siglip: (dir) => ({ spec: writeTinySiglip(dir) }),
  'eva-clip': (dir) => ({ spec: writeTinyEvaClip(dir) }),
};

test('every encoder family loads its tiny twin and gives each of its feature kinds, without leaking tensors', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'advood-tiny-twins-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.deepEqual(Object.keys(TINY_TWINS).sort(), encoderFamilyNames().sort(), 'a tiny twin for every registered family');
  for (const family of encoderFamilies()) {
    const { spec, inputSize } = TINY_TWINS[family.name]!(join(root, family.name));
    t.is(resolveTarget(spec).config.family, family.name, `${spec} resolves to ${family.name}`);
    const encoder = await createEncoder(spec, { backend, ...(inputSize !== undefined && { inputSize }) });
    try {
      const before = tf.memory().numTensors;
      const pixels = tf.fill([1, encoder.inputSize, encoder.inputSize, 3], 0.5) as tf.Tensor4D;
      for (const kind of encoder.featureKinds) {
        t.true(family.featureKinds.includes(kind), `${family.name}: ${kind} is one of the family's kinds`);
        const features = encoder.encodeImage(pixels, kind);
        t.is(features.shape[0], 1);
        t.true((features.dataSync() as Float32Array).every(Number.isFinite), `${family.name} ${kind}`);
        features.dispose();
      }
      const defaults = encoder.encodeImage(pixels);
      t.is(defaults.shape[1], encoder.embedDim, `${family.name}: default width`);
      tf.dispose([defaults, pixels]);
      t.is(tf.memory().numTensors, before, `${family.name}: no leak`);
    } finally {
      encoder.dispose();
    }
  }
});

test('a dinov2 preset loads --weights of another architecture from their own config, and says so', async (t) => {
  const dir = writeTinyDinov2(mkdtempSync(join(tmpdir(), 'advood-dinov2-weights-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const messages: string[] = [];
  const encoder = await createEncoder('dinov2-b-14', { backend, weights: dir, log: (m) => messages.push(m) });
  t.teardown(() => encoder.dispose());
  t.is(encoder.embedDim, 32);
  t.is(encoder.inputSize, 35);
  t.regex(messages.join('\n'), /width 32, 2 layers, 2 registers, where .*dinov2-b-14\.json says 768, 12, 0; following the checkpoint/);
});
