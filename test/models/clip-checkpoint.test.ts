import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, WASM_HEAP_LIMIT_BYTES, type BackendReport } from '../../src/runtime/backend.js';
import { UserError } from '../../src/core/errors.js';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import { SafetensorsFile, openSafetensors, MAX_HEADER_BYTES } from '../../src/models/safetensors.js';
import { parseClipTarget } from '../../src/models/clip/clip-family.js';
import { checkCheckpointKeys, expectedCheckpointShapes } from '../../src/models/clip/clip-weight-map.js';
import { encodeSafetensors, writeSafetensors, writeSafetensorsHeaderOnly } from '../helpers/safetensors-writer.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';
import { initTestBackend } from '../helpers/test-backend.js';

const work = mkdtempSync(join(tmpdir(), 'advood-ckpt-'));
let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

test('reads F32, F16 and BF16 tensors as float32, only the tensor asked for', (t) => {
  const values = Float32Array.of(1.5, -2, 0.25, 65504, 6.103515625e-5, 0);
  const path = join(work, 'dtypes.safetensors');
  writeSafetensors(path, [
    { name: 'a', shape: [2, 3], data: values },
    { name: 'b', shape: [6], data: values, dtype: 'F16' },
    { name: 'c', shape: [3, 2], data: values, dtype: 'BF16' },
  ]);
  const f = new SafetensorsFile(path);
  t.deepEqual(f.names().sort(), ['a', 'b', 'c']);
  t.deepEqual([...f.readFloat32('a')], [...values]);
  t.deepEqual([...f.readFloat32('b')], [...values]); // all exactly representable in f16
  t.deepEqual(f.info('c').shape, [3, 2]);
  t.deepEqual([...f.readFloat32('c')], [1.5, -2, 0.25, 65280, 6.103515625e-5, 0]); // bf16 keeps 8 mantissa bits
  f.close();
});

test('bad files: each gets a UserError naming the file and, where it applies, the tensor', (t) => {
  const good = encodeSafetensors([{ name: 'w', shape: [4], data: Float32Array.of(1, 2, 3, 4) }]);
  const headerLength = Number(good.readBigUInt64LE(0));
  const withHeader = (header: object) => {
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([prefix, json, Buffer.alloc(16)]);
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['tiny', Buffer.from('abc'), /tiny\.st: not a safetensors file/],
    ['truncated', good.subarray(0, good.length - 4), /truncated\.st: tensor 'w': data_offsets end at 16, past the 12-byte data section/],
    ['header-too-long', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0]), Buffer.alloc(8)]), new RegExp(`above the ${MAX_HEADER_BYTES}-byte limit`)],
    ['header-past-end', Buffer.concat([Buffer.from([100, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]), /header claims 100 bytes but the file has only 10/],
    ['not-json', Buffer.concat([good.subarray(0, 8), Buffer.alloc(headerLength, 0x41), Buffer.alloc(16)]), /not valid UTF-8 JSON/],
    ['lying-shape', withHeader({ w: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } }), /tensor 'w': F32 \[5\] needs 20 bytes but data_offsets span 16/],
    ['overlap', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), /'a' and 'b' overlap/],
    ['bad-dtype', withHeader({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }), /tensor 'w': unknown dtype "Q4"/],
    ['bad-shape', withHeader({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }), /tensor 'w': shape \[-1\]/],
    ['huge-shape', withHeader({ w: { dtype: 'F32', shape: [1e6, 1e6], data_offsets: [0, 16] } }), /tensor 'w': F32 \[1000000,1000000\] needs 4000000000000 bytes/],
  ];
  for (const [name, bytes, message] of cases) {
    const path = file(`${name}.st`, bytes);
    const error = t.throws(() => new SafetensorsFile(path), { instanceOf: UserError }, name);
    t.regex(error!.message, message, name);
    t.true(error!.message.includes(path), `${name} names the file`);
  }
  const intPath = file('int.st', withHeader({ i: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }));
  const ints = new SafetensorsFile(intPath);
  t.throws(() => ints.readFloat32('i'), { message: /tensor 'i' has dtype I32; only F32, F16 and BF16/ });
  ints.close();
});

test('sharded checkpoints through model.safetensors.index.json, with bad indexes rejected', (t) => {
  const dir = join(work, 'sharded');
  mkdirSync(dir);
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'a', shape: [2], data: Float32Array.of(1, 2) }]);
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'b', shape: [1], data: Float32Array.of(3) }]);
  const index = join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  const source = openSafetensors(index);
  t.deepEqual(source.names().sort(), ['a', 'b']);
  t.deepEqual([...source.readFloat32('b')], [3]);
  t.is(source.files.length, 2);
  source.close();
  writeFileSync(index, JSON.stringify({ weight_map: { a: '../escape.safetensors' } }));
  t.throws(() => openSafetensors(index), { message: /tensor 'a' maps to an invalid shard name/ });
  writeFileSync(index, JSON.stringify({ weight_map: { c: 'model-00001-of-00002.safetensors' } }));
  t.throws(() => openSafetensors(index), { message: /tensor 'c' is listed in model-00001-of-00002.safetensors but that shard does not contain it/ });
  writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00009-of-00009.safetensors' } }));
  t.throws(() => openSafetensors(index), { message: /shard model-00009-of-00009.safetensors \(for tensor 'a'\) is missing/ });
});

test('vit-g preset: its full shape list matches a header-only ViT-bigG-14 checkpoint, no weights read', (t) => {
  const arch = parseClipTarget(resolveTarget('vit-g').config).architecture!;
  const shapes = expectedCheckpointShapes(arch, 'open_clip');
  // Names and shapes as open_clip's ViT-bigG-14 state dict has them (spot-checked against model_configs).
  t.deepEqual(shapes.get('visual.conv1.weight'), [1664, 3, 14, 14]);
  t.deepEqual(shapes.get('visual.positional_embedding'), [257, 1664]);
  t.deepEqual(shapes.get('visual.transformer.resblocks.47.attn.in_proj_weight'), [4992, 1664]);
  t.deepEqual(shapes.get('visual.transformer.resblocks.47.mlp.c_fc.weight'), [8192, 1664]);
  t.deepEqual(shapes.get('visual.proj'), [1664, 1280]);
  t.deepEqual(shapes.get('transformer.resblocks.31.mlp.c_proj.weight'), [1280, 5120]);
  t.deepEqual(shapes.get('token_embedding.weight'), [49408, 1280]);
  t.deepEqual(shapes.get('text_projection'), [1280, 1280]);
  // vision: conv1, class, pos, ln_pre ×2, 12 per block, ln_post ×2, proj; text: token, pos, 12 per block, ln_final ×2, proj.
  t.is(shapes.size, 5 + 48 * 12 + 3 + 2 + 32 * 12 + 3);
  const entries = [...shapes].map(([name, shape]) => ({ name, shape, dtype: 'F16' as const }));
  entries.push({ name: 'logit_scale', shape: [], dtype: 'F16' });
  const path = join(work, 'vit-g-header.safetensors');
  const size = writeSafetensorsHeaderOnly(path, entries);
  t.true(size > 5e9, 'declares the real ~5 GB of f16 weights'); // a sparse hole: no disk, no reads
  const before = process.memoryUsage().rss;
  const source = new SafetensorsFile(path);
  t.notThrows(() => checkCheckpointKeys(source, arch, 'open_clip'));
  t.true(process.memoryUsage().rss - before < 200 * 1024 ** 2, 'checking the header allocated no weights');
  // The same header with one tensor's shape changed and one key renamed.
  const broken = entries.map((e) =>
    e.name === 'visual.proj' ? { ...e, shape: [1664, 1024] } : e.name === 'ln_final.weight' ? { ...e, name: 'ln_final.gamma' } : e,
  );
  const brokenPath = join(work, 'vit-g-broken.safetensors');
  writeSafetensorsHeaderOnly(brokenPath, broken);
  const brokenSource = new SafetensorsFile(brokenPath);
  const error = t.throws(() => checkCheckpointKeys(brokenSource, arch, 'open_clip'));
  t.regex(error!.message, /missing keys: ln_final\.weight/);
  t.regex(error!.message, /unexpected keys: ln_final\.gamma/);
  t.regex(error!.message, /mis-shaped: visual\.proj is \[1664, 1024\], expected \[1664, 1280\]/);
  source.close();
  brokenSource.close();
  t.true(statSync(path).blocks * 512 < 10 * 1024 ** 2, 'the data section stayed a hole on disk');
});

test('size honesty: vit-l-14 and larger refuse the wasm heap with advice; vit-b-32 fits', async (t) => {
  // The refusal is decided from the report alone, before any weight is read, whatever backend the suite runs on.
  const wasm: BackendReport = { ...backend, chosen: 'wasm', tfBackend: 'wasm', heapLimitBytes: WASM_HEAP_LIMIT_BYTES };
  t.true(resolveTarget('vit-b-32').estimateBytes({ backend: wasm }) < WASM_HEAP_LIMIT_BYTES / 2);
  t.true(resolveTarget('vit-b-16').estimateBytes({ backend: wasm }) < WASM_HEAP_LIMIT_BYTES);
  for (const name of ['vit-l-14', 'vit-h-14', 'vit-g']) {
    t.true(resolveTarget(name).estimateBytes({ backend: wasm }) > WASM_HEAP_LIMIT_BYTES, name);
    await t.throwsAsync(createEncoder(name, { backend: wasm, weights: work }), { instanceOf: UserError, message: new RegExp(`target '${name}' needs about .* GiB.*setup:native`) });
  }
});

test('checkpoint directories: missing keys, wrong shapes and truncation are named; tensors never leak', async (t) => {
  const before = tf.memory().numTensors;
  const dir = join(work, 'broken-oc');
  writeTinyClip(dir, 'open_clip', 'gelu');
  const weights = join(dir, 'open_clip_model.safetensors');
  const good = readFileSync(weights);
  // Truncated file.
  truncateSync(weights, good.length - 100);
  await t.throwsAsync(createEncoder(dir, { backend }), { instanceOf: UserError, message: /open_clip_model\.safetensors: tensor '.*': data_offsets end at .* past the/ });
  // A config that disagrees with the weights (3 layers declared, 2 present; wider MLP).
  writeFileSync(weights, good);
  const configPath = join(dir, 'open_clip_config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.model_cfg.vision_cfg.layers = 3;
  config.model_cfg.text_cfg.mlp_ratio = 8;
  writeFileSync(configPath, JSON.stringify(config));
  const error = await t.throwsAsync(createEncoder(dir, { backend }), { instanceOf: UserError });
  t.regex(error!.message, /missing keys: .*visual\.transformer\.resblocks\.2\.ln_1\.weight/);
  t.regex(error!.message, /mis-shaped: transformer\.resblocks\.0\.mlp\.c_fc\.weight is \[256, 64\], expected \[512, 64\]/);
  // HF layout: an extra unknown key is reported as unexpected.
  const hf = join(work, 'broken-hf');
  writeTinyClip(hf, 'hf', 'quick_gelu');
  const source = new SafetensorsFile(join(hf, 'model.safetensors'));
  const tensors = source.names().map((name) => ({ name, shape: source.info(name).shape, data: source.readFloat32(name) }));
  source.close();
  writeSafetensors(join(hf, 'model.safetensors'), [...tensors, { name: 'vision_model.extra_head.weight', shape: [1], data: Float32Array.of(0) }]);
  await t.throwsAsync(createEncoder(hf, { backend }), { message: /unexpected keys: vision_model\.extra_head\.weight/ });
  t.is(tf.memory().numTensors, before);
});

test('a preset loads --weights DIR (the checkpoint config wins), and a sharded HF checkpoint equals the single file', async (t) => {
  const dir = join(work, 'shards');
  writeTinyClip(dir, 'hf', 'quick_gelu');
  const single = new SafetensorsFile(join(dir, 'model.safetensors'));
  const names = single.names();
  const half = Math.floor(names.length / 2);
  const tensorsOf = (list: string[]) => list.map((name) => ({ name, shape: single.info(name).shape, data: single.readFloat32(name) }));
  const reference = await createEncoder(dir, { backend, features: 'projected' });
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), tensorsOf(names.slice(0, half)));
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), tensorsOf(names.slice(half)));
  single.close();
  const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  rmSync(join(dir, 'model.safetensors'));
  const sharded = await createEncoder(dir, { backend, features: 'projected' });
  const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const a = reference.encodeImage(x);
  const b = sharded.encodeImage(x);
  t.deepEqual([...a.dataSync()], [...b.dataSync()]);
  tf.dispose([x, a, b]);
  reference.dispose();
  sharded.dispose();
  const viaPreset = await createEncoder('vit-b-32', { backend, weights: dir });
  t.is(viaPreset.id, 'vit-b-32');
  t.is(viaPreset.embedDim, 64);
  viaPreset.dispose();
});
