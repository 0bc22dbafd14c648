/**
 * The README's generated tables are the ones the registries make (npm run readme-tables), and the release
 * format document names every column a release can have.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { README_TABLES, readmeWithTables } from '../../src/cli/readme-tables.js';
import { packagePath } from '../../src/core/repo-paths.js';
import { releaseColumns } from '../../src/release/release-columns.js';

test('every generated README table is up to date with its registry (npm run readme-tables)', (t) => {
  const readme = readFileSync(packagePath('README.md'), 'utf8');
  t.is(readmeWithTables(readme), readme);
  for (const name of Object.keys(README_TABLES)) t.true(readme.includes(`<!-- ${name}:end -->`), name);
});

test('a README without one of the markers is refused naming the block', (t) => {
  t.throws(() => readmeWithTables('# nothing here\n'), { message: /README\.md: no '<!-- sources:begin/ });
});

test('docs/release-format.md describes every column, with clean images, detector scores and features included', (t) => {
  const doc = readFileSync(packagePath('docs', 'release-format.md'), 'utf8');
  const columns = releaseColumns({ classNames: ['a'], featureDim: 4, includeCleanImage: true, detectorScores: true });
  t.true(columns.length > 25);
  for (const column of columns) t.regex(doc, new RegExp(`^\\| \`${column.name}\` \\|`, 'm'), column.name);
});
