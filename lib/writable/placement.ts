/**
 * Which shard a rate-limited plain record is queued for: the shard its partition key's
 * MD5 (or its explicit hash key) lands on. A record written without a key goes to the
 * next shard with room, round robin, under a partition key known to land there (one per
 * shard, found once by the shard map: ShardMap.keyFor), so its entry carries no more
 * than the random key it would have had; an explicit hash key is the fallback for a shard
 * too narrow to find a key for. (Tried before: an explicit hash key for every such record,
 * ~40 more bytes an entry to serialise, sign and send; and keeping the record's own random
 * key while its shard has room, an MD5 a record.) Pure logic.
 */
import type { ShardRateLimiter } from './rate-limiter.js';
import type { PendingRecord } from './record.js';
import type { ShardMap } from './shard-map.js';

/** Sets `record.expectedShardId` (and, for a record without a key, its explicit hash key). */
export function planShard<T>(record: PendingRecord<T>, map: ShardMap, limiter: ShardRateLimiter<PendingRecord<T>>): void {
  const entry = record.entry;
  const place = record.keyless && entry.ExplicitHashKey === undefined ? limiter.placeKeyless() : undefined;
  if (place === undefined) {
    record.expectedShardId = map.shardOfKey(record.partitionKey, entry.ExplicitHashKey);
  } else {
    // A key that lands there by its own MD5 puts nothing more on the wire than the raw
    // SDK would; an explicit hash key (~40 more bytes an entry) only for a shard too narrow to find one.
    const key = map.keyFor(place.shardId);
    if (key !== undefined) entry.PartitionKey = key;
    else entry.ExplicitHashKey = place.startingHashKey;
    record.expectedShardId = place.shardId;
  }
}
