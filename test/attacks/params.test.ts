import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attackParamsFrom, attackPresetNames, paramsHash, resolveAttackPreset } from '../../attacks/attack-params.js';
import { createAttack, DEFAULT_OPTIMISER, OPTIMISERS, optimiserNames } from '../../attacks/registry.js';
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
  ['two parametrisations', { 'constraints.dctLowPass': { k: 4 }, 'constraints.lowResolution': { scale: 4 } }, /one parametrisation of δ \(lowResolution or dctLowPass\), not lowResolution and dctLowPass/],
  ['text target without projected features', { 'target.strategy': 'text' }, /must be 'projected'/],
  ['unknown strategy', { 'target.strategy': 'nearest' }, /target\.strategy' must be one of/],
  ['string steps', { steps: '10' }, /'steps' must be a finite number/],
  ['unknown attack', { attack: 'feature-colision' }, /'attack' must be one of feature-collision, feature-collision-pgd, square, got "feature-colision"/],
  ['unknown optimiser', { optimiser: 'sgd' }, /'optimiser' must be one of adam, signed-gradient, apgd, got "sgd"/],
  ['APGD without a budget', { optimiser: 'apgd' }, /'optimiser' 'apgd' needs constraints\.budget, since its step sizes start at 2ε/],
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

test('a preset names its optimiser; the default is left out of the params, so the params hash does not move', (t) => {
  const base = resolveAttackPreset('paper-smooth');
  const namedDefault = resolveAttackPreset('paper-smooth', { optimiser: DEFAULT_OPTIMISER });
  t.false('optimiser' in namedDefault.params);
  t.is(namedDefault.paramsHash, base.paramsHash);
  for (const name of optimiserNames().filter((n) => n !== DEFAULT_OPTIMISER)) {
    const budget = OPTIMISERS[name]!.needsBudget ? { 'constraints.budget': { norm: 'linf', epsilon: 8 / 255 } } : {};
    const other = resolveAttackPreset('paper-smooth', { optimiser: name, ...budget });
    t.is(other.params.optimiser, name);
    t.not(other.paramsHash, base.paramsHash, name);
  }
});

test("the older name 'feature-collision-pgd' is the signed-gradient optimiser and refuses another one", (t) => {
  const named = attackParamsFrom({ attack: 'feature-collision-pgd', optimiser: 'signed-gradient' });
  // The attack fixes its optimiser, so naming it changes nothing, the params hash included.
  t.is(paramsHash(named), paramsHash(attackParamsFrom({ attack: 'feature-collision-pgd' })));
  t.notThrows(() => createAttack(named, 1));
  t.throws(() => attackParamsFrom({ attack: 'feature-collision-pgd', optimiser: 'adam' }), { instanceOf: UserError, message: /'optimiser' must be 'signed-gradient' \(or absent\) with attack 'feature-collision-pgd', got 'adam'/ });
});

/**
 * Release rows record the params hash of their preset (release-format stability): reorganising how params are
 * validated must not move it. These are the hashes of the shipped presets as releases made with them record.
 */
test('the shipped presets keep the params hash their releases record', (t) => {
  const recorded: Record<string, string> = {
    'demo-lowfreq': '72087de7ce009009ea00aac8d04608d6a527a825800720ddeab41fab30ad2107',
    'lowfreq-prototype': 'efd989204fbb508234e897c03dbc62003e23aaaa8c0685a2289d6340a7d05c2e',
    'paper-patchy': '5adcd1563f8858ba4d2577375093f20540aa4e45d7f956bdd46ca04174a98714',
    'paper-smooth': '9dd9c79eed484b0e47b6f89a1a8b35e5b58eb08bcabece6151b0fb524e9e1abb',
  };
  for (const [name, hash] of Object.entries(recorded)) t.is(resolveAttackPreset(name).paramsHash, hash, name);
});
