/**
 * advood's SigLIP against transformers itself: transformers builds tiny random SiglipModel and SiglipVisionModel
 * configs and saves them with save_pretrained, next to a SiglipImageProcessor's preprocessor_config.json and a
 * tokenizer.json trained by the tokenizers library (a SentencePiece-style Unigram vocabulary ending prompts with
 * </s>, and a byte-fallback BPE starting them with <bos> as SigLIP 2's Gemma tokenizer does), all in
 * test/reference/transformers_reference.py. advood loads each directory as `--target DIR` does. The MAP head's
 * output (the default features), the mean of the post-LN tokens, the input gradient of the attack loss and the text
 * embeddings must equal transformers' (cos ≥ 0.99999), and the token ids its tokenizer's. Skipped, with the reason,
 * where the venv cannot be made.
 */
import test from 'ava';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import { HfTokenizer } from '../../src/models/hf-tokenizer.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { compareWithReference } from '../helpers/reference-parity.js';
import { referencePython, transformersReference } from '../helpers/reference-venv.js';
import { initTestBackend } from '../helpers/test-backend.js';

const MIN_COS = 0.99999;

const reference = referencePython();
if ('unavailable' in reference) console.log(`# transformers SigLIP parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;
const python = () => (reference as { python: string }).python;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

const CASES = [
  { variant: 'siglip', crop: 28, what: 'SiglipModel at its trained size, Unigram tokenizer' },
  { variant: 'siglip', crop: 42, what: 'SiglipModel at 42 px (positions resampled bicubic, 4×4 → 6×6)' },
  { variant: 'siglip-gemma', crop: 28, what: 'SiglipModel with a Gemma-style BPE tokenizer (SigLIP 2)' },
  { variant: 'siglip-vision', crop: 35, what: 'SiglipVisionModel alone at 35 px' },
  { variant: 'siglip-vision', crop: 31, what: "SiglipVisionModel at 31 px, not a multiple of the patch (the 'valid' conv drops 3 px, as So400m/14 at 384 does)" },
] as const;

for (const { variant, crop, what } of CASES) {
  withVenv(`${what}: MAP-head and mean-token features, the attack gradient and text embeddings equal transformers'`, async (t) => {
    const dir = transformersReference(python(), variant, { crop });
    const parity = await compareWithReference(dir, backend);
    const mean = parity.extra['pre-projection']!;
    t.log(
      `${variant}@${crop} on ${backend.chosen}: features cos ${parity.features.cos} (min row ${parity.features.minRowCos}), max |Δ| ${parity.features.maxAbsDiff.toExponential(2)}; ` +
        `mean tokens cos ${mean.cos}; gradient cos ${parity.gradient.cos}, max |Δ| ${parity.gradient.maxAbsDiff.toExponential(2)}` +
        (parity.text ? `; text cos ${parity.text.cos} (min row ${parity.text.minRowCos}), max |Δ| ${parity.text.maxAbsDiff.toExponential(2)}` : ''),
    );
    t.is(parity.inputSize, crop, 'the input size comes from preprocessor_config.json');
    t.true(parity.features.minRowCos >= MIN_COS, `features: min row cos ${parity.features.minRowCos}`);
    t.true(mean.minRowCos >= MIN_COS, `mean tokens: min row cos ${mean.minRowCos}`);
    t.true(parity.gradient.cos >= MIN_COS, `gradient: cos ${parity.gradient.cos}`);
    t.is(parity.leakedTensors, 0, 'no tensor leak');
    if (variant === 'siglip-vision') {
      t.is(parity.text, undefined);
      return;
    }
    const text = parity.text!;
    t.true(text.minRowCos >= MIN_COS, `text: min row cos ${text.minRowCos}`);
    const tokenizer = HfTokenizer.fromDir(dir)!;
    const ids = tokenizer.encodeFixed(text.prompts, text.referenceIds[0]!.length).map((row) => [...row]);
    t.deepEqual(ids, text.referenceIds, 'token ids, truncation and padding as transformers gives them');
  });
}

withVenv('a SigLIP checkpoint resolves as a siglip target: squash resize, its statistics, both feature kinds, a text tower', async (t) => {
  const dir = transformersReference(python(), 'siglip', { crop: 28 });
  const target = resolveTarget(dir);
  t.is(target.config.family, 'siglip');
  t.true(target.estimateBytes({ backend }) > 0);
  const encoder = await createEncoder(target, { backend });
  t.teardown(() => encoder.dispose());
  t.is(encoder.inputSize, 28);
  t.is(encoder.resizeMode, 'squash');
  t.deepEqual([...encoder.mean], [0.5, 0.5, 0.5]);
  t.is(encoder.features, 'projected');
  t.deepEqual([...encoder.featureKinds], ['projected', 'pre-projection']);
  t.is(typeof encoder.encodeText, 'function');
});

withVenv('bad SigLIP checkpoints: NaFlex siglip2, a mis-shaped tensor and a missing tokenizer.json are one line each', async (t) => {
  const source = transformersReference(python(), 'siglip', { crop: 28 });
  const scratch = mkdtempSync(join(tmpdir(), 'advood-siglip-bad-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;

  const naflex = join(scratch, 'naflex');
  cpSync(source, naflex, { recursive: true });
  writeFileSync(join(naflex, 'config.json'), JSON.stringify({ ...config, model_type: 'siglip2', architectures: ['Siglip2Model'] }));
  t.throws(() => resolveTarget(naflex), { message: /naflex\/config\.json: model_type "siglip2" is SigLIP 2's NaFlex .*model_type 'siglip'/ });

  const misShaped = join(scratch, 'mis-shaped');
  cpSync(source, misShaped, { recursive: true });
  const vision = config.vision_config as Record<string, unknown>;
  writeFileSync(join(misShaped, 'config.json'), JSON.stringify({ ...config, vision_config: { ...vision, intermediate_size: 48 } }));
  await t.throwsAsync(createEncoder(misShaped, { backend }), {
    message: /model\.safetensors: does not match the SiglipModel layout .*\n {2}mis-shaped: vision_model\.encoder\.layers\.0\.mlp\.fc1\.weight is \[64, 32\], expected \[48, 32\]/,
  });

  const noTokenizer = join(scratch, 'no-tokenizer');
  cpSync(source, noTokenizer, { recursive: true });
  rmSync(join(noTokenizer, 'tokenizer.json'));
  writeFileSync(join(noTokenizer, 'spiece.model'), 'stand-in');
  const encoder = await createEncoder(noTokenizer, { backend });
  t.teardown(() => encoder.dispose());
  t.throws(() => encoder.encodeText!(['a photo of a cat']), { message: /no-tokenizer\/tokenizer\.json is missing: .*only a SentencePiece model file/ });
});
