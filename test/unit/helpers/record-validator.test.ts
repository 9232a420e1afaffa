import assert from 'node:assert/strict';
import { RecordValidator } from '../../helpers/record-validator.js';

const rec = (key: string, n: number) => ({ key, n });

describe('RecordValidator (test helper)', () => {
  it('accepts an exactly-once, per-key ordered delivery interleaved across keys', () => {
    const v = new RecordValidator().expect([rec('a', 1), rec('b', 2), rec('a', 3), rec('b', 4)]);
    v.deliver([rec('b', 2), rec('a', 1), rec('b', 4), rec('a', 3)]);
    const r = v.report();
    assert.equal(r.exactlyOnceInOrder, true, v.summary());
    assert.deepEqual([r.expected, r.delivered, r.distinct, r.duplicates], [4, 4, 4, 0]);
  });

  it('reports missing, duplicates, unexpected records and order violations among first deliveries', () => {
    const v = new RecordValidator().expect([rec('a', 1), rec('a', 2), rec('a', 3), rec('b', 1), rec('b', 2)]);
    // a/1 again after a/2 is a duplicate, not an order violation; b/1 first seen after b/2 is one.
    v.deliver([rec('a', 1), rec('a', 2), rec('a', 1), rec('a', 1), rec('b', 2), rec('b', 1), rec('c', 9)]);
    const r = v.report();
    assert.deepEqual(r.missing, [rec('a', 3)]);
    assert.equal(r.duplicates, 2);
    assert.deepEqual(r.duplicated, [{ key: 'a', n: 1, count: 3 }]);
    assert.deepEqual(r.orderViolations, [{ key: 'b', n: 1, after: 2 }]);
    assert.deepEqual(r.unexpected, [rec('c', 9)]);
    assert.equal(r.exactlyOnceInOrder, false);
    const summary = v.summary();
    for (const part of ['1 missing', '2 duplicate deliveries of 1 record(s)', '1 order violation', '1 unexpected', 'a/3', 'a/1×3', 'b/1 after 2', 'c/9']) {
      assert.ok(summary.includes(part), `${JSON.stringify(part)} in:\n${summary}`);
    }
  });

  it('judges order by the expected sequence of a key, not by n, and refuses a record expected twice', () => {
    const v = new RecordValidator().expect([rec('k', 10), rec('k', 5)]);
    v.deliver([rec('k', 10), rec('k', 5)]);
    assert.equal(v.report().exactlyOnceInOrder, true, v.summary());
    assert.throws(() => new RecordValidator().expect([rec('k', 1), { key: 'k', n: 1 }]), /expected twice/);
  });
});
