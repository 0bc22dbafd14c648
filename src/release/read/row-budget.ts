/**
 * The budget every saved image of a budgeted attack must satisfy, taken from the manifest
 * (`config.attack.params.constraints.budget`), and each row held to it on its PNGs: δ = saved image − clean
 * image in 8-bit levels, ‖δ‖∞ ≤ ⌊255·ε⌋ levels under L∞, ‖δ/255‖₂ ≤ ε under L2. generate rounds the saved image
 * so that this holds exactly (src/pipeline/quantized-finish.ts, budgetedLevels); verify recomputes it from the
 * stored bytes rather than trusting the row's own `linf` / `l2` columns.
 */
import { decodePngLevels } from '../../data/decode-image.js';
import { errorMessage } from '../../core/errors.js';
import type { ReleaseManifest } from '../release-manifest.js';
import type { ReleaseRow } from '../release-row.js';

export interface PixelBudget {
  norm: 'linf' | 'l2';
  epsilon: number;
}

/** The manifest's budget, or null when its attack had none (or its config records no parameters). */
export function manifestBudget(manifest: ReleaseManifest): PixelBudget | null {
  const params = (manifest.config as { attack?: { params?: { constraints?: { budget?: unknown } } } } | null)?.attack?.params;
  const budget = params?.constraints?.budget as Partial<PixelBudget> | null | undefined;
  if (!budget || (budget.norm !== 'linf' && budget.norm !== 'l2') || typeof budget.epsilon !== 'number') return null;
  return { norm: budget.norm, epsilon: budget.epsilon };
}

/** ⌊255·ε⌋ with the same allowance for float error in ε·255 as generate's rounding (8/255 · 255 = 7.999…). */
export function budgetLevels(epsilon: number): number {
  return Math.floor(epsilon * 255 + 1e-6);
}

/** Why the row's saved image breaks the budget, or null when it keeps it. */
export async function budgetViolation(row: ReleaseRow, budget: PixelBudget): Promise<string | null> {
  if (!row.cleanImage) {
    // Without the clean image only the row's own measurement is left to check.
    const measured = budget.norm === 'linf' ? row.linf : row.l2;
    const limit = budget.norm === 'linf' ? budgetLevels(budget.epsilon) / 255 : budget.epsilon;
    return measured <= limit * (1 + 1e-9) ? null : `recorded ${budget.norm} ${measured} exceeds ε = ${budget.epsilon} (no clean image stored to measure δ)`;
  }
  let adv: Awaited<ReturnType<typeof decodePngLevels>>;
  let clean: Awaited<ReturnType<typeof decodePngLevels>>;
  try {
    [adv, clean] = await Promise.all([decodePngLevels(row.image, 'image'), decodePngLevels(row.cleanImage, 'clean_image')]);
  } catch (error) {
    return errorMessage(error);
  }
  if (adv.height !== clean.height || adv.width !== clean.width) return `image is ${adv.width}×${adv.height}, clean_image ${clean.width}×${clean.height}`;
  let maxLevels = 0;
  let sumSquares = 0;
  for (let i = 0; i < adv.levels.length; i++) {
    const step = adv.levels[i]! - clean.levels[i]!;
    maxLevels = Math.max(maxLevels, Math.abs(step));
    sumSquares += (step / 255) ** 2;
  }
  if (budget.norm === 'linf') {
    const allowed = budgetLevels(budget.epsilon);
    return maxLevels <= allowed ? null : `‖δ‖∞ is ${maxLevels} levels on the saved PNGs, over ε = ${budget.epsilon} (${allowed} levels)`;
  }
  const l2 = Math.sqrt(sumSquares);
  return l2 <= budget.epsilon * (1 + 1e-12) ? null : `‖δ‖₂ is ${l2} on the saved PNGs, over ε = ${budget.epsilon}`;
}
