/**
 * Partition keys and explicit hash keys: defaults and the service's rules for them.
 */
import { ValidationError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { describeValue } from '../options.js';

const EXPLICIT_HASH_KEY_PATTERN = /^(0|[1-9]\d{0,38})$/;

/** Characters of random partition keys: 32 of them, so 5 random bits pick one. */
const KEY_ALPHABET = Array.from('0123456789abcdefghijklmnopqrstuv', (c) => c.charCodeAt(0));

/** Length of a random partition key: 10 ASCII characters, 10 bytes. */
export const RANDOM_KEY_LENGTH = 10;

/**
 * A random partition key: 10 base-32 characters (50 random bits), enough for an even
 * MD5 spread over any number of shards, and short because keys count against the byte
 * budget. Built with one String.fromCharCode call: Number#toString(36) costs ~20× more.
 */
export function randomPartitionKey(): string {
  const high = (Math.random() * 0x2000000) | 0; // 25 bits
  const low = (Math.random() * 0x2000000) | 0;
  const a = KEY_ALPHABET;
  return String.fromCharCode(
    a[high & 31], a[(high >>> 5) & 31], a[(high >>> 10) & 31], a[(high >>> 15) & 31], a[(high >>> 20) & 31],
    a[low & 31], a[(low >>> 5) & 31], a[(low >>> 10) & 31], a[(low >>> 15) & 31], a[(low >>> 20) & 31],
  );
}

/** `key` if it is a valid partition key (1–256 Unicode characters), else a ValidationError for `field`. */
export function validatePartitionKey(key: unknown, field: string): string {
  if (typeof key !== 'string') {
    throw new ValidationError(field, `partition key must be a string, got ${describeValue(key)}`);
  }
  // UTF-16 length bounds the code point count from above, so count code points only when it matters.
  const chars = key.length > LIMITS.partitionKeyMaxChars ? codePointCount(key) : key.length;
  if (chars < LIMITS.partitionKeyMinChars) throw new ValidationError(field, 'partition key must not be empty');
  if (chars > LIMITS.partitionKeyMaxChars) {
    throw new ValidationError(field, `partition key has ${chars} characters, more than ${LIMITS.partitionKeyMaxChars}`);
  }
  return key;
}

/** `key` if it is a decimal integer in [0, 2^128), else a ValidationError for `field`. */
export function validateExplicitHashKey(key: unknown, field: string): string {
  if (typeof key !== 'string' || !EXPLICIT_HASH_KEY_PATTERN.test(key) || BigInt(key) > LIMITS.explicitHashKeyMax) {
    throw new ValidationError(field, `explicit hash key must be a decimal integer in [0, 2^128), got ${describeValue(key)}`);
  }
  return key;
}

function codePointCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
