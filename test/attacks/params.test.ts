import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attackPresetNames, paramsHash, resolveAttackPreset } from '../../attacks/attack-params.js';
import { UserError } from '../../src/core/errors.js';

test('paper-smooth is the paper recipe (official notebook settings)', (t) => {
  const { params, paramsHash: hash } = resolveAttackPreset('paper-smooth');
  t.is(params.attack, 'feature-collision');
  t.is(params.lr, 1e-3);
  t.is(params.steps, 250);
  t.is(params.batch, 16);
  t.is(params.initStd, 1e-3);
  t.deepEqual(params.constraints.smoothness, { lambda: 5e3 });
  t.is(params.target.strategy, 'sample');
  t.is(params.features, 'pre-projection');
  t.regex(hash, /^[0-9a-f]{64}$/);
  t.is(resolveAttackPreset('paper-patchy').params.constraints.smoothness, null);
});

test('every shipped preset validates and has a description', (t) => {
  const names = attackPresetNames();
  for (const required of ['paper-smooth', 'paper-patchy', 'lowfreq-prototype', 'demo-lowfreq']) t.true(names.includes(required), required);
  for (const name of names) t.true(resolveAttackPreset(name).description.length > 40, name);
});

test('overrides replace any field and change the params hash', (t) => {
  const base = resolveAttackPreset('paper-smooth');
  const changed = resolveAttackPreset('paper-smooth', { steps: 10, 'constraints.smoothness.lambda': 50, 'constraints.dctLowPass': { k: 8 } });
  t.is(changed.params.steps, 10);
  t.is(changed.params.constraints.smoothness!.lambda, 50);
  t.deepEqual(changed.params.constraints.dctLowPass, { k: 8 });
  t.not(changed.paramsHash, base.paramsHash);
  t.is(resolveAttackPreset('paper-smooth', { 'constraints.smoothness': null }).params.constraints.smoothness, null);
  // Same values, same hash, whatever the key order.
  t.is(resolveAttackPreset('paper-smooth', { steps: 250 }).paramsHash, base.paramsHash);
  t.is(paramsHash({ ...base.params }), base.paramsHash);
});

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['negative λ', { 'constraints.smoothness.lambda': -1 }, /constraints\.smoothness\.lambda' must be ≥ 0/],
  ['negative lr', { lr: -0.1 }, /'lr' must be > 0/],
  ['zero lr', { lr: 0 }, /'lr' must be > 0/],
  ['steps = 0', { steps: 0 }, /'steps' must be ≥ 1/],
  ['fractional steps', { steps: 2.5 }, /'steps' must be an integer/],
  ['negative budget', { 'constraints.budget': { norm: 'linf', epsilon: -0.1 } }, /epsilon' must be ≥ 0/],
  ['unknown budget norm', { 'constraints.budget': { norm: 'l1', epsilon: 1 } }, /norm' must be one of linf, l2/],
  ['unknown field', { stepz: 3 }, /'stepz' is not a known field/],
  ['unknown nested field', { 'constraints.blur': { sigma: 1 } }, /'constraints\.blur' is not a known field/],
  ['two parametrisations', { 'constraints.dctLowPass': { k: 4 }, 'constraints.lowResolution': { scale: 4 } }, /lowResolution or dctLowPass, not both/],
  ['text target without projected features', { 'target.strategy': 'text' }, /must be 'projected'/],
  ['unknown strategy', { 'target.strategy': 'nearest' }, /target\.strategy' must be one of/],
  ['string steps', { steps: '10' }, /'steps' must be a finite number/],
];

for (const [name, overrides, message] of BAD) {
  test(`rejects ${name} with a clear UserError`, (t) => {
    const error = t.throws(() => resolveAttackPreset('paper-smooth', overrides), { instanceOf: UserError });
    t.regex(error!.message, message);
    t.regex(error!.message, /paper-smooth\.json/, 'the message names the preset file');
  });
}

test('an unknown preset and an unreadable file are clear errors', (t) => {
  t.throws(() => resolveAttackPreset('paper-smoooth'), { instanceOf: UserError, message: /unknown attack preset 'paper-smoooth'.*paper-smooth/ });
  const dir = mkdtempSync(join(tmpdir(), 'advood-preset-'));
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"steps": 3,');
  t.throws(() => resolveAttackPreset(broken), { instanceOf: UserError, message: /broken\.json: not a readable JSON attack preset/ });
  const custom = join(dir, 'custom.json');
  writeFileSync(custom, JSON.stringify({ description: 'x', steps: 7 }));
  const resolved = resolveAttackPreset(custom);
  t.is(resolved.name, 'custom');
  t.is(resolved.params.steps, 7);
});
