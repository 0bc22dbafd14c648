/**
 * Every registered attack, optimiser and constraint on the real encoders, a few steps each: the embedded MobileNetV2 at
 * 32 px and a micro CLIP (32 px, 2 layers; text targets through its text tower).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom } from '../../attacks/attack-params.js';
import { attackNames, constraintEntries, createAttack, OPTIMISERS, optimiserNames, TARGET_STRATEGIES } from '../../attacks/registry.js';
import { createEncoder } from '../../src/models/create-encoder.js';
import type { Encoder, FeatureKind } from '../../src/models/encoder.js';
import { type BackendReport } from '../../src/runtime/backend.js';
import { testImages } from '../helpers/attack-fake-encoder.js';
import { writeTinyClip } from '../helpers/tiny-clip.js';
import { acceptedParams, testSteps } from '../helpers/attack-variants.js';
import { initTestBackend } from '../helpers/test-backend.js';

const work = mkdtempSync(join(tmpdir(), 'advood-attack-models-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

let backend: BackendReport;
let mobilenet: Encoder;
let clip: Encoder;

test.before(async () => {
  backend = await initTestBackend();
  mobilenet = await createEncoder('mobilenet-v2', { backend, inputSize: 32 });
  writeTinyClip(join(work, 'clip'), 'open_clip', 'gelu');
  clip = await createEncoder(join(work, 'clip'), { backend, features: 'projected' });
});

test.after.always(() => {
  mobilenet?.dispose();
  clip?.dispose();
});

/**
 * Built from the constraint registry: each entry alone with its example value, and each projection on top of each
 * parametrisation (a budget acts on the variable through the parametrisation, attacks/constraints/norm-budget.ts).
 */
const CONSTRAINTS: Record<string, Record<string, unknown>> = Object.fromEntries([
  ...constraintEntries().map((entry) => [entry.field, { [entry.field]: entry.example }]),
  ...constraintEntries()
    .filter((projection) => projection.role === 'projection')
    .flatMap((projection) =>
      constraintEntries()
        .filter((p) => p.role === 'parametrisation')
        .map((p) => [`${p.field}+${projection.field}`, { [p.field]: p.example, [projection.field]: projection.example }]),
    ),
]);

/** Every optimiser, under the attack that takes one, plus the attacks that fix their own. */
const ATTACK_VARIANTS: { label: string; raw: Record<string, unknown>; lr: number }[] = [
  ...optimiserNames().map((optimiser) => ({ label: `feature-collision/${optimiser}`, raw: { attack: 'feature-collision', optimiser }, lr: optimiser === 'signed-gradient' ? 2e-3 : 1e-2 })),
  ...attackNames()
    .filter((attack) => attack !== 'feature-collision')
    .map((attack) => ({ label: attack, raw: { attack }, lr: attack === 'feature-collision-pgd' ? 2e-3 : 1e-2 })),
];

/** An optimiser whose steps come from ε (APGD) runs each constraint with a budget added where it has none. */
function withBudgetFor(raw: Record<string, unknown>, constraints: Record<string, unknown>): Record<string, unknown> {
  const needsBudget = typeof raw.optimiser === 'string' && OPTIMISERS[raw.optimiser]!.needsBudget;
  return needsBudget && !('budget' in constraints) ? { ...constraints, budget: { norm: 'linf', epsilon: 16 / 255 } } : constraints;
}

function cosines(encoder: Encoder, kind: FeatureKind, images: tf.Tensor4D, targets: tf.Tensor2D): number[] {
  return tf.tidy(() => {
    const f = encoder.encodeImage(images, kind);
    const dot = tf.sum(tf.mul(f, targets), 1);
    return Array.from(tf.div(dot, tf.mul(tf.norm(f, 'euclidean', 1), tf.norm(targets, 'euclidean', 1))).dataSync());
  });
}

/** Targets: the features of other images, so they are reachable points of the feature space. */
function imageTargets(encoder: Encoder, kind: FeatureKind, n: number): tf.Tensor2D {
  return tf.tidy(() => encoder.encodeImage(testImages(n, 32, 99), kind));
}

/** The constraint cases a variant's presets may hold (Square: its budget alone), each with a budget where it needs one. */
function casesFor(raw: Record<string, unknown>): [string, Record<string, unknown>][] {
  return Object.entries(CONSTRAINTS)
    .map(([name, constraints]): [string, Record<string, unknown>] => [name, withBudgetFor(raw, constraints)])
    .filter(([, constraints]) => acceptedParams({ ...raw, constraints }));
}

for (const { label, raw, lr } of ATTACK_VARIANTS) {
  for (const [name, constraints] of casesFor(raw)) {
    test(`mobilenet-v2@32 · ${label} · ${name}: cos to the target increases, pixels in [0,1]`, (t) => {
      const before = tf.memory().numTensors;
      const clean = testImages(2, 32, 5);
      const targets = imageTargets(mobilenet, 'pre-projection', 2);
      const steps = testSteps(raw.attack as string, 6, 150);
      const result = createAttack(attackParamsFrom({ ...raw, steps, lr, batch: 2, constraints }), 1).run(mobilenet, {
        clean,
        targets,
        itemKeys: ['a', 'b'],
      });
      const cosBefore = cosines(mobilenet, 'pre-projection', clean, targets);
      const cosAfter = cosines(mobilenet, 'pre-projection', result.adv, targets);
      cosAfter.forEach((c, i) => t.true(c > cosBefore[i]!, `item ${i}: ${cosBefore[i]} → ${c}`));
      t.true(result.adv.dataSync().every((p) => p >= 0 && p <= 1));
      tf.dispose([clean, targets, result.adv]);
      t.is(tf.memory().numTensors, before);
    });
  }
}

test('micro CLIP: text-prototype targets in the projected space; every attack raises cos', (t) => {
  const choices = TARGET_STRATEGIES.text.prepare({ seed: 1, encoder: clip, classNames: ['cat', 'dog'], requestedClass: 'dog' }).choose([
    { key: 'a', cleanFeature: new Float32Array(1) },
    { key: 'b', cleanFeature: new Float32Array(1) },
  ]);
  t.is(choices[0]!.vector.length, 32);
  const targets = tf.tensor2d(choices.flatMap((c) => Array.from(c.vector)), [2, 32]);
  const clean = testImages(2, 32, 6);
  for (const { label, raw, lr } of ATTACK_VARIANTS) {
    for (const [, constraints] of casesFor(raw)) {
      const params = attackParamsFrom({ ...raw, steps: testSteps(raw.attack as string, 4, 40), lr, features: 'projected', constraints });
      const result = createAttack(params, 1).run(clip, { clean, targets, itemKeys: ['a', 'b'] });
      const before = cosines(clip, 'projected', clean, targets);
      const after = cosines(clip, 'projected', result.adv, targets);
      after.forEach((c, i) => t.true(c > before[i]!, `${label} ${JSON.stringify(constraints)} item ${i}: ${before[i]} → ${c}`));
      result.adv.dispose();
    }
  }
  tf.dispose([clean, targets]);
});
