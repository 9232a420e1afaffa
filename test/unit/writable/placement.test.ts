import assert from 'node:assert/strict';
import { decimalToHex, hashKeyHex } from '../../../lib/aggregation/hash-key.js';
import { resolveOptions } from '../../../lib/writable/writable-options.js';
import { planShard } from '../../../lib/writable/placement.js';
import { ShardRateLimiter } from '../../../lib/writable/rate-limiter.js';
import { toPendingRecord, type PendingRecord } from '../../../lib/writable/record.js';
import { ShardMap } from '../../../lib/writable/shard-map.js';

const HALF = 2n ** 127n;
const map = new ShardMap([
  { shardId: 'low', start: '0', end: (HALF - 1n).toString(), open: true },
  { shardId: 'high', start: HALF.toString(), end: (2n ** 128n - 1n).toString(), open: true },
]);
const shardOfHex = (hex: string): string => (hex < decimalToHex(HALF.toString()) ? 'low' : 'high');

function record(item: unknown, id: number): PendingRecord<unknown> {
  return toPendingRecord(item, id, resolveOptions<unknown>({ streamName: 's' }).rules);
}

describe('planShard', () => {
  it('queues a record for the shard its partition key or explicit hash key lands on', () => {
    const limiter = new ShardRateLimiter<PendingRecord<unknown>>('s', { recordsPerSecond: 10, bytesPerSecond: 1e9 }, () => 0, 1000);
    limiter.setOpenShards(map.openShards());
    const keyed = record({ data: 'x', partitionKey: 'user-1' }, 0);
    planShard(keyed, map, limiter);
    assert.equal(keyed.expectedShardId, shardOfHex(hashKeyHex('user-1')));
    assert.equal(keyed.entry.ExplicitHashKey, undefined);
    const explicit = record({ data: 'x', partitionKey: 'user-1', explicitHashKey: '1' }, 1);
    planShard(explicit, map, limiter);
    assert.equal(explicit.expectedShardId, 'low');
  });

  it('a record without a key goes to the next shard with room, round robin, by an explicit hash key', () => {
    const limiter = new ShardRateLimiter<PendingRecord<unknown>>('s', { recordsPerSecond: 10, bytesPerSecond: 1e9 }, () => 0, 1000);
    limiter.setOpenShards(map.openShards());
    const placed = [0, 1, 2].map((n) => {
      const r = record(Buffer.from('x'), n);
      planShard(r, map, limiter);
      assert.equal(r.keyless, true);
      assert.equal(r.entry.ExplicitHashKey, map.openShards().find((s) => s.shardId === r.expectedShardId)?.startingHashKey);
      return r.expectedShardId;
    });
    assert.deepEqual(placed, ['low', 'high', 'low']);
  });
});
