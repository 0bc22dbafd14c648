/**
 * The names of the target strategies: the one list that presets, `--target-strategy`, the release's
 * target_strategy column and the strategy registry (attacks/registry.ts) all take their names from.
 */
export const TARGET_STRATEGY_NAMES = ['sample', 'prototype', 'nearest-prototype', 'text'] as const;
export type TargetStrategyName = (typeof TARGET_STRATEGY_NAMES)[number];
