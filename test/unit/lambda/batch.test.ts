import assert from 'node:assert/strict';
import { AggregateBuilder, aggregate } from '../../../lib/aggregation/aggregate.js';
import type { Checkpoint } from '../../../lib/checkpoint/store.js';
import { batchItemFailures, entryPosition, planBatch, resumePoint, type BatchPlan } from '../../../lib/lambda/batch.js';
import { parseKinesisEvent } from '../../../lib/lambda/event.js';
import { makeEvent } from '../../helpers/lambda-events.js';

/** One aggregate of `count` user records u0… (keys p0…), data as one Kinesis record. */
function aggregateOf(count: number, prefix = 'u'): Buffer {
  if (count === 0) return new AggregateBuilder().encode();
  const [agg] = aggregate(Array.from({ length: count }, (_, i) => ({ partitionKey: `p${i}`, data: Buffer.from(`${prefix}${i}`) })), { maxBytes: 1024 * 1024 });
  return agg.data;
}

/** Records: plain, aggregate of 3, plain, aggregate of 2. */
function mixedPlan(): { plan: BatchPlan; seq: string[] } {
  const event = makeEvent(['a', aggregateOf(3), 'b', aggregateOf(2, 'v')]);
  const parsed = parseKinesisEvent(event);
  return { plan: planBatch(parsed.records, true), seq: parsed.records.map((r) => r.sequenceNumber) };
}

const at = (sequenceNumber: string, subSequenceNumber?: number): Checkpoint =>
  subSequenceNumber === undefined ? { sequenceNumber } : { sequenceNumber, subSequenceNumber };

describe('lambda/batch', () => {
  describe('planBatch', () => {
    it('splits aggregates with the project codec, numbering sub-records, and keeps plain records whole', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(
        plan.entries.map((e) => [e.recordIndex, e.subSequenceNumber, e.data.toString(), e.partitionKey]),
        [
          [0, undefined, 'a', 'k0'],
          [1, 0, 'u0', 'p0'],
          [1, 1, 'u1', 'p1'],
          [1, 2, 'u2', 'p2'],
          [2, undefined, 'b', 'k2'],
          [3, 0, 'v0', 'p0'],
          [3, 1, 'v1', 'p1'],
        ],
      );
      assert.deepEqual(plan.firstEntry, [0, 1, 4, 5]);
      assert.deepEqual(plan.entryCount, [1, 3, 1, 2]);
      assert.deepEqual(plan.aggregated, [false, true, false, true]);
      assert.deepEqual(entryPosition(plan, 2), at(seq[1], 1));
      assert.deepEqual(entryPosition(plan, 4), at(seq[2]));
    });

    it('keeps explicit hash keys of sub-records', () => {
      const [agg] = aggregate([{ partitionKey: 'a', explicitHashKey: '170141183460469231731687303715884105728', data: Buffer.from('x') }]);
      const plan = planBatch(parseKinesisEvent(makeEvent([agg.data])).records, true);
      assert.equal(plan.entries[0].explicitHashKey, '170141183460469231731687303715884105728');
    });

    it('delivers a corrupt aggregate whole, and aggregates whole with deaggregate: false', () => {
      const corrupt = aggregateOf(3);
      corrupt[corrupt.length - 20] ^= 0xff; // breaks the MD5 trailer check
      const parsed = parseKinesisEvent(makeEvent([corrupt, aggregateOf(2)]));
      const plan = planBatch(parsed.records, true);
      assert.deepEqual(plan.corrupt, [0]);
      assert.equal(plan.entries[0].subSequenceNumber, undefined);
      assert.ok(plan.entries[0].data.equals(corrupt));
      assert.equal(plan.entries.length, 3);
      const whole = planBatch(parsed.records, false);
      assert.equal(whole.entries.length, 2);
      assert.ok(whole.entries.every((e) => e.subSequenceNumber === undefined));
    });

    it('gives an aggregate without user records no entries', () => {
      const plan = planBatch(parseKinesisEvent(makeEvent(['a', aggregateOf(0)])).records, true);
      assert.deepEqual(plan.entryCount, [1, 0]);
    });
  });

  describe('batchItemFailures', () => {
    it('names the first record when nothing is done, none when all is done', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(batchItemFailures(plan, undefined), [{ itemIdentifier: seq[0] }]);
      assert.deepEqual(batchItemFailures(plan, at(seq[3], 1)), []);
      assert.deepEqual(batchItemFailures(plan, at(seq[3])), []);
    });

    it('names the record after the last done one', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(batchItemFailures(plan, at(seq[0])), [{ itemIdentifier: seq[1] }]);
      assert.deepEqual(batchItemFailures(plan, at(seq[2])), [{ itemIdentifier: seq[3] }]);
    });

    it('names an aggregate whole while any of its user records is not done', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(batchItemFailures(plan, at(seq[1], 0)), [{ itemIdentifier: seq[1] }]);
      assert.deepEqual(batchItemFailures(plan, at(seq[1], 1)), [{ itemIdentifier: seq[1] }]);
      // Its last user record done: the aggregate is done.
      assert.deepEqual(batchItemFailures(plan, at(seq[1], 2)), [{ itemIdentifier: seq[2] }]);
    });

    it('passes over aggregates without user records', () => {
      const parsed = parseKinesisEvent(makeEvent(['a', aggregateOf(0), 'b', aggregateOf(0)]));
      const plan = planBatch(parsed.records, true);
      const seq = parsed.records.map((r) => r.sequenceNumber);
      assert.deepEqual(batchItemFailures(plan, at(seq[0])), [{ itemIdentifier: seq[2] }]);
      assert.deepEqual(batchItemFailures(plan, at(seq[2])), []);
    });

    it('is empty for an empty batch', () => {
      assert.deepEqual(batchItemFailures(planBatch([], true), undefined), []);
    });
  });

  describe('resumePoint', () => {
    it('starts at the beginning without a stored checkpoint or with one of another batch', () => {
      const { plan } = mixedPlan();
      assert.deepEqual(resumePoint(plan, undefined), { start: 0, done: undefined });
      assert.deepEqual(resumePoint(plan, at('1')), { start: 0, done: undefined });
      assert.deepEqual(resumePoint(plan, at('99999999999999999999999999999999999999999999999999999999999', 3)), { start: 0, done: undefined });
    });

    it('skips the done user records of an aggregate and everything before it', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(resumePoint(plan, at(seq[1], 0)), { start: 2, done: at(seq[1], 0) });
      assert.deepEqual(resumePoint(plan, at(seq[1], 1)), { start: 3, done: at(seq[1], 1) });
      assert.deepEqual(resumePoint(plan, at(seq[1], 2)), { start: 4, done: at(seq[1], 2) });
      assert.deepEqual(resumePoint(plan, at(seq[1], 9)), { start: 4, done: at(seq[1], 9) });
      assert.deepEqual(resumePoint(plan, at(seq[1])), { start: 4, done: at(seq[1]) });
    });

    it('skips a whole record checkpointed with or without a sub-sequence number (KCL stores 0)', () => {
      const { plan, seq } = mixedPlan();
      assert.deepEqual(resumePoint(plan, at(seq[2])), { start: 5, done: at(seq[2]) });
      assert.deepEqual(resumePoint(plan, at(seq[2], 0)), { start: 5, done: at(seq[2]) });
    });

    it('agrees with batchItemFailures: a resumed batch with nothing new done names the same record', () => {
      const { plan, seq } = mixedPlan();
      const { done } = resumePoint(plan, at(seq[1], 1));
      assert.deepEqual(batchItemFailures(plan, done), [{ itemIdentifier: seq[1] }]);
      assert.deepEqual(batchItemFailures(plan, resumePoint(plan, at(seq[3], 1)).done), []);
    });
  });
});
