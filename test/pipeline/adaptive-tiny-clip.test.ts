/**
 * The detectors the CLIP-OOD papers of 2023–2025 compare, on a real (tiny, random) CLIP target and on the
 * embedded MobileNetV2: `evaluate --adaptive` attacks each differentiable one on its own score, and that attack
 * lowers its AUROC below its AUROC on the same images clean. On MobileNetV2 the zero-shot ones are listed as
 * not applicable, with the reason, and the rest run.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readLexicon } from '../../src/data/lexicon.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Encoder } from '../../src/models/encoder.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import { generateRelease } from '../../src/pipeline/generate.js';
import { runEvaluation } from '../../src/pipeline/evaluate.js';
import type { BackendReport } from '../../src/runtime/backend.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';

const root = mkdtempSync(join(tmpdir(), 'advood-adaptive-clip-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/**
 * The new zero-shot and post-hoc detectors (#20) with the probe's training shortened for a test, and NegLabel
 * mining from every 25th WordNet noun and every 5th adjective (9,008 prompts through the text tower, not 139k).
 */
const LEXICON = { nouns: join(root, 'nouns.txt'), adjectives: join(root, 'adjectives.txt') };
const ZERO_SHOT_NAMES = ['gl-mcm', 'neglabel', 'mcm-energy', 'mcm-max-logit', 'mcm-gen', 'mcm-vim'];
const ZERO_SHOT = ZERO_SHOT_NAMES.map((name) => (name === 'neglabel' ? `neglabel:nouns=${LEXICON.nouns},adjectives=${LEXICON.adjectives}` : name));
const POST_HOC = ['probe-gen:epochs=20', 'vim:epochs=20', 'nnguide:epochs=20'];

let backend: BackendReport;
const encoders: Encoder[] = [];
test.after.always(() => encoders.forEach((e) => e.dispose()));

test.before(async () => {
  backend = await initTestBackend();
  const { nouns, adjectives } = readLexicon();
  writeFileSync(LEXICON.nouns, nouns.filter((_, i) => i % 25 === 0).join('\n') + '\n');
  writeFileSync(LEXICON.adjectives, adjectives.filter((_, i) => i % 5 === 0).join('\n') + '\n');
  await writeImages(join(root, 'id', 'cat'), 8, 1, 0.25);
  await writeImages(join(root, 'id', 'dog'), 8, 2, 0.75);
  await writeImages(join(root, 'id-test', 'cat'), 4, 4, 0.25);
  await writeImages(join(root, 'id-test', 'dog'), 4, 5, 0.75);
  // Dark OOD images: on this random CLIP the zero-shot detectors separate them from ID (clean AUROC ≈ 98 %).
  await writeImages(join(root, 'ood', 'clipart'), 6, 3, 0.05);
  writeTinyClip(join(root, 'clip'), 'hf', 'quick_gelu');
});

async function paperRelease(encoder: Encoder, out: string): Promise<string> {
  await generateRelease({
    encoder,
    id: join(root, 'id'),
    ood: join(root, 'ood'),
    attack: 'paper-smooth',
    overrides: { steps: 4, lr: 0.01, batch: 3, 'constraints.smoothness.lambda': 1, 'target.strategy': 'prototype' },
    seed: 7,
    out: join(root, out),
    backend,
    command: 'advood generate (adaptive tiny CLIP test)',
  });
  return join(root, out);
}

const evaluation = (encoder: Encoder, release: string, out: string, detectors: string[], adaptive: boolean) =>
  runEvaluation({
    encoder,
    idTrain: join(root, 'id'),
    idTest: join(root, 'id-test'),
    ood: [`adv=${release}`],
    detectors,
    out: join(root, out),
    batch: 6,
    bootstrap: { resamples: 20, seed: 0 },
    gallery: 0,
    ...(adaptive && { adaptive: { backend, size: { steps: 15, attacks: ['repeat'] } } }),
  });

test.serial('tiny CLIP: an attack on each new detector’s own score lowers its AUROC below the clean one', async (t) => {
  const encoder = await createEncoder(join(root, 'clip'), { backend });
  encoders.push(encoder);
  const release = await paperRelease(encoder, 'clip-paper');
  const { result } = await evaluation(encoder, release, 'clip-eval', [...ZERO_SHOT, ...POST_HOC], true);
  t.deepEqual(result.notApplicable, []);
  for (const { name } of result.detectors) {
    const auroc = (set: string) => result.rows.find((r) => r.detector === name && r.set === set)!.metrics.auroc.value;
    const clean = auroc('adv:clean');
    const attacked = auroc(`adaptive-${name}`);
    t.log(`${name}: AUROC clean ${(100 * clean).toFixed(1)} %, under its own attack ${(100 * attacked).toFixed(1)} %`);
    t.true(attacked < clean, `${name}: ${attacked} vs clean ${clean}`);
  }
  t.deepEqual(result.detectors.map((d) => d.name).sort(), [...ZERO_SHOT_NAMES, 'probe-gen', 'vim', 'nnguide'].sort());
});

test.serial('MobileNetV2: the zero-shot detectors are listed as not applicable with the reason; the others run', async (t) => {
  const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: 32 });
  encoders.push(encoder);
  const release = await paperRelease(encoder, 'mobilenet-paper');
  const { result, files } = await evaluation(encoder, release, 'mobilenet-eval', [...ZERO_SHOT, ...POST_HOC], false);
  t.deepEqual(result.detectors.map((d) => d.name), ['probe-gen', 'vim', 'nnguide']);
  t.deepEqual(result.notApplicable.map((d) => d.detector), ZERO_SHOT_NAMES);
  t.true(result.notApplicable.every((d) => /needs a text tower/.test(d.reason)));
  const read = (name: string) => readFileSync(files.find((f) => f.endsWith(name))!, 'utf8');
  t.regex(read('summary.md'), /Not applicable here:\n\n- gl-mcm: needs a text tower/);
  t.is((JSON.parse(read('summary.json')) as { notApplicable: unknown[] }).notApplicable.length, ZERO_SHOT.length);
  t.regex(read('report.html'), /Not applicable here/);
  await t.throwsAsync(evaluation(encoder, release, 'mobilenet-none', ['mcm', 'gl-mcm'], false), { message: /none of the detectors can run on mobilenet-v2@32: mcm needs a text tower/ });
});

test.serial("GL-MCM: the per-patch features are computed for the scored sets, never for the ID train set (its fit reads text only)", async (t) => {
  const encoder = await createEncoder(join(root, 'clip'), { backend });
  encoders.push(encoder);
  const release = await paperRelease(encoder, 'clip-paper-glmcm');
  const passes = new Map<string, number>();
  await runEvaluation({
    encoder,
    idTrain: join(root, 'id'),
    idTest: join(root, 'id-test'),
    ood: [`adv=${release}`],
    detectors: ['gl-mcm'],
    out: join(root, 'glmcm-eval'),
    batch: 6,
    bootstrap: { resamples: 0, seed: 0 },
    gallery: 0,
    // Feature progress is reported per set and kind: 'id-test (local-projected)'.
    onProgress: (event) => {
      if (event.kind === 'features' && event.done === event.total) passes.set(event.set, (passes.get(event.set) ?? 0) + 1);
    },
  });
  const computed = [...passes.keys()];
  for (const set of ['id-test', 'adv:clean', 'adv']) t.true(computed.includes(`${set} (local-projected)`), computed.join(', '));
  t.deepEqual(computed.filter((name) => name.startsWith('id-train')).sort(), ['id-train (pre-projection)', 'id-train (projected)']);
});
