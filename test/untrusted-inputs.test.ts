/**
 * Inputs advood reads from disk or flags, crafted or damaged: each is refused or skipped with a line naming
 * the file, the key, the tensor or the flag, never silently reinterpreted.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { resolveAttackPreset } from '../attacks/attack-params.js';
import { keyProblem, parseGuardedJson } from '../src/core/json-guard.js';
import { computeFeatures } from '../src/data/features.js';
import { openFileList } from '../src/data/file-list-source.js';
import { openImageFolder } from '../src/data/image-folder-source.js';
import type { Encoder, FeatureKind } from '../src/models/encoder.js';
import { openSafetensors } from '../src/models/safetensors.js';
import { readManifest } from '../src/release/release-manifest.js';
import { ItemError, UserError } from '../src/runtime/errors.js';
import { writeSafetensors } from './helpers/safetensors-writer.js';

const root = mkdtempSync(join(tmpdir(), 'advood-untrusted-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
test.before(async () => {
  await tf.setBackend('cpu');
});

test('a safetensors header naming a tensor twice is refused (JSON.parse would keep the last)', (t) => {
  const path = join(root, 'dup.safetensors');
  // The same name twice, at different bytes: which tensor is 'w' depends on the reader.
  const header = Buffer.from('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([prefix, header, Buffer.from(Float32Array.from([1, 2]).buffer)]));
  t.throws(() => openSafetensors(path), { instanceOf: UserError, message: `${path}: header names tensor "w" twice; refusing an ambiguous checkpoint` });
});

test('__proto__, constructor and prototype keys are refused in an attack preset, a manifest and --set, naming the key', (t) => {
  const preset = join(root, 'preset.json');
  writeFileSync(preset, JSON.stringify({ attack: 'feature-collision' }).replace('{', '{"__proto__": {"steps": 1}, '));
  t.throws(() => resolveAttackPreset(preset), { instanceOf: UserError, message: /preset\.json: not a readable JSON attack preset \(key "__proto__" at the top level is not allowed/ });
  t.throws(() => resolveAttackPreset('paper-smooth', { 'constraints.__proto__.k': 3 }), { instanceOf: UserError, message: /'__proto__' is not a field name/ });

  const release = join(root, 'manifest-proto');
  mkdirSync(release);
  writeFileSync(join(release, 'manifest.json'), '{"format": "advood-release/1", "config": {"constructor": {"prototype": 1}}}');
  t.throws(() => readManifest(release), { instanceOf: UserError, message: /manifest\.json: key "constructor" in \$\.config is not allowed/ });
  t.is(keyProblem('{"a": "__proto__", "b": ["constructor"]}'), null, 'as values they are plain strings');
  t.throws(() => parseGuardedJson('{"a": 1, "a": 2}'), { message: 'key "a" appears twice at the top level; the file is ambiguous' });
});

