#!/usr/bin/env node
// Entry point for `npx advood`. The sources are TypeScript; tsx's loader runs them directly, so the
// installed CLI and the tested code are the same files (no build step that could drift).
import { register } from 'tsx/esm/api';

register();
const argv = process.argv.slice(2);
const { debugRequested, installProcessErrorBoundary } = await import('../src/cli/error-boundary.ts');
// Before any backend loads: the wasm module's own rethrowing handlers must never be the ones that run.
installProcessErrorBoundary(debugRequested(argv));
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(argv);
