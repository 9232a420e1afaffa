import assert from 'node:assert/strict';
import { ValidationError } from '../../../lib/index.js';
import { TokenBucket } from '../../../lib/token-bucket.js';
import { HotKeys } from '../../../lib/writable/hot-keys.js';
import { ShardRateLimiter, resolveRateLimit, type LimitedRecord } from '../../../lib/writable/rate-limiter.js';

interface Rec extends LimitedRecord {
  n: number;
}

const rec = (n: number, shard: string, size = 100, partitionKey = `k${n}`): Rec => ({ n, expectedShardId: shard, size, partitionKey });
const batchLimits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024 };

describe('TokenBucket', () => {
  it('refills at its rate up to one capacity, and leaves a debt for a cost above the capacity', () => {
    const bucket = new TokenBucket(100, 100, 0);
    assert.equal(bucket.canTake(100, 0), true);
    bucket.take(100, 0);
    assert.equal(bucket.canTake(1, 0), false);
    assert.equal(bucket.waitMs(10, 0), 100);
    assert.equal(bucket.available(500), 50);
    assert.equal(bucket.available(10_000), 100, 'never above capacity');
    bucket.take(300, 10_000); // a cost above capacity from a full bucket
    assert.equal(bucket.available(10_000), -200);
    assert.equal(bucket.waitMs(0, 10_000), 2000);
    bucket.empty(12_000);
    assert.equal(bucket.available(12_000), 0);
  });
});

describe('HotKeys', () => {
  it('names a key with more than 1/k of the records, whatever the number of other keys', () => {
    const hot = new HotKeys(4);
    for (let i = 0; i < 1000; i++) hot.add(i % 3 === 0 ? 'hot' : `cold-${i}`);
    const top = hot.top(0.1);
    assert.equal(top[0].partitionKey, 'hot');
    assert.ok(top[0].share >= 1 / 3, String(top[0].share));
    hot.clear();
    assert.deepEqual(hot.top(0), []);
  });
});

describe('ShardRateLimiter', () => {
  it('takes from each shard what its tokens allow and holds the rest; other shards keep flowing', () => {
    let now = 0;
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 100, bytesPerSecond: 1_000_000 }, () => now, 1000);
    for (let n = 0; n < 300; n++) limiter.push(rec(n, 'hot', 100, 'hot-key'));
    for (let n = 300; n < 350; n++) limiter.push(rec(n, 'cold'));
    const first = limiter.take(batchLimits);
    assert.equal(first.filter((r) => r.expectedShardId === 'hot').length, 100, 'one second of the hot shard');
    assert.equal(first.filter((r) => r.expectedShardId === 'cold').length, 50, 'every cold record');
    assert.deepEqual(limiter.take(batchLimits), [], 'the hot shard is out of tokens');
    assert.equal(limiter.waitMs(), 10);
    const [saturated] = limiter.saturated();
    assert.equal(saturated.shardId, 'hot');
    assert.equal(saturated.queued, 200);
    assert.equal(saturated.hotKeys[0].partitionKey, 'hot-key');
    now = 500;
    const later = limiter.take(batchLimits);
    assert.equal(later.length, 50, 'half a second of tokens');
    assert.deepEqual(later.map((r) => r.n), Array.from({ length: 50 }, (_, i) => 100 + i), 'in order within the shard');
  });

  it('limits bytes as well as records; an oversize record goes from a full bucket', () => {
    let now = 0;
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 1000, bytesPerSecond: 1000 }, () => now, 1000);
    for (let n = 0; n < 5; n++) limiter.push(rec(n, 'a', 300));
    assert.equal(limiter.take(batchLimits).length, 3, '1000 bytes a second: three records of 300');
    now = 2000;
    limiter.push(rec(9, 'b', 5000));
    const taken = limiter.take(batchLimits);
    assert.deepEqual(taken.map((r) => r.n).sort(), [3, 4, 9], 'the rest of a, and the oversize record of b from its full bucket');
    limiter.push(rec(10, 'b', 10));
    assert.deepEqual(limiter.take(batchLimits), [], 'b is in debt after the oversize record');
    assert.equal(limiter.waitMs(), 4010, 'the debt and the next record');
  });

  it('a penalized shard backs off alone', () => {
    let now = 0;
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 1000, bytesPerSecond: 1_000_000 }, () => now, 1000);
    limiter.penalize('a', 0); // unknown shard: nothing to do
    limiter.push(rec(1, 'a'));
    limiter.take(batchLimits);
    limiter.penalize('a', 300);
    limiter.unshift([rec(1, 'a')]);
    limiter.push(rec(2, 'b'));
    assert.deepEqual(limiter.take(batchLimits).map((r) => r.n), [2]);
    assert.equal(limiter.waitMs(), 300);
    now = 300;
    assert.deepEqual(limiter.take(batchLimits).map((r) => r.n), [1]);
  });

  it('places records without a key on shards that are not saturated, round robin', () => {
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 10, bytesPerSecond: 1_000_000 }, () => 0, 1000);
    limiter.setOpenShards([
      { shardId: 'a', startingHashKey: '0' },
      { shardId: 'b', startingHashKey: '100' },
    ]);
    assert.deepEqual([limiter.placeKeyless()?.shardId, limiter.placeKeyless()?.shardId, limiter.placeKeyless()?.shardId], ['a', 'b', 'a']);
    for (let n = 0; n < 20; n++) limiter.push(rec(n, 'a'));
    limiter.take(batchLimits); // a is out of tokens now
    assert.deepEqual([limiter.placeKeyless()?.shardId, limiter.placeKeyless()?.shardId], ['b', 'b']);
  });

  it('allows 200 ms of burst by default (the service allows about a second: the rest is a reserve for latency jitter)', () => {
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 1000, bytesPerSecond: 1_000_000 }, () => 0);
    for (let n = 0; n < 500; n++) limiter.push(rec(n, 'a'));
    assert.equal(limiter.take(batchLimits).length, 200);
  });

  it('counts, drains and lists what waits', () => {
    const limiter = new ShardRateLimiter<Rec>('s', { recordsPerSecond: 10, bytesPerSecond: 1_000_000 }, () => 0, 1000);
    limiter.push(rec(1, 'a', 10));
    limiter.push(rec(2, 'b', 20));
    assert.equal(limiter.length, 2);
    assert.equal(limiter.bytes, 30);
    assert.equal(limiter.hasFullBatch({ maxRecords: 2, maxBytes: 100 }), true);
    const seen: number[] = [];
    limiter.forEach((r) => seen.push(r.n));
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(limiter.drain().map((r) => r.n), [1, 2]);
    assert.equal(limiter.length, 0);
    assert.equal(limiter.bytes, 0);
  });

  it('option: true, false or limits; bad values name the field', () => {
    assert.equal(resolveRateLimit(false), undefined);
    assert.deepEqual(resolveRateLimit({ recordsPerSecond: 100, bytesPerSecond: 1000, headroom: 0.5 }), { recordsPerSecond: 50, bytesPerSecond: 500 });
    assert.ok(resolveRateLimit(true) !== undefined);
    for (const [value, field] of [
      ['yes', 'rateLimit'],
      [{ headroom: 1 }, 'rateLimit.headroom'],
      [{ recordsPerSecond: 0 }, 'rateLimit.recordsPerSecond'],
      [{ bytesPerSecond: -1 }, 'rateLimit.bytesPerSecond'],
    ] as const) {
      assert.throws(() => resolveRateLimit(value), (error: unknown) => error instanceof ValidationError && error.field === field);
    }
  });
});
