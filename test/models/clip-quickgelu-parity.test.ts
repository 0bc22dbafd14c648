/**
 * MetaCLIP and DFN are CLIP ViTs with QuickGELU, DFN5B-H-14 at 378 px. Two tiny twins of those checkpoints, each
 * saved by its own library (scripts/reference-venv.sh's venv), load through `--target DIR` and match it
 * (cos ≥ 0.99999): a transformers CLIPModel with hidden_act='quick_gelu' (test/reference/transformers_reference.py)
 * and an open_clip ViT-B-32-quickgelu config at 256 px instead of 224 (test/reference/openclip_reference.py with a
 * model config of its own). Skipped, with the reason, where the venv cannot be made.
 */
import test from 'ava';
import { resolveTarget } from '../../src/models/create-encoder.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { compareWithOpenClip } from '../helpers/openclip-parity.js';
import { compareWithReference } from '../helpers/reference-parity.js';
import { openClipReference, referencePython, transformersReference } from '../helpers/reference-venv.js';
import { initTestBackend } from '../helpers/test-backend.js';

const MIN_COS = 0.99999;

const reference = referencePython();
if ('unavailable' in reference) console.log(`# QuickGELU CLIP parity skipped: ${reference.unavailable}`);
const withVenv = 'unavailable' in reference ? test.skip : test.serial;
const python = () => (reference as { python: string }).python;

let backend: BackendReport;
test.before(async () => {
  backend = await initTestBackend();
});

withVenv("a transformers CLIPModel with hidden_act='quick_gelu' matches transformers (pre-projection, projected, gradient)", async (t) => {
  const dir = transformersReference(python(), 'clip-quickgelu', { crop: 28 });
  t.is(resolveTarget(dir).config.family, 'clip');
  const parity = await compareWithReference(dir, backend);
  const projected = parity.extra.projected!;
  t.log(`clip-quickgelu on ${backend.chosen}: features cos ${parity.features.minRowCos}, max |Δ| ${parity.features.maxAbsDiff.toExponential(2)}; projected ${projected.minRowCos}; gradient cos ${parity.gradient.cos}`);
  t.true(parity.features.minRowCos >= MIN_COS, `features: ${parity.features.minRowCos}`);
  t.true(projected.minRowCos >= MIN_COS, `projected: ${projected.minRowCos}`);
  t.true(parity.gradient.cos >= MIN_COS, `gradient: ${parity.gradient.cos}`);
  t.is(parity.leakedTensors, 0, 'no tensor leak');
});

withVenv('an open_clip QuickGELU config at 256 px (not 224) matches open_clip', async (t) => {
  const dir = openClipReference(python(), 'tiny-quickgelu-256', { seed: 0, batch: 2 });
  const parity = await compareWithOpenClip(dir, backend);
  t.log(`open_clip tiny-quickgelu-256 on ${backend.chosen}: features cos ${parity.featuresCos}, max |Δ| ${parity.featuresMaxAbsDiff.toExponential(2)}; gradient cos ${parity.gradientCos}`);
  t.true(parity.featuresCos >= MIN_COS, `features: ${parity.featuresCos}`);
  t.true(parity.gradientCos >= MIN_COS, `gradient: ${parity.gradientCos}`);
});
