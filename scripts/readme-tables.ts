/**
 * Rewrites the README's generated tables (src/cli/readme-tables.ts) from the registries.
 * test/cli/readme-tables.test.ts fails while the README differs from what this writes. Run: npm run readme-tables
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readmeWithTables } from '../src/cli/readme-tables.js';
import { packagePath } from '../src/core/repo-paths.js';

const path = packagePath('README.md');
const before = readFileSync(path, 'utf8');
const after = readmeWithTables(before);
if (after !== before) writeFileSync(path, after);
process.stdout.write(after === before ? 'README.md: tables already up to date\n' : 'README.md: tables rewritten\n');
