/**
 * Kinesis hash keys: the 128-bit number that places a record on a shard, the MD5 of its
 * partition key (UTF-8) read big-endian, or its explicit hash key. Two forms:
 * 16-byte big-endian Buffers (compared with Buffer.compare), and 32 lowercase hex digits,
 * which compare as strings exactly as the numbers do and cost far less to make: the
 * writer's per-record placement uses the hex form.
 */
import { hash } from 'node:crypto';

/** Hex digits of a hash key. */
const HEX_DIGITS = 32;

/**
 * The hash key of a record as 32 lowercase hex digits: MD5 of the partition key, or the
 * explicit hash key. Same-length hex strings order like the numbers they spell.
 */
export function hashKeyHex(partitionKey: string, explicitHashKey?: string): string {
  // One-shot crypto.hash with a hex digest: a Buffer digest costs 2-3x more (measured 0.6 vs 1.5-2.5 µs).
  return explicitHashKey !== undefined ? decimalToHex(explicitHashKey) : hash('md5', partitionKey, 'hex');
}

/** A decimal hash key (ListShards' HashKeyRange, an explicit hash key) as 32 hex digits. */
export function decimalToHex(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(HEX_DIGITS, '0');
}

/** The decimal form of a hex hash key. */
export function hexToDecimal(hex: string): string {
  return BigInt(`0x${hex}`).toString();
}

/** The 16-byte big-endian hash key of a record. */
export function hashKeyOf(partitionKey: string, explicitHashKey?: string): Buffer {
  return Buffer.from(hashKeyHex(partitionKey, explicitHashKey), 'hex');
}

/** A decimal hash key (as in ListShards' HashKeyRange or an explicit hash key) as 16 bytes. */
export function decimalToHashKey(decimal: string): Buffer {
  return Buffer.from(decimalToHex(decimal), 'hex');
}

/** The decimal form of a 16-byte hash key. */
export function hashKeyToDecimal(hashKey: Buffer): string {
  return hexToDecimal(hashKey.toString('hex'));
}

/** An inclusive hash key range. */
export interface HashKeyRange {
  start: Buffer;
  end: Buffer;
}

/** True when `hashKey` lies in `range`. */
export function inRange(hashKey: Buffer, range: HashKeyRange): boolean {
  return Buffer.compare(hashKey, range.start) >= 0 && Buffer.compare(hashKey, range.end) <= 0;
}
