import assert from 'node:assert/strict';
import { format } from 'node:util';
import type { Context, KinesisStreamEvent, KinesisStreamHandler } from 'aws-lambda';
import sinon from 'sinon';
import { aggregate } from '../../../lib/aggregation/aggregate.js';
import {
  DecodeError,
  MemoryCheckpointStore,
  ValidationError,
  createKinesisHandler,
  createKinesisRecordHandler,
  type KinesisBatchItemFailure,
  type KinesisRecord,
} from '../../../lib/index.js';
import { makeEvent } from '../../helpers/lambda-events.js';

const context = { functionName: 'orders-fn', awsRequestId: 'r-1' };

function seqOf(event: KinesisStreamEvent, index: number): string {
  return event.Records[index].kinesis.sequenceNumber;
}

function fiveRecords(): KinesisStreamEvent {
  return makeEvent(['0', '1', '2', '3', '4']);
}

/** Collects onError calls instead of logging them. */
function errors(): { onError: (error: unknown, retryFrom: KinesisBatchItemFailure | undefined) => void; calls: Array<[unknown, KinesisBatchItemFailure | undefined]> } {
  const calls: Array<[unknown, KinesisBatchItemFailure | undefined]> = [];
  return { calls, onError: (error, retryFrom) => calls.push([error, retryFrom]) };
}

/** A per-record handler that records what it saw and throws once, at the user record 'a2'. */
function failingOnceAtA2(options: { checkpointStore?: MemoryCheckpointStore }) {
  const seen: string[] = [];
  let failOnce = true;
  const handler = createKinesisRecordHandler(
    (record: KinesisRecord<string>) => {
      seen.push(record.data);
      if (record.data === 'a2' && failOnce) {
        failOnce = false;
        throw new Error('flaky');
      }
    },
    { decode: 'string', onError: () => undefined, ...options },
  );
  return { seen, handler };
}

describe('lambda/handler', () => {
  describe('createKinesisHandler', () => {
    it('the types of @types/aws-lambda fit: a KinesisStreamHandler taking a KinesisStreamEvent', async () => {
      // Compile-time checks; the call proves the assignment is not only a cast.
      const handler: KinesisStreamHandler = createKinesisHandler<Buffer, Context>(async (records, ctx) => {
        assert.equal(ctx?.functionName, 'orders-fn');
        for await (const record of records) assert.ok(Buffer.isBuffer(record.data));
      });
      const event: KinesisStreamEvent = fiveRecords();
      const response = await handler(event, context as Context, () => undefined);
      assert.deepEqual(response, { batchItemFailures: [] });
    });

    it('auto checkpoint: records read when the function resolves are done', async () => {
      const handler = createKinesisHandler(async (records) => {
        for await (const _record of records);
      });
      assert.deepEqual(await handler(fiveRecords(), context), { batchItemFailures: [] });
    });

    it('records the function never read out are reported, though it resolved', async () => {
      const event = fiveRecords();
      const handler = createKinesisHandler(async (records) => {
        let n = 0;
        for await (const _record of records) if (++n === 2) break;
      });
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 2) }] });
      const idle = createKinesisHandler(() => undefined);
      assert.deepEqual(await idle(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 0) }] });
    });

    it('a throw with nothing checkpointed reports the first record, and onError gets the error', async () => {
      const event = fiveRecords();
      const { onError, calls } = errors();
      const boom = new Error('downstream unavailable');
      const handler = createKinesisHandler(
        async (records) => {
          for await (const record of records) if (record.data.toString() === '3') throw boom;
        },
        { onError },
      );
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 0) }] });
      assert.deepEqual(calls, [[boom, { itemIdentifier: seqOf(event, 0) }]]);
    });

    it('a throw reports the first record after the last checkpoint', async () => {
      const event = fiveRecords();
      const { onError, calls } = errors();
      const handler = createKinesisHandler(
        async (records) => {
          for await (const record of records) {
            if (record.data.toString() === '3') throw new Error('boom');
            await records.checkpoint(record);
          }
        },
        { onError },
      );
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 3) }] });
      assert.equal(calls.length, 1);
    });

    it('autoCheckpoint: false counts only checkpoint() calls', async () => {
      const event = fiveRecords();
      const handler = createKinesisHandler(
        async (records) => {
          for await (const record of records) if (record.data.toString() === '1') await records.checkpoint(record);
        },
        { autoCheckpoint: false },
      );
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 2) }] });
    });

    it('a stream error the function swallowed still reaches onError, and the bad record is reported', async () => {
      const event = makeEvent(['{"n":0}', '{"n":1}', '{oops', '{"n":3}']);
      const { onError, calls } = errors();
      const handler = createKinesisHandler(
        async (records) => {
          try {
            for await (const _record of records);
          } catch {
            // ignored by the function
          }
        },
        { decode: 'json', onError },
      );
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 2) }] });
      assert.equal(calls.length, 1);
      assert.ok(calls[0][0] instanceof DecodeError);
    });

    it('rejects a malformed event with a ValidationError naming the field, without calling the function', async () => {
      const fn = sinon.fake();
      const handler = createKinesisHandler(fn);
      const event = fiveRecords();
      event.Records[2].kinesis.data = 'not base64!';
      await assert.rejects(handler(event, context), (e: unknown) => e instanceof ValidationError && e.field === 'Records[2].kinesis.data');
      assert.equal(fn.callCount, 0);
    });

    it('checks its options when created', () => {
      assert.throws(() => createKinesisHandler('fn' as unknown as () => void), (e: unknown) => e instanceof ValidationError && e.field === 'fn');
      assert.throws(() => createKinesisHandler(() => undefined, { autoCheckpoint: 1 as unknown as boolean }), (e: unknown) => e instanceof ValidationError && e.field === 'autoCheckpoint');
      assert.throws(() => createKinesisHandler(() => undefined, { onError: 'log' as unknown as () => void }), (e: unknown) => e instanceof ValidationError && e.field === 'onError');
      assert.throws(() => createKinesisHandler(() => undefined, { decode: 'yaml' as 'json' }), (e: unknown) => e instanceof ValidationError && e.field === 'decode');
    });

    it('logs a failure with console.error by default, naming where Lambda retries', async () => {
      const event = fiveRecords();
      const log = sinon.stub(console, 'error');
      try {
        const handler = createKinesisHandler(async () => {
          throw new TypeError('bad mapping');
        });
        await handler(event, context);
      } finally {
        log.restore();
      }
      assert.equal(log.callCount, 1);
      assert.match(String(log.firstCall.args[0]), new RegExp(`TypeError: bad mapping.*retries from sequence number ${seqOf(event, 0)}`));
    });

    it('the default log of a decode failure does not contain the record data', async () => {
      const event = makeEvent(['{"n":0}', 'secret-payload-7f3a']);
      const log = sinon.stub(console, 'error');
      try {
        await createKinesisHandler(async (records) => {
          for await (const _record of records);
        }, { decode: 'json' })(event, context);
      } finally {
        log.restore();
      }
      // As console.error would print it (util.format shows an error's cause chain).
      const output = log.getCalls().map((call) => format(...(call.args as unknown[]))).join('\n');
      assert.match(output, /DecodeError/);
      assert.ok(!output.includes('secret-payload-7f3a'), output);
    });

    it('keys the store by the function name unless applicationName is given', async () => {
      const store = new MemoryCheckpointStore();
      const handler = createKinesisHandler(() => undefined, { checkpointStore: store, autoCheckpoint: true });
      const consume = createKinesisHandler(async (records) => {
        for await (const _record of records);
      }, { checkpointStore: store });
      await handler(fiveRecords(), context);
      await consume(fiveRecords(), context);
      const named = createKinesisHandler(async (records) => {
        for await (const _record of records);
      }, { checkpointStore: store, applicationName: 'billing' });
      await named(fiveRecords(), context);
      assert.deepEqual([...store.entries().keys()].sort(), ['billing/orders/shardId-000000000000', 'orders-fn/orders/shardId-000000000000']);
    });
  });

  describe('createKinesisRecordHandler', () => {
    it('calls fn per record in order and stops at the first failure, which Lambda retries from', async () => {
      const event = fiveRecords();
      const seen: string[] = [];
      const { onError, calls } = errors();
      const handler = createKinesisRecordHandler(
        async (record: KinesisRecord) => {
          seen.push(record.data.toString());
          if (record.data.toString() === '2') throw new Error('boom');
        },
        { onError },
      );
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 2) }] });
      assert.deepEqual(seen, ['0', '1', '2']);
      assert.equal(calls.length, 1);
      assert.deepEqual(await createKinesisRecordHandler(() => undefined)(event, context), { batchItemFailures: [] });
    });

    it('writes the store once per invocation, and a retry inside an aggregate skips its done user records', async () => {
      const store = new MemoryCheckpointStore();
      const sets = sinon.spy(store, 'set');
      const [agg] = aggregate(['a0', 'a1', 'a2', 'a3'].map((d) => ({ partitionKey: 'k', data: Buffer.from(d) })));
      const event = makeEvent(['p', agg.data, 'q']);
      const { seen, handler } = failingOnceAtA2({ checkpointStore: store });
      const first = await handler(event, context);
      assert.deepEqual(first, { batchItemFailures: [{ itemIdentifier: seqOf(event, 1) }] });
      assert.equal(sets.callCount, 1);
      assert.deepEqual(sets.firstCall.args[2], { sequenceNumber: seqOf(event, 1), subSequenceNumber: 1 });
      // Lambda retries from the aggregate's record.
      const second = await handler({ Records: event.Records.slice(1) }, context);
      assert.deepEqual(second, { batchItemFailures: [] });
      assert.deepEqual(seen, ['p', 'a0', 'a1', 'a2', 'a2', 'a3', 'q']);
    });

    it('without a store the retry repeats the done user records of that aggregate, and nothing before it', async () => {
      const [agg] = aggregate(['a0', 'a1', 'a2', 'a3'].map((d) => ({ partitionKey: 'k', data: Buffer.from(d) })));
      const event = makeEvent(['p', agg.data, 'q']);
      const { seen, handler } = failingOnceAtA2({});
      assert.deepEqual(await handler(event, context), { batchItemFailures: [{ itemIdentifier: seqOf(event, 1) }] });
      await handler({ Records: event.Records.slice(1) }, context);
      assert.deepEqual(seen, ['p', 'a0', 'a1', 'a2', 'a0', 'a1', 'a2', 'a3', 'q']);
    });
  });
});
