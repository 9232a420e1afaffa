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

  it('a record without a key goes to the next shard with room, round robin, under a key that lands there by its own MD5', () => {
    const limiter = new ShardRateLimiter<PendingRecord<unknown>>('s', { recordsPerSecond: 10, bytesPerSecond: 1e9 }, () => 0, 1000);
    limiter.setOpenShards(map.openShards());
    const placed = [0, 1, 2].map((n) => {
      const r = record(Buffer.from('x'), n);
      planShard(r, map, limiter);
      assert.equal(r.keyless, true);
      assert.equal(r.entry.ExplicitHashKey, undefined, 'nothing more on the wire than a random key');
      const key = r.entry.PartitionKey as string;
      assert.equal(key.length, 10, 'the length the writer budgeted for a random key');
      assert.equal(shardOfHex(hashKeyHex(key)), r.expectedShardId);
      return r.expectedShardId;
    });
    assert.deepEqual(placed, ['low', 'high', 'low']);
  });

  it('falls back to an explicit hash key for a shard too narrow to find a key for', () => {
    // One hash key wide: no random key can be expected to land on it.
    const narrow = new ShardMap([
      { shardId: 'wide', start: '0', end: (2n ** 128n - 2n).toString(), open: true },
      { shardId: 'narrow', start: (2n ** 128n - 1n).toString(), end: (2n ** 128n - 1n).toString(), open: true },
    ]);
    assert.notEqual(narrow.keyFor('wide'), undefined);
    assert.equal(narrow.keyFor('narrow'), undefined);
    const limiter = new ShardRateLimiter<PendingRecord<unknown>>('s', { recordsPerSecond: 10, bytesPerSecond: 1e9 }, () => 0, 1000);
    limiter.setOpenShards(narrow.openShards());
    const placed = [0, 1].map((n) => {
      const r = record(Buffer.from('x'), n);
      planShard(r, narrow, limiter);
      return [r.expectedShardId, r.entry.ExplicitHashKey];
    });
    assert.deepEqual(placed, [
      ['wide', undefined],
      ['narrow', (2n ** 128n - 1n).toString()],
    ]);
  });
});
