/**
 * Kinesis hash keys: the 128-bit number that places a record on a shard, the MD5 of its
 * partition key (UTF-8) read big-endian, or its explicit hash key. Kept as 16-byte
 * big-endian buffers so comparisons are Buffer.compare, not BigInt arithmetic.
 */
import { hash } from 'node:crypto';

/** The 16-byte big-endian hash key of a record. */
export function hashKeyOf(partitionKey: string, explicitHashKey?: string): Buffer {
  // One-shot crypto.hash: about a third cheaper per key than createHash().update().digest().
  return explicitHashKey !== undefined ? decimalToHashKey(explicitHashKey) : hash('md5', partitionKey, 'buffer');
}

/** A decimal hash key (as in ListShards' HashKeyRange or an explicit hash key) as 16 bytes. */
export function decimalToHashKey(decimal: string): Buffer {
  let value = BigInt(decimal);
  const out = Buffer.alloc(16);
  for (let i = 15; i >= 0 && value > 0n; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** The decimal form of a 16-byte hash key. */
export function hashKeyToDecimal(hashKey: Buffer): string {
  return BigInt(`0x${hashKey.toString('hex')}`).toString();
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

/**
 * Hash keys of partition keys, remembered: keys repeat (user ids, devices) and an MD5
 * costs about a microsecond. Bounded: cleared when full.
 */
export class HashKeyCache {
  private readonly hashes = new Map<string, Buffer>();

  constructor(private readonly maxSize: number) {}

  /** The hash key of `partitionKey` (MD5), or of `explicitHashKey` when given. */
  of(partitionKey: string, explicitHashKey?: string): Buffer {
    if (explicitHashKey !== undefined) return decimalToHashKey(explicitHashKey);
    let hashKey = this.hashes.get(partitionKey);
    if (hashKey === undefined) {
      if (this.hashes.size >= this.maxSize) this.hashes.clear();
      hashKey = hashKeyOf(partitionKey);
      this.hashes.set(partitionKey, hashKey);
    }
    return hashKey;
  }
}
