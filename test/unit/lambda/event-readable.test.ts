import assert from 'node:assert/strict';
import type { KinesisStreamEvent } from 'aws-lambda';
import { aggregate } from '../../../lib/aggregation/aggregate.js';
import {
  CheckpointError,
  DecodeError,
  KinesisEventReadable,
  MemoryCheckpointStore,
  ValidationError,
  kinesisEventReadable,
  type Checkpoint,
  type CheckpointStore,
  type KinesisRecord,
} from '../../../lib/index.js';
import { makeEvent } from '../../helpers/lambda-events.js';

function aggregateOf(keysAndData: Array<[string, string]>): Buffer {
  return aggregate(keysAndData.map(([partitionKey, data]) => ({ partitionKey, data: Buffer.from(data) })), { maxBytes: 1024 * 1024 })[0].data;
}

/** plain 'a', aggregate [x0, x1, x2], plain 'b'. */
function mixedEvent(): KinesisStreamEvent {
  return makeEvent(['a', aggregateOf([['p0', 'x0'], ['p1', 'x1'], ['p2', 'x2']]), 'b'], { streamName: 'orders', shardId: 'shardId-000000000003' });
}

async function readAll<T>(records: KinesisEventReadable<T>): Promise<Array<KinesisRecord<T>>> {
  const out: Array<KinesisRecord<T>> = [];
  for await (const record of records) out.push(record);
  return out;
}

/** Reads `count` records one by one, leaving the stream open. */
async function take<T>(records: KinesisEventReadable<T>, count: number): Promise<Array<KinesisRecord<T>>> {
  const out: Array<KinesisRecord<T>> = [];
  const iterator = records[Symbol.asyncIterator]();
  while (out.length < count) {
    const { value, done } = await iterator.next();
    assert.ok(!done, 'the stream has enough records');
    out.push(value);
  }
  return out;
}

function seqOf(event: KinesisStreamEvent, index: number): string {
  return event.Records[index].kinesis.sequenceNumber;
}

/** A store that counts its calls and can be made to fail. */
class CountingStore implements CheckpointStore {
  readonly inner = new MemoryCheckpointStore();
  sets: Array<{ stream: string; shardId: string; checkpoint: Checkpoint }> = [];
  gets = 0;
  failSet = false;
  failGet = false;
  async get(stream: string, shardId: string): Promise<Checkpoint | undefined> {
    this.gets++;
    if (this.failGet) throw new Error('store unavailable');
    return this.inner.get(stream, shardId);
  }
  async set(stream: string, shardId: string, checkpoint: Checkpoint): Promise<void> {
    this.sets.push({ stream, shardId, checkpoint });
    if (this.failSet) throw new Error('store unavailable');
    await this.inner.set(stream, shardId, checkpoint);
  }
}

describe('lambda/event-readable: kinesisEventReadable', () => {
  it('yields the records createKinesisReadable would: plain records whole, aggregates split', async () => {
    const event = mixedEvent();
    const records = await readAll(kinesisEventReadable(event));
    const arrival = (i: number) => new Date(event.Records[i].kinesis.approximateArrivalTimestamp * 1000);
    const base = { streamName: 'orders', shardId: 'shardId-000000000003' };
    assert.deepEqual(records, [
      { ...base, data: Buffer.from('a'), partitionKey: 'k0', sequenceNumber: seqOf(event, 0), approximateArrivalTimestamp: arrival(0) },
      { ...base, data: Buffer.from('x0'), partitionKey: 'p0', sequenceNumber: seqOf(event, 1), subSequenceNumber: 0, approximateArrivalTimestamp: arrival(1) },
      { ...base, data: Buffer.from('x1'), partitionKey: 'p1', sequenceNumber: seqOf(event, 1), subSequenceNumber: 1, approximateArrivalTimestamp: arrival(1) },
      { ...base, data: Buffer.from('x2'), partitionKey: 'p2', sequenceNumber: seqOf(event, 1), subSequenceNumber: 2, approximateArrivalTimestamp: arrival(1) },
      { ...base, data: Buffer.from('b'), partitionKey: 'k2', sequenceNumber: seqOf(event, 2), approximateArrivalTimestamp: arrival(2) },
    ]);
  });

  it("decodes with the reader's decode option: 'string', 'json' and a function with the record's meta", async () => {
    const event = makeEvent(['{"n":1}', '{"n":2}']);
    assert.deepEqual((await readAll(kinesisEventReadable(event, { decode: 'string' }))).map((r) => r.data), ['{"n":1}', '{"n":2}']);
    assert.deepEqual((await readAll(kinesisEventReadable(event, { decode: 'json' }))).map((r) => r.data), [{ n: 1 }, { n: 2 }]);
    const metas: unknown[] = [];
    const decoded = await readAll(
      kinesisEventReadable(event, {
        decode: (data, meta) => {
          metas.push(meta);
          return data.length;
        },
      }),
    );
    assert.deepEqual(decoded.map((r) => r.data), [7, 7]);
    assert.deepEqual(metas[1], { streamName: 'orders', shardId: 'shardId-000000000000', sequenceNumber: seqOf(event, 1), partitionKey: 'k1' });
  });

  it('keeps aggregates whole with deaggregate: false', async () => {
    const records = await readAll(kinesisEventReadable(mixedEvent(), { deaggregate: false }));
    assert.equal(records.length, 3);
    assert.ok(records.every((r) => r.subSequenceNumber === undefined));
  });

  it('stops at a record that cannot be decoded, after delivering every record before it, and names it', async () => {
    const event = makeEvent(['{"n":1}', '{"n":2}', 'not json', '{"n":4}']);
    const records = kinesisEventReadable(event, { decode: 'json' });
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const record of records) {
          seen.push(record.data);
          await records.checkpoint(record);
        }
      })(),
      (error: unknown) => error instanceof DecodeError && error.sequenceNumber === seqOf(event, 2) && !error.message.includes('not json'),
    );
    assert.deepEqual(seen, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(await records.batchResponse(), { batchItemFailures: [{ itemIdentifier: seqOf(event, 2) }] });
  });

  it('ends at once for an event without records, with nothing to retry', async () => {
    const records = kinesisEventReadable({ Records: [] });
    assert.deepEqual(await readAll(records), []);
    assert.equal(records.streamName, undefined);
    assert.deepEqual(await records.batchResponse(), { batchItemFailures: [] });
  });

  it('throws a ValidationError for a malformed event or bad options, before reading anything', () => {
    assert.throws(() => kinesisEventReadable({} as KinesisStreamEvent), (e: unknown) => e instanceof ValidationError && e.field === 'Records');
    assert.throws(() => kinesisEventReadable(mixedEvent(), { decode: 'xml' as 'json' }), (e: unknown) => e instanceof ValidationError && e.field === 'decode');
    assert.throws(() => kinesisEventReadable(mixedEvent(), { deaggregate: 'yes' as unknown as boolean }), (e: unknown) => e instanceof ValidationError && e.field === 'deaggregate');
    assert.throws(() => kinesisEventReadable(mixedEvent(), { checkpointStore: {} as CheckpointStore }), (e: unknown) => e instanceof ValidationError && e.field === 'checkpointStore');
    assert.throws(() => kinesisEventReadable(mixedEvent(), { applicationName: '' }), (e: unknown) => e instanceof ValidationError && e.field === 'applicationName');
  });

  describe('checkpoint() and batchResponse()', () => {
    it('names the first record when nothing is checkpointed, none when everything read is', async () => {
      const event = mixedEvent();
      const untouched = kinesisEventReadable(event);
      assert.deepEqual(await untouched.batchResponse(), { batchItemFailures: [{ itemIdentifier: seqOf(event, 0) }] });
      const all = kinesisEventReadable(event);
      await readAll(all);
      await all.checkpoint();
      assert.deepEqual(await all.batchResponse(), { batchItemFailures: [] });
    });

    it('without arguments covers only the records read out of the stream', async () => {
      const event = mixedEvent();
      const records = kinesisEventReadable(event);
      await take(records, 2); // 'a' and x0
      await records.checkpoint();
      // x1 and x2 were never read: the aggregate is named whole.
      assert.deepEqual(await records.batchResponse(), { batchItemFailures: [{ itemIdentifier: seqOf(event, 1) }] });
    });

    it('with a record: done up to it; the last user record of an aggregate completes it', async () => {
      const event = mixedEvent();
      const records = kinesisEventReadable(event);
      const read = await readAll(records);
      await records.checkpoint(read[0]);
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 1) }]);
      await records.checkpoint(read[2]);
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 1) }]);
      await records.checkpoint(read[3]);
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 2) }]);
    });

    it('never moves backwards, and takes the highest of an array', async () => {
      const event = mixedEvent();
      const records = kinesisEventReadable(event);
      const read = await readAll(records);
      await records.checkpoint([read[3], read[1]]);
      await records.checkpoint(read[0]);
      await records.checkpoint();
      assert.deepEqual((await records.batchResponse()).batchItemFailures, []);
      const other = kinesisEventReadable(event);
      const again = await readAll(other);
      await other.checkpoint(again[3]);
      await other.checkpoint(again[1]);
      assert.deepEqual((await other.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 2) }]);
    });

    it('rejects records it did not deliver: not read yet, of another event or shard, invented', async () => {
      const event = mixedEvent();
      const records = kinesisEventReadable(event);
      const [first, second] = await take(records, 2);
      const fails = (record: unknown, pattern: RegExp) =>
        assert.rejects(records.checkpoint(record as KinesisRecord), (e: unknown) => e instanceof ValidationError && e.field === 'record' && pattern.test(e.message));
      await fails({ ...second, subSequenceNumber: 2 }, /not delivered/);
      await fails({ ...first, sequenceNumber: seqOf(event, 2) }, /not delivered/);
      await fails({ ...first, shardId: 'shardId-000000000009' }, /not in this event/);
      await fails({ ...first, sequenceNumber: '1' }, /not in this event/);
      await fails({ ...second, subSequenceNumber: 7 }, /not one of its user records/);
      await fails({ ...second, subSequenceNumber: undefined }, /not one of its user records/);
      await fails({ ...first, subSequenceNumber: 0 }, /not one of its user records/);
      await fails(null, /takes records/);
      // Nothing was moved by the rejected calls.
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 0) }]);
    });
  });

  describe('with a checkpoint store', () => {
    it('stores the position under applicationName/streamName and the shard, once per step forward', async () => {
      const store = new CountingStore();
      const event = mixedEvent();
      const records = kinesisEventReadable(event, { checkpointStore: store, applicationName: 'billing' });
      const read = await readAll(records);
      await records.checkpoint(read[2]);
      await records.checkpoint(read[1]); // behind: no write
      assert.deepEqual(store.sets, [{ stream: 'billing/orders', shardId: 'shardId-000000000003', checkpoint: { sequenceNumber: seqOf(event, 1), subSequenceNumber: 1 } }]);
    });

    it('a retry of the batch skips the user records an earlier attempt checkpointed, inside an aggregate too', async () => {
      const store = new CountingStore();
      const event = mixedEvent();
      const first = kinesisEventReadable(event, { checkpointStore: store });
      const read = await take(first, 3); // a, x0, x1
      await first.checkpoint(read[2]);
      const response = await first.batchResponse();
      assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: seqOf(event, 1) }]);
      // Lambda retries from the aggregate.
      const retry = { Records: event.Records.slice(1) };
      const second = kinesisEventReadable(retry, { checkpointStore: store });
      const rest = await readAll(second);
      assert.deepEqual(rest.map((r) => r.data.toString()), ['x2', 'b']);
      assert.deepEqual((await second.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 1) }], 'x2 not checkpointed yet');
      await second.checkpoint();
      assert.deepEqual((await second.batchResponse()).batchItemFailures, []);
    });

    it('a whole-batch retry (the response was lost, e.g. a timeout) skips everything up to the stored record', async () => {
      const store = new CountingStore();
      const event = mixedEvent();
      const first = kinesisEventReadable(event, { checkpointStore: store });
      const read = await take(first, 2); // a, x0
      await first.checkpoint(read[1]);
      const again = kinesisEventReadable(event, { checkpointStore: store });
      assert.deepEqual((await readAll(again)).map((r) => r.data.toString()), ['x1', 'x2', 'b']);
    });

    it('ignores a stored checkpoint of a record outside the batch (only repeats, never skips)', async () => {
      const store = new CountingStore();
      await store.inner.set('orders', 'shardId-000000000003', { sequenceNumber: '99999999999999999999999999999999999999999999999999999999999' });
      const records = kinesisEventReadable(mixedEvent(), { checkpointStore: store });
      assert.equal((await readAll(records)).length, 5);
    });

    it('a failed write rejects checkpoint() with a CheckpointError; the response still counts the records as done', async () => {
      const store = new CountingStore();
      store.failSet = true;
      const event = mixedEvent();
      const records = kinesisEventReadable(event, { checkpointStore: store });
      const read = await readAll(records);
      await assert.rejects(records.checkpoint(read[0]), (e: unknown) => e instanceof CheckpointError && e.retriable && /orders\/shardId-000000000003/.test(e.message));
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 1) }]);
      store.failSet = false;
      await records.checkpoint(read[0]); // written again once the store is back
      assert.equal(store.sets.length, 2);
    });

    it('a failed read of the store errors the stream with a CheckpointError, and every record is reported', async () => {
      const store = new CountingStore();
      store.failGet = true;
      const event = mixedEvent();
      const records = kinesisEventReadable(event, { checkpointStore: store });
      await assert.rejects(readAll(records), (e: unknown) => e instanceof CheckpointError && e.retriable);
      assert.deepEqual((await records.batchResponse()).batchItemFailures, [{ itemIdentifier: seqOf(event, 0) }]);
    });

    it('a stored value that is not a checkpoint errors the stream', async () => {
      const store: CheckpointStore = { get: async () => ({ sequenceNumber: 'later' }), set: async () => undefined };
      await assert.rejects(readAll(kinesisEventReadable(mixedEvent(), { checkpointStore: store })), CheckpointError);
    });
  });
});
