/**
 * The one checker for user-written settings: attack presets, target configs, experiment configs, detector
 * options and numeric command-line flags. Each check returns the typed value or throws a UserError that names
 * where the setting came from, the field, the rule and the value given.
 */
import { UserError } from './errors.js';

export interface NumberRule {
  /** value ≥ min */
  min?: number;
  /** value > above */
  above?: number;
  /** value ≤ max */
  max?: number;
  integer?: boolean;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConfigChecker {
  /**
   * @param origin where the settings came from (a file path, "detector 'knn'"); null for command-line flags,
   *   whose field names (--batch) say enough.
   */
  constructor(readonly origin: string | null) {}

  fail(field: string, problem: string): never {
    throw new UserError(this.origin === null ? `${field} ${problem}` : `${this.origin}: '${field}' ${problem}`);
  }

  /** An object whose keys are all in `allowed` (a typo is an error, never silently ignored). */
  fields(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (!isPlainObject(value)) this.fail(field || 'the config', 'must be an object');
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(field ? `${field}.${key}` : key, `is not a known field (known: ${allowed.join(', ')})`);
    }
    return value;
  }

  number(value: unknown, field: string, rule: NumberRule = {}): number {
    // String() for numbers: JSON.stringify writes NaN and ±Infinity as null.
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, `must be a finite number, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
    if (rule.integer && !Number.isInteger(value)) this.fail(field, `must be an integer, got ${value}`);
    if (rule.min !== undefined && value < rule.min) this.fail(field, `must be ≥ ${rule.min}, got ${value}`);
    if (rule.above !== undefined && value <= rule.above) this.fail(field, `must be > ${rule.above}, got ${value}`);
    if (rule.max !== undefined && value > rule.max) this.fail(field, `must be ≤ ${rule.max}, got ${value}`);
    return value;
  }

  /** A number given as a number or as its text ('k=5' in a detector spec). */
  numberOrText(value: unknown, field: string, rule: NumberRule = {}): number {
    if (typeof value === 'string') {
      const parsed = value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(parsed)) this.fail(field, `must be ${rule.integer ? 'an integer' : 'a number'}, got '${value}'`);
      return this.number(parsed, field, rule);
    }
    return this.number(value, field, rule);
  }

  /** `number` for a value that may be absent (undefined passes through). */
  optionalNumber(value: unknown, field: string, rule: NumberRule = {}): number | undefined {
    return value === undefined ? undefined : this.number(value, field, rule);
  }

  oneOf<T extends string>(value: unknown, field: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !options.includes(value as T)) {
      this.fail(field, `must be one of ${options.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') this.fail(field, 'must be a non-empty string');
    return value;
  }
}

/** Numeric command-line flags: `checkFlags.number(args.batch, '--batch', { min: 1, integer: true })`. */
export const checkFlags = new ConfigChecker(null);
