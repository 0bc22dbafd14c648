/**
 * advood's DINOv2 against transformers itself: transformers builds tiny random Dinov2Model (GELU MLP; SwiGLU) and
 * Dinov2WithRegistersModel configs, saves them with save_pretrained next to a BitImageProcessor's
 * preprocessor_config.json (test/reference/transformers_reference.py, in the venv scripts/reference-venv.sh makes),
 * and advood loads the directory as `--target DIR` does. Its pooler_output, CLS ⊕ mean patch token and the input
 * gradient of the attack loss must equal transformers' (cos ≥ 0.99999), at the trained 28 px and at crops whose
 * patch grids need the position embeddings resampled (42 px: bicubic upsampling; 21 px: the registers model's
 * antialiased bicubic, shrinking). Skipped, with the reason, where the venv cannot be made.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoder, resolveTarget } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { compareWithReference } from '../helpers/reference-parity.js';
import { referencePython, transformersReference } from '../helpers/reference-venv.js';
import { initTestBackend } from '../helpers/test-backend.js';

const MIN_COS = 0.99999;

const reference = referencePython();
if ('unavailable' in reference) console.log(`# transformers DINOv2 parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;
const python = () => (reference as { python: string }).python;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

const CASES = [
  { variant: 'dinov2', crop: 28, what: 'Dinov2Model at its trained size' },
  { variant: 'dinov2', crop: 42, what: 'Dinov2Model at 42 px (positions resampled bicubic, 4×4 → 6×6)' },
  { variant: 'dinov2-swiglu', crop: 28, what: 'Dinov2Model with use_swiglu_ffn (the giant FFN)' },
  { variant: 'dinov2-registers', crop: 21, what: 'Dinov2WithRegistersModel at 21 px (antialiased bicubic, 4×4 → 3×3)' },
  { variant: 'dinov2-registers', crop: 35, what: 'Dinov2WithRegistersModel at 35 px (antialiased bicubic, 4×4 → 5×5)' },
] as const;

for (const { variant, crop, what } of CASES) {
  withVenv(`${what}: pooler_output, CLS ⊕ mean patch and the attack gradient equal transformers'`, async (t) => {
    const dir = transformersReference(python(), variant, { crop });
    const parity = await compareWithReference(dir, backend);
    const mean = parity.extra['cls-patch-mean']!;
    t.log(
      `${variant}@${crop} on ${backend.chosen}: features cos ${parity.features.cos} (min row ${parity.features.minRowCos}), max |Δ| ${parity.features.maxAbsDiff.toExponential(2)}; ` +
        `cls-patch-mean cos ${mean.cos}, max |Δ| ${mean.maxAbsDiff.toExponential(2)}; gradient cos ${parity.gradient.cos}, max |Δ| ${parity.gradient.maxAbsDiff.toExponential(2)}`,
    );
    t.is(parity.inputSize, crop, 'the crop comes from preprocessor_config.json');
    t.true(parity.features.minRowCos >= MIN_COS, `features: min row cos ${parity.features.minRowCos}`);
    t.true(mean.minRowCos >= MIN_COS, `cls-patch-mean: min row cos ${mean.minRowCos}`);
    t.true(parity.gradient.cos >= MIN_COS, `gradient: cos ${parity.gradient.cos}`);
    t.is(parity.leakedTensors, 0, 'no tensor leak');
  });
}

withVenv('the tiny DINOv2 checkpoint resolves as a dinov2 target with its processor\'s resize, crop and statistics', async (t) => {
  const dir = transformersReference(python(), 'dinov2', { crop: 42 });
  const target = resolveTarget(dir);
  t.is(target.config.family, 'dinov2');
  t.true(target.estimateBytes({ backend }) > 0);
  const encoder = await createEncoder(target, { backend });
  t.teardown(() => encoder.dispose());
  t.is(encoder.inputSize, 42);
  t.is(encoder.resizeSize, 48); // shortest_edge round(42·256/224)
  t.deepEqual([...encoder.mean], [0.485, 0.456, 0.406]);
  t.is(encoder.embedDim, 32);
  t.deepEqual([...encoder.featureKinds], ['pre-projection', 'cls-patch-mean']);
  t.is(encoder.encodeText, undefined, 'no text tower');
});

withVenv('bad DINOv2 checkpoints: an unknown model_type names config.json and the families; a mis-shaped tensor is named', async (t) => {
  const source = transformersReference(python(), 'dinov2', { crop: 28 });
  const scratch = mkdtempSync(join(tmpdir(), 'advood-dinov2-bad-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const unknown = join(scratch, 'unknown');
  cpSync(source, unknown, { recursive: true });
  const config = JSON.parse(readFileSync(join(unknown, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(unknown, 'config.json'), JSON.stringify({ ...config, model_type: 'dinov3', architectures: ['Dinov3Model'] }));
  const error = t.throws(() => resolveTarget(unknown));
  t.regex(error!.message, /unknown\/config\.json: model_type "dinov3" is not one advood reads/);
  t.regex(error!.message, /clip \(.*\); dinov2 \(.*'dinov2_with_registers'/);

  const misShaped = join(scratch, 'mis-shaped');
  cpSync(source, misShaped, { recursive: true });
  // A narrower MLP in the config than the weights hold: the first mis-shaped tensor is named.
  writeFileSync(join(misShaped, 'config.json'), JSON.stringify({ ...config, mlp_ratio: 2 }));
  await t.throwsAsync(createEncoder(misShaped, { backend }), {
    message: /model\.safetensors: does not match the Dinov2Model layout .*\n {2}mis-shaped: encoder\.layer\.0\.mlp\.fc1\.weight is \[128, 32\], expected \[64, 32\]/,
  });
});
