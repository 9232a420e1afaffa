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

  it('a record without a key keeps its random key while its shard has room, and moves by an explicit hash key once that shard is saturated', () => {
    const now = 0;
    const limiter = new ShardRateLimiter<PendingRecord<unknown>>('s', { recordsPerSecond: 10, bytesPerSecond: 1e9 }, () => now, 1000);
    limiter.setOpenShards(map.openShards());
    const first = record(Buffer.from('x'), 0);
    planShard(first, map, limiter);
    assert.equal(first.keyless, true);
    assert.equal(first.entry.ExplicitHashKey, undefined, 'no explicit hash key: ~60 bytes saved per entry');
    assert.equal(first.expectedShardId, shardOfHex(hashKeyHex(first.partitionKey)));
    // Saturate the first record's shard: more records than its tokens, one take.
    const hot = first.expectedShardId as string;
    limiter.push(first);
    for (let n = 1; n <= 20; n++) {
      const r = record({ data: 'x', partitionKey: 'k' }, n);
      r.expectedShardId = hot;
      limiter.push(r);
    }
    limiter.take({ maxRecords: 500, maxBytes: 1e9 });
    assert.equal(limiter.isSaturated(hot), true);
    // Keyless records whose key lands on the saturated shard go to the other one.
    const cold = hot === 'low' ? 'high' : 'low';
    let moved = 0;
    for (let n = 100; n < 140; n++) {
      const r = record(Buffer.from('x'), n);
      const own = shardOfHex(hashKeyHex(r.partitionKey));
      planShard(r, map, limiter);
      assert.equal(r.expectedShardId, cold);
      if (own === hot) {
        moved++;
        assert.equal(r.entry.ExplicitHashKey, map.openShards().find((s) => s.shardId === cold)?.startingHashKey);
      } else {
        assert.equal(r.entry.ExplicitHashKey, undefined);
      }
    }
    assert.ok(moved > 0);
  });
});
