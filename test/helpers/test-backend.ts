/**
 * The backend the suite runs on: ADVOOD_BACKEND when set (.ci/run runs the whole suite once on wasm and once on
 * tensorflow), else wasm, which runs everywhere. Child processes started by the tests inherit the same variable.
 */
import { initBackend, type BackendName, type BackendReport } from '../../src/runtime/backend.js';

export const TEST_BACKEND = (process.env.ADVOOD_BACKEND || 'wasm') as BackendName;

export function initTestBackend(): Promise<BackendReport> {
  return initBackend({ request: TEST_BACKEND });
}
