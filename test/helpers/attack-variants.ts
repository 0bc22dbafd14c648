/**
 * For the registry-wide attack tests: which attack × constraint combinations a preset may hold (an attack entry's
 * `validate` refuses the rest, e.g. Square takes a budget and nothing else), and how long each attack runs.
 */
import { attackParamsFrom } from '../../attacks/attack-params.js';
import { ATTACKS } from '../../attacks/registry.js';
import { UserError } from '../../src/core/errors.js';

/** True when attackParamsFrom takes these raw params; false when it refuses them with a UserError. */
export function acceptedParams(raw: Record<string, unknown>): boolean {
  try {
    attackParamsFrom(raw);
    return true;
  } catch (error) {
    if (error instanceof UserError) return false;
    throw error;
  }
}

/**
 * Steps for an attack in a short test: a gradient-free search gets `queries`, since one query changes one square of δ
 * where one gradient step moves all of it.
 */
export function testSteps(attack: string, gradientSteps: number, queries: number): number {
  return ATTACKS[attack]?.gradientFree ? queries : gradientSteps;
}
