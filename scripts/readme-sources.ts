/**
 * Writes the README's table of data-source kinds from the registry (src/sources/source-kinds.ts), between the
 * `<!-- sources:begin -->` and `<!-- sources:end -->` markers. test/sources/source-kinds.test.ts fails while the
 * README differs from what this writes. Run: npm run readme-sources
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { packagePath } from '../src/core/repo-paths.js';
import { readmeWithSourceTable } from '../src/sources/readme-table.js';

const path = packagePath('README.md');
const before = readFileSync(path, 'utf8');
const after = readmeWithSourceTable(before);
if (after !== before) writeFileSync(path, after);
process.stdout.write(after === before ? 'README.md: source table already up to date\n' : 'README.md: source table rewritten\n');
