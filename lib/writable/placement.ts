/**
 * Which shard a rate-limited plain record is queued for. A record goes where Kinesis will
 * put it: the shard its partition key's MD5 (or its explicit hash key) lands on. A record
 * written without a key keeps its random key while that key's shard has room, and only
 * when that shard is saturated moves to one with room, by an explicit hash key: the
 * ExplicitHashKey field adds ~60 bytes to the entry's JSON, which cost more in the SDK
 * (serialising, signing) than the MD5 (measured at 100 B: ~1 µs against ~0.5 µs a record).
 * Pure logic, no I/O.
 */
import { hashKeyHex } from '../aggregation/hash-key.js';
import type { ShardRateLimiter } from './rate-limiter.js';
import type { PendingRecord } from './record.js';
import type { ShardMap } from './shard-map.js';

/** Sets `record.expectedShardId` (and, to move a keyless record, its explicit hash key). */
export function planShard<T>(record: PendingRecord<T>, map: ShardMap, limiter: ShardRateLimiter<PendingRecord<T>>): void {
  const entry = record.entry;
  if (!record.keyless || entry.ExplicitHashKey !== undefined) {
    record.expectedShardId = map.shardOfKey(record.partitionKey, entry.ExplicitHashKey);
    return;
  }
  // A random key is used once: not worth remembering.
  const own = map.shardForHex(hashKeyHex(record.partitionKey));
  const place = own === undefined || limiter.isSaturated(own) ? limiter.placeKeyless() : undefined;
  if (place === undefined) {
    record.expectedShardId = own;
  } else {
    entry.ExplicitHashKey = place.startingHashKey;
    record.expectedShardId = place.shardId;
  }
}
