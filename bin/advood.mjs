#!/usr/bin/env node
// Entry point for `npx advood`. The sources are TypeScript; tsx's loader runs them directly, so the
// installed CLI and the tested code are the same files (no build step that could drift).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
