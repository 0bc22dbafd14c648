/**
 * The non-CLIP hub presets download and load as a user's first run does: each preset's own repo and file list are
 * served by the in-process Hub (test/helpers/mock-hub.ts, via HF_ENDPOINT), holding that family's tiny twin under the
 * preset's file names. The download lands in the huggingface_hub cache, the checkpoint's config wins over the preset's
 * architecture (and says so), and the features come out; a SigLIP preset whose repo has no tokenizer.json refuses
 * zero-shot text in one line.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { startMockHub, type MockHub } from '../helpers/mock-hub.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeTinyDinov2 } from '../helpers/tiny-dinov2.js';
import { writeTinyOpenClipSiglip, writeTinySiglip } from '../helpers/tiny-siglip.js';
import { writeTinyEvaClip } from '../helpers/tiny-eva-clip.js';

const work = mkdtempSync(join(tmpdir(), 'advood-hub-presets-'));
let hub: MockHub;
let backend: BackendReport;

test.before(async () => {
  backend = await initTestBackend();
  hub = await startMockHub();
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = join(work, 'hf-home');
  process.env.ADVOOD_CACHE = join(work, 'cache');
});
test.after.always(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Serves `twinDir`'s files under the preset's repo, exactly the files the preset lists. */
function publishTwin(preset: string, twinDir: string): void {
  const hubSpec = resolveTarget(preset).config.hub as { repo: string; files: string[] };
  const files = Object.fromEntries(hubSpec.files.map((file) => [file, readFileSync(join(twinDir, file))]));
  hub.createRepo(hubSpec.repo, { type: 'model', files });
}

const CASES = [
  { preset: 'dinov2-s-14', twin: (dir: string) => writeTinyDinov2(dir), says: /width 32, 2 layers, 2 registers, where .*dinov2-s-14\.json says 384, 12, 0; following the checkpoint/ },
  { preset: 'siglip2-b-16-224', twin: (dir: string) => writeTinySiglip(dir), says: /width 32, 2 layers, where .*siglip2-b-16-224\.json says 768, 12; following the checkpoint/ },
  { preset: 'siglip-b-16-224', twin: (dir: string) => writeTinySiglip(dir), says: /following the checkpoint/ },
  { preset: 'siglip-so400m-14-384-openclip', twin: (dir: string) => writeTinyOpenClipSiglip(dir), says: /width 32, 2 layers, where .*siglip-so400m-14-384-openclip\.json says 1152, 27; following the checkpoint/ },
  { preset: 'eva02-b-16', twin: (dir: string) => writeTinyEvaClip(dir), says: /width 64, 2 blocks, where .*eva02-b-16\.json says 768, 12; following the checkpoint/ },
] as const;

for (const { preset, twin, says } of CASES) {
  test.serial(`${preset}: downloads its listed files from the Hub into the cache and loads them`, async (t) => {
    if (backend.heapLimitBytes !== null && resolveTarget(preset).estimateBytes({ backend }) > backend.heapLimitBytes) {
      // The preset's own architecture is too large for this heap: refused before any download (every-target.test.ts).
      await t.throwsAsync(createEncoder(preset, { backend }), { message: new RegExp(`^target '${preset}' needs about`) });
      return;
    }
    publishTwin(preset, twin(join(work, `twin-${preset}`)));
    const messages: string[] = [];
    const encoder = await createEncoder(preset, { backend, log: (m) => messages.push(m) });
    t.teardown(() => encoder.dispose());
    t.regex(messages.join('\n'), says);
    const repo = (resolveTarget(preset).config.hub as { repo: string }).repo;
    t.true(existsSync(join(work, 'hf-home', 'hub', `models--${repo.replace('/', '--')}`)), 'huggingface_hub cache layout');
    const pixels = tf.fill([1, encoder.inputSize, encoder.inputSize, 3], 0.5) as tf.Tensor4D;
    const features = encoder.encodeImage(pixels);
    t.deepEqual(features.shape, [1, encoder.embedDim]);
    tf.dispose([pixels, features]);
    if (preset === 'siglip2-b-16-224' || preset === 'siglip-so400m-14-384-openclip') {
      const text = encoder.encodeText!(['a photo of a cat']);
      t.deepEqual(text.shape, [1, 32]);
      text.dispose();
    }
    if (preset === 'eva02-b-16') {
      // The preset lists no tokenizer (timm's repos ship none): the image side works, the text side says what to add.
      t.throws(() => encoder.encodeText!(['a photo of a cat']), { message: /no tokenizer files \(merges\.txt \[\+ vocab\.json\] or bpe_simple_vocab_16e6\.txt\.gz\) next to the weights/ });
    }
    if (preset === 'siglip-b-16-224') {
      // The preset lists no tokenizer.json (the repo ships spiece.model): the image side works, the text side refuses.
      t.throws(() => encoder.encodeText!(['a photo of a cat']), { message: /tokenizer\.json is missing: the text tower reads tokenizer\.json/ });
    }
  });
}
