/**
 * EVA-CLIP checkpoint directories that advood must refuse, each in one line naming the file and what is wrong, before
 * any tensor is read: an open_clip timm tower that is not EVA-02 CLIP's (eva02_enormous's post-norm blocks, EVA-01) or a timm SigLIP tower without its attention-pooling head, a tensor whose shape does not match the rest, a text tower without tokenizer files; and a preset's
 * --weights of another size, which loads following the checkpoint and says so.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeTinyEvaClip } from '../helpers/tiny-eva-clip.js';

let backend: BackendReport;
let root: string;
test.before(async () => {
  backend = await initTestBackend();
  root = mkdtempSync(join(tmpdir(), 'advood-eva-'));
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

function withTimmTower(dir: string, name: string): string {
  const path = join(dir, 'open_clip_config.json');
  const config = JSON.parse(readFileSync(path, 'utf8'));
  config.model_cfg.vision_cfg.timm_model_name = name;
  writeFileSync(path, JSON.stringify(config));
  return path;
}

test('a timm tower other than EVA-02 CLIP or SigLIP is refused in one line naming the config and what is read', (t) => {
  for (const [name, extra] of [
    ['eva02_enormous_patch14_clip_224', /the EVA-02 CLIP ones \(eva02_base_patch16_clip_224, eva02_large_patch14_clip_224, eva02_large_patch14_clip_336\) and SigLIP's/],
    ['eva_giant_patch14_clip_224', /and SigLIP's \(vit_\*_siglip_\*, family 'siglip'\)$/],
  ] as const) {
    const dir = writeTinyEvaClip(join(root, name));
    const config = withTimmTower(dir, name);
    const error = t.throws(() => resolveTarget(dir));
    t.true(error!.message.startsWith(`${config}: vision tower timm '${name}' is not one advood reads`), error!.message);
    t.regex(error!.message, extra);
    t.false(error!.message.includes('\n'));
  }
});

test('a mis-shaped tensor is named, with the shape expected, before any tensor is read', async (t) => {
  const dir = writeTinyEvaClip(join(root, 'mis-shaped'), { reshape: { name: 'visual.trunk.blocks.1.mlp.fc1_x.weight', shape: [160, 64] } });
  await t.throwsAsync(createEncoder(dir, { backend }), {
    message: /open_clip_model\.safetensors: does not match the open_clip EVA-CLIP layout of eva02_tiny_patch8_clip_32 .*\n {2}mis-shaped: visual\.trunk\.blocks\.1\.mlp\.fc1_x\.weight is \[160, 64\], expected \[170, 64\]/,
  });
});

test('text without tokenizer files is one line naming the target; the image side still works', async (t) => {
  const dir = writeTinyEvaClip(join(root, 'no-tokenizer'));
  rmSync(join(dir, 'merges.txt'));
  const encoder = await createEncoder(dir, { backend });
  t.teardown(() => encoder.dispose());
  t.throws(() => encoder.encodeText!(['a photo of a cat']), { message: /^target 'no-tokenizer': no tokenizer files \(merges\.txt/ });
});

test('a timm SigLIP tower pooled by average (a _gap_ tower) is refused by the siglip family in one line', (t) => {
  const dir = writeTinyEvaClip(join(root, 'siglip-gap'));
  const config = withTimmTower(dir, 'vit_base_patch16_siglip_gap_224');
  t.throws(() => resolveTarget(dir), { message: new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: 'vision_cfg.timm_model_name' .*is not a timm SigLIP tower with an attention-pooling head`) });
});

test('another input size is refused in one line: the learned positions are not resampled', async (t) => {
  const dir = writeTinyEvaClip(join(root, 'size'));
  await t.throwsAsync(createEncoder(dir, { backend, inputSize: 48 }), { message: "target 'size': EVA-CLIP runs at its trained 32 px only, not 48 px (drop --input-size / the preset's inputSize)" });
});

test('an eva02 preset loads --weights of another size from their own config and header, and says so', async (t) => {
  const dir = writeTinyEvaClip(join(root, 'weights'));
  const messages: string[] = [];
  const encoder = await createEncoder('eva02-b-16', { backend, weights: dir, log: (m) => messages.push(m) });
  t.teardown(() => encoder.dispose());
  t.is(encoder.embedDim, 64);
  t.is(encoder.inputSize, 32);
  t.regex(messages.join('\n'), /width 64, 2 blocks, where .*eva02-b-16\.json says 768, 12; following the checkpoint/);
});
