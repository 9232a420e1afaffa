import assert from 'node:assert/strict';
import { RecordQueue, type QueuedRecord } from '../../../lib/writable/batcher.js';

interface R extends QueuedRecord {
  n: number;
}

function rec(n: number, size = 10, partitionKey = `k${n}`): R {
  return { n, size, partitionKey };
}

function fill(count: number, make: (n: number) => R = (n) => rec(n)): RecordQueue<R> {
  const queue = new RecordQueue<R>();
  for (let n = 0; n < count; n++) queue.push(make(n));
  return queue;
}

describe('RecordQueue', () => {
  const limits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024 };

  it('moveInto appends to a batch in order within the record and byte limits, at least one record', () => {
    const queue = fill(10, (n) => rec(n, n === 3 ? 100 : 10));
    const batch = [rec(-1)];
    assert.equal(queue.moveInto(batch, 2, 1000), 20);
    assert.deepEqual(batch.map((r) => r.n), [-1, 0, 1]);
    assert.equal(queue.moveInto(batch, 10, 15), 10); // 2 fits, 3 (100 bytes) would not
    assert.equal(queue.moveInto(batch, 10, 15), 100); // a record over the budget still goes alone
    assert.deepEqual(batch.map((r) => r.n), [-1, 0, 1, 2, 3]);
    assert.equal(queue.length, 6);
    assert.equal(queue.bytes, 60);
  });

  it('cuts exactly 500 records, then the rest', () => {
    const queue = fill(1001);
    assert.equal(queue.hasFullBatch(limits), true);
    assert.deepEqual(queue.take(limits).map((r) => r.n), Array.from({ length: 500 }, (_, i) => i));
    assert.equal(queue.take(limits).length, 500);
    assert.equal(queue.hasFullBatch(limits), false);
    assert.deepEqual(queue.take(limits).map((r) => r.n), [1000]);
    assert.equal(queue.length, 0);
    assert.equal(queue.bytes, 0);
  });

  it('a queue of exactly 500 is a full batch, 499 is not', () => {
    assert.equal(fill(499).hasFullBatch(limits), false);
    assert.equal(fill(500).hasFullBatch(limits), true);
  });

  it('respects the byte budget, counting what the caller sized (data + key)', () => {
    const queue = fill(10, (n) => rec(n, 300));
    const batch = queue.take({ maxRecords: 500, maxBytes: 1000 });
    assert.deepEqual(batch.map((r) => r.n), [0, 1, 2]);
    assert.equal(queue.bytes, 7 * 300);
    assert.equal(queue.hasFullBatch({ maxRecords: 500, maxBytes: 1000 }), true);
  });

  it('a batch exactly at the byte budget takes every record that fits', () => {
    const queue = fill(4, (n) => rec(n, 250));
    assert.equal(queue.take({ maxRecords: 500, maxBytes: 1000 }).length, 4);
  });

  it('a single record at the size limit still goes alone', () => {
    const queue = new RecordQueue<R>();
    queue.push(rec(0, 1000));
    queue.push(rec(1, 1000));
    assert.deepEqual(queue.take({ maxRecords: 500, maxBytes: 1000 }).map((r) => r.n), [0]);
    assert.deepEqual(queue.take({ maxRecords: 500, maxBytes: 1000 }).map((r) => r.n), [1]);
  });

  it('puts retried records back in front, in their order', () => {
    const queue = fill(5);
    const first = queue.take({ maxRecords: 3, maxBytes: 1e9 });
    queue.unshift([first[0], first[2]]);
    assert.deepEqual(queue.take(limits).map((r) => r.n), [0, 2, 3, 4]);
  });

  it('with blocked keys takes one record per key and never lets a later record overtake', () => {
    const keys = ['a', 'b', 'a', 'c', 'b', 'd'];
    const queue = fill(keys.length, (n) => rec(n, 10, keys[n]));
    const batch = queue.take(limits, new Set(['c']));
    assert.deepEqual(batch.map((r) => r.n), [0, 1, 5]); // a, b, d; c is in flight
    assert.deepEqual(queue.take(limits, new Set()).map((r) => r.n), [2, 3, 4]);
    assert.equal(queue.length, 0);
  });

  it('with blocked keys, a record that does not fit blocks the later records of its key', () => {
    const queue = new RecordQueue<R>();
    queue.push(rec(0, 600, 'a'));
    queue.push(rec(1, 600, 'b'));
    queue.push(rec(2, 10, 'b'));
    queue.push(rec(3, 10, 'c'));
    const batch = queue.take({ maxRecords: 500, maxBytes: 1000 }, new Set());
    assert.deepEqual(batch.map((r) => r.n), [0, 3]);
    assert.deepEqual(queue.drain().map((r) => r.n), [1, 2]);
  });

  it('drain empties the queue', () => {
    const queue = fill(3);
    queue.take({ maxRecords: 1, maxBytes: 1e9 });
    assert.deepEqual(queue.drain().map((r) => r.n), [1, 2]);
    assert.equal(queue.length, 0);
    assert.equal(queue.bytes, 0);
  });

  it('stays correct across compaction of a long queue', () => {
    const queue = fill(5000);
    const seen: number[] = [];
    while (queue.length > 0) for (const r of queue.take({ maxRecords: 7, maxBytes: 1e9 })) seen.push(r.n);
    assert.deepEqual(seen, Array.from({ length: 5000 }, (_, i) => i));
  });
});
