/**
 * Option checks shared by both streams: each throws a ValidationError naming the option.
 */
import { ValidationError } from './errors.js';

/** `value` if it is an integer ≥ 1 (and ≤ max), else a ValidationError for `field`. */
export function positiveInteger(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(field, `must be a positive integer, got ${describeValue(value)}`);
  }
  if (value > max) throw new ValidationError(field, `must be at most ${max}, got ${value}`);
  return value;
}

/** `value` if it is a finite number ≥ 0, else a ValidationError for `field`. */
export function nonNegativeNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(field, `must be a non-negative number, got ${describeValue(value)}`);
  }
  return value;
}

/** `value` if it is a boolean, else a ValidationError for `field`. */
export function booleanOption(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, `must be a boolean, got ${describeValue(value)}`);
  return value;
}

/** `value` if it is a non-empty string, else a ValidationError for `field`. */
export function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(field, `must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** `value` if it is a function or undefined, else a ValidationError for `field`. */
export function optionalFunction<F>(value: unknown, field: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new ValidationError(field, `must be a function, got ${describeValue(value)}`);
  }
  return value as F | undefined;
}

/** A short, payload-free description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 64 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object`;
}
