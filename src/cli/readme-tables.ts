/**
 * The README's tables of what advood offers, made from the registries so they cannot drift: data-source kinds,
 * target presets, attack presets, target strategies, constraints, optimisers and detectors. Each sits between
 * `<!-- NAME:begin … -->` and `<!-- NAME:end -->` markers; scripts/readme-tables.ts rewrites them
 * (`npm run readme-tables`) and test/cli/readme-tables.test.ts fails while the README differs.
 */
import { type AttackParams, attackPresetNames, resolveAttackPreset } from '../../attacks/attack-params.js';
import { constraintEntries } from '../../attacks/constraints/constraint-set.js';
import { OPTIMISERS, DEFAULT_OPTIMISER } from '../../attacks/optimisers/optimisers.js';
import { ATTACKS, TARGET_STRATEGIES } from '../../attacks/registry.js';
import { UserError } from '../core/errors.js';
import { DETECTORS } from '../detectors/registry.js';
import { encoderFamilies, resolveTarget, targetPresetNames } from '../models/create-encoder.js';
import { sourceKindsMarkdown } from '../sources/source-help.js';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const table = (header: readonly string[], rows: readonly (readonly string[])[]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
/** The first sentence of a description: presets and targets describe themselves at length in their files. */
const firstSentence = (text: string) => /^(.+?[.;])(\s|$)/.exec(text)?.[1]?.replace(/[.;]$/, '') ?? text;

function targetsTable(): string {
  return table(
    ['target', 'family', 'default features', 'what'],
    targetPresetNames().map((name) => {
      const { config } = resolveTarget(name);
      return [`\`${name}\``, config.family, `\`${typeof config.features === 'string' ? config.features : 'pre-projection'}\``, firstSentence(config.description)];
    }),
  );
}

function familiesTable(): string {
  return table(
    ['family', 'feature kinds', '`--target DIR` reads'],
    encoderFamilies().map((family) => [
      family.name,
      family.featureKinds.map((kind) => `\`${kind}\``).join(', '),
      family.checkpointFormats ?? 'presets only',
    ]),
  );
}

/** A preset as its resolved params say: optimiser and schedule, constraints, target, features, input size. */
function presetsTable(): string {
  const constraintsOf = (params: AttackParams) =>
    Object.entries(params.constraints)
      .filter(([, value]) => value !== null)
      .map(([field, value]) => `${field} ${Object.entries(value as object).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(', ')}`)
      .join('; ');
  return table(
    ['preset', 'optimiser, steps, lr, batch (or queries)', 'constraints', 'target', 'features', 'early stop'],
    attackPresetNames().map((name) => {
      const { params } = resolveAttackPreset(name);
      return [
        `\`${name}\``,
        ATTACKS[params.attack]?.gradientFree
          ? `${params.attack} (no gradients), ${params.steps} queries, —, ${params.batch}`
          : `${params.optimiser ?? DEFAULT_OPTIMISER}, ${params.steps}, ${params.lr}, ${params.batch}`,
        constraintsOf(params) || 'none',
        `${params.target.strategy}${params.target.class === null ? '' : ` (${params.target.class})`}`,
        `${params.features}${params.inputSize === null ? '' : ` at ${params.inputSize} px`}`,
        params.threshold === null ? 'none' : `cos ≥ ${params.threshold}`,
      ];
    }),
  );
}

function strategiesTable(): string {
  return table(['strategy', 'target of each OOD image'], Object.values(TARGET_STRATEGIES).map((s) => [`\`${s.name}\``, s.description]));
}

function constraintsTable(): string {
  return table(
    ['preset field', 'kind', 'what', 'example'],
    constraintEntries().map((entry) => [`\`constraints.${entry.field}\``, entry.role, entry.description, `\`${JSON.stringify(entry.example)}\``]),
  );
}

function optimisersTable(): string {
  return table(
    ['optimiser', 'what'],
    Object.values(OPTIMISERS).map((entry) => [`\`${entry.name}\`${entry.name === DEFAULT_OPTIMISER ? ' (default)' : ''}`, entry.description]),
  );
}

function detectorsTable(): string {
  return table(
    ['detector', 'needs', 'options (default)', 'what'],
    DETECTORS.map((entry) => {
      const needs = [entry.needs.labels && 'labels', entry.needs.text && 'text tower', entry.needs.projected && 'projected features'].filter(Boolean);
      const options = entry.options.map((o) => `${o.name}${o.default === null ? '' : `=${Array.isArray(o.default) ? `[${o.default.join('|')}]` : String(o.default)}`}`);
      return [`\`${entry.name}\``, needs.length ? needs.join(', ') : '—', options.length ? `\`${options.join(', ')}\`` : '—', entry.description];
    }),
  );
}

/** Every generated block, by marker name. */
export const README_TABLES: Readonly<Record<string, () => string>> = {
  sources: sourceKindsMarkdown,
  targets: targetsTable,
  'target-families': familiesTable,
  'attack-presets': presetsTable,
  'target-strategies': strategiesTable,
  constraints: constraintsTable,
  optimisers: optimisersTable,
  detectors: detectorsTable,
};

const beginMarker = (name: string) => `<!-- ${name}:begin (generated by scripts/readme-tables.ts from the registry) -->`;
const endMarker = (name: string) => `<!-- ${name}:end -->`;

/** `readme` with every generated block rewritten; a block whose markers are missing is an error naming it. */
export function readmeWithTables(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(README_TABLES)) {
    const begin = out.indexOf(beginMarker(name));
    const end = out.indexOf(endMarker(name));
    if (begin < 0 || end < begin) throw new UserError(`README.md: no '${beginMarker(name)}' … '${endMarker(name)}' block`);
    out = `${out.slice(0, begin + beginMarker(name).length)}\n${make()}\n${out.slice(end)}`;
  }
  return out;
}
