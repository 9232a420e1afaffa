import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sinon from 'sinon';
import {
  AbortError,
  PutRecordsError,
  StreamNotFoundError,
  ValidationError,
  createKinesisWritable,
  type FailedRecord,
  type KinesisWritableOptions,
  type RetryEvent,
} from '../../../lib/index.js';
import { FakeKinesis, serviceError } from '../../helpers/fake-kinesis.js';
import { prng } from '../../helpers/prng.js';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 2 };

/** A writer on the fake. Rate limiting is off here (the fake has no shard map for these streams); it has its own tests. */
function writer<T = unknown>(fake: FakeKinesis, options: Partial<KinesisWritableOptions<T>> = {}) {
  return createKinesisWritable<T>({ client: fake.asClient(), streamName: 'events', retry: fastRetry, rateLimit: false, ...options });
}


function datas(fake: FakeKinesis): string[] {
  return fake.stored.map((r) => r.data.toString());
}

describe('createKinesisWritable', () => {
  describe('batching', () => {
    it('sends 1200 records as 500 + 500 + 200 and finishes only when all are stored', async () => {
      const fake = new FakeKinesis();
      const items = Array.from({ length: 1200 }, (_, i) => `r${i}`);
      await pipeline(Readable.from(items), writer(fake, { lingerMs: 1000 }));
      assert.deepEqual(
        fake.putCalls.map((c) => c.Records?.length),
        [500, 500, 200],
      );
      assert.deepEqual(datas(fake).sort(), [...items].sort());
    });

    it('cuts batches by the byte budget, partition keys included', async () => {
      const fake = new FakeKinesis();
      // Each record: 90 bytes of data + a 10-byte key = 100 bytes; budget 1000 → 10 per request.
      const w = writer<string>(fake, { maxBatchBytes: 1000, maxRecordBytes: 1000, partitionKey: 'k'.repeat(10) });
      await pipeline(Readable.from(Array.from({ length: 25 }, () => 'd'.repeat(90))), w);
      assert.deepEqual(fake.putCalls.map((c) => c.Records?.length), [10, 10, 5]);
    });

    it('counts multi-byte partition keys in UTF-8 bytes', async () => {
      const fake = new FakeKinesis();
      // 'é' is 2 bytes: key of 5 'é' = 10 bytes; data 90 bytes → 100 per record.
      const w = writer<string>(fake, { maxBatchBytes: 1000, maxRecordBytes: 1000, partitionKey: 'é'.repeat(5) });
      await pipeline(Readable.from(Array.from({ length: 20 }, () => 'd'.repeat(90))), w);
      assert.deepEqual(fake.putCalls.map((c) => c.Records?.length), [10, 10]);
      assert.equal(w.stats().bytesWritten, 2000);
    });

    it('accepts a record exactly at maxRecordBytes (data + key) and sends it', async () => {
      const fake = new FakeKinesis();
      const w = writer<Buffer>(fake, { partitionKey: 'pk' });
      await pipeline(Readable.from([Buffer.alloc(1024 * 1024 - 2)]), w);
      assert.equal(fake.stored.length, 1);
      assert.equal(fake.stored[0].data.length, 1024 * 1024 - 2);
    });

    it('waits lingerMs for a partial batch, then sends it', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const fake = new FakeKinesis();
        const w = writer(fake, { lingerMs: 100 });
        w.write('a');
        w.write('b');
        await clock.tickAsync(99);
        assert.equal(fake.putCalls.length, 0);
        await clock.tickAsync(1);
        assert.equal(fake.putCalls.length, 1);
        assert.equal(fake.putCalls[0].Records?.length, 2);
        w.destroy();
      } finally {
        clock.restore();
      }
    });

    it('sends a full batch at once without lingering', () => {
      const fake = new FakeKinesis();
      const w = writer(fake, { lingerMs: 60000, maxBatchRecords: 3 });
      w.write('a');
      w.write('b');
      assert.equal(fake.putCalls.length, 0);
      w.write('c');
      assert.equal(fake.putCalls.length, 1);
      w.destroy();
    });

    it('keeps at most maxInFlight requests per stream', async () => {
      const fake = new FakeKinesis();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let peak = 0;
      let current = 0;
      fake.beforeAnswer = async () => {
        current++;
        peak = Math.max(peak, current);
        await gate;
        current--;
      };
      const w = writer(fake, { maxInFlight: 2, maxBatchRecords: 1, lingerMs: 0 });
      const done = pipeline(Readable.from(['a', 'b', 'c', 'd', 'e']), w);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(fake.putCalls.length, 2);
      assert.equal(w.stats().inFlight, 2);
      release();
      await done;
      assert.equal(peak, 2);
      assert.equal(fake.stored.length, 5);
    });
  });

  describe('items', () => {
    it('writes Buffers, Uint8Arrays and strings as they are, and other values as JSON', async () => {
      const fake = new FakeKinesis();
      await pipeline(
        Readable.from([Buffer.from('buf'), new Uint8Array([104, 105]), 'str', { a: 1 }, 42, [1, 2]]),
        writer(fake),
      );
      assert.deepEqual(datas(fake), ['buf', 'hi', 'str', '{"a":1}', '42', '[1,2]']);
    });

    it('uses a custom encode for non-envelope items', async () => {
      const fake = new FakeKinesis();
      await pipeline(Readable.from([{ n: 1 }]), writer<{ n: number }>(fake, { encode: (item) => `n=${item.n}` }));
      assert.deepEqual(datas(fake), ['n=1']);
    });

    it('takes partition key and explicit hash key from envelopes', async () => {
      const fake = new FakeKinesis();
      await pipeline(
        Readable.from([
          { data: 'a', partitionKey: 'user-1', explicitHashKey: '42' },
          { data: Buffer.from('b'), partitionKey: 'user-2' },
        ]),
        writer(fake),
      );
      assert.deepEqual(fake.stored, [
        { streamName: 'events', partitionKey: 'user-1', explicitHashKey: '42', data: Buffer.from('a') },
        { streamName: 'events', partitionKey: 'user-2', data: Buffer.from('b') },
      ]);
    });

    it('routes envelopes by their streamName when no default stream is set', async () => {
      const fake = new FakeKinesis();
      const w = createKinesisWritable({ client: fake.asClient(), retry: fastRetry, rateLimit: false });
      await pipeline(
        Readable.from([
          { data: 'a', partitionKey: 'user-1', explicitHashKey: '42', streamName: 's1' },
          { data: Buffer.from('b'), partitionKey: 'user-2', streamName: 's2' },
        ]),
        w,
      );
      assert.deepEqual(
        fake.stored.sort((x, y) => x.streamName.localeCompare(y.streamName)),
        [
          { streamName: 's1', partitionKey: 'user-1', explicitHashKey: '42', data: Buffer.from('a') },
          { streamName: 's2', partitionKey: 'user-2', data: Buffer.from('b') },
        ],
      );
    });

    it('lets the streamName option win over an envelope streamName (stream-to-stream copy)', async () => {
      const fake = new FakeKinesis();
      await pipeline(Readable.from([{ data: 'x', partitionKey: 'p', streamName: 'source' }]), writer(fake, { streamName: 'target' }));
      assert.equal(fake.stored[0].streamName, 'target');
    });

    it('routes by streamNameFor, falling back to the default stream on undefined', async () => {
      const fake = new FakeKinesis();
      const w = writer<{ kind: string }>(fake, { streamNameFor: (item) => (item.kind === 'audit' ? 'audit' : undefined) });
      await pipeline(Readable.from([{ kind: 'audit' }, { kind: 'click' }, { kind: 'audit' }]), w);
      assert.deepEqual(fake.stored.map((r) => r.streamName).sort(), ['audit', 'audit', 'events']);
      assert.equal(new Set(fake.putCalls.map((c) => c.StreamName)).size, 2);
    });

    it('uses partitionKey and explicitHashKey options over envelope values', async () => {
      const fake = new FakeKinesis();
      const w = writer<{ data: string; user: string }>(fake, {
        partitionKey: (item) => `u-${item.user}`,
        explicitHashKey: () => '7',
      });
      await pipeline(Readable.from([{ data: 'x', user: 'ann', partitionKey: 'ignored' }]), w);
      assert.equal(fake.stored[0].partitionKey, 'u-ann');
      assert.equal(fake.stored[0].explicitHashKey, '7');
    });

    it('gives items without a key a random one', async () => {
      const fake = new FakeKinesis();
      await pipeline(Readable.from(['a', 'b', 'c']), writer(fake));
      const keys = fake.stored.map((r) => r.partitionKey);
      assert.equal(new Set(keys).size, 3);
      for (const key of keys) assert.equal(key.length, 10);
    });
  });

  describe('chunk arrays (_writev)', () => {
    it('takes corked writes as one chunk array: one request, in order, each write called back', async () => {
      const fake = new FakeKinesis();
      const w = writer<string>(fake, { lingerMs: 1000 });
      const writev = sinon.spy(w, '_writev');
      const called: number[] = [];
      w.cork();
      for (let i = 0; i < 10; i++) w.write(`r${i}`, () => called.push(i));
      w.uncork();
      await w.flush();
      assert.equal(writev.callCount, 1);
      assert.equal(writev.firstCall.args[0].length, 10);
      assert.deepEqual(fake.putCalls.map((c) => c.Records?.length), [10]);
      assert.deepEqual(datas(fake), Array.from({ length: 10 }, (_, i) => `r${i}`));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(called, Array.from({ length: 10 }, (_, i) => i));
      w.end();
      await once(w, 'finish');
    });

    it('hands what waited behind a full buffer over as chunk arrays, never holding more than maxBufferedRecords, through partial failures, per-key order kept', async () => {
      const fake = new FakeKinesis();
      const random = prng(5);
      fake.failEntry = () => (random() < 0.2 ? 'ProvisionedThroughputExceededException' : undefined);
      const items = Array.from({ length: 3000 }, (_, i) => ({ data: `${i % 7}:${i}`, partitionKey: `key-${i % 7}` }));
      const w = writer(fake, { maxBufferedRecords: 200, maxBatchRecords: 50, preserveOrder: true, retry: { ...fastRetry, maxAttempts: 50 } });
      const writev = sinon.spy(w, '_writev');
      let maxBuffered = 0;
      fake.beforeAnswer = async () => {
        maxBuffered = Math.max(maxBuffered, w.stats().buffered);
      };
      await pipeline(Readable.from(items), w);
      assert.equal(w.writableHighWaterMark, 50, 'Writable buffers about one batch while write() waits');
      assert.ok(writev.callCount > 0, 'chunk arrays were used');
      assert.ok(maxBuffered <= 200, `buffered ${maxBuffered}`);
      assert.equal(fake.stored.length, 3000);
      assert.equal(w.stats().recordsWritten, 3000);
      const lastByKey = new Map<string, number>();
      for (const record of fake.stored) {
        const n = Number(record.data.toString().split(':')[1]);
        assert.ok(n > (lastByKey.get(record.partitionKey) ?? -1), `${record.partitionKey}: ${n} out of order`);
        lastByKey.set(record.partitionKey, n);
      }
    });

    it('a bad item inside a chunk array: the items before it are delivered, the stream errors with its ValidationError', async () => {
      const fake = new FakeKinesis();
      const w = writer<unknown>(fake, { lingerMs: 1000 });
      const failed = once(w, 'error');
      w.cork();
      w.write('a');
      w.write('b');
      w.write(undefined as unknown as string);
      w.write('c');
      w.uncork();
      const [error] = (await failed) as [Error];
      assert.ok(error instanceof ValidationError);
      assert.equal(error.field, 'item');
      assert.deepEqual(datas(fake), ['a', 'b']);
    });

    it('flush() counts items still waiting behind a held chunk array', async () => {
      const fake = new FakeKinesis();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      fake.beforeAnswer = () => gate;
      const w = writer<string>(fake, { maxBufferedRecords: 4, lingerMs: 0 });
      for (const item of ['a', 'b', 'c', 'd']) w.write(item); // d fills the buffer: held
      w.cork();
      for (const item of ['e', 'f', 'g']) w.write(item);
      w.uncork();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(w.stats().buffered, 4);
      const flushing = w.flush();
      release();
      await flushing;
      assert.deepEqual(datas(fake).sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      w.destroy();
    });
  });

  describe('partial failures', () => {
    it('retries only the failed entries, ahead of newer records, and emits retry', async () => {
      const fake = new FakeKinesis();
      fake.failEntry = (record, call) => (call === 0 && ['1', '3'].includes(record.data.toString()) ? 'ProvisionedThroughputExceededException' : undefined);
      const w = writer(fake, { maxBatchRecords: 5, lingerMs: 0, maxInFlight: 1 });
      const retries: RetryEvent[] = [];
      w.on('retry', (event: RetryEvent) => retries.push(event));
      await pipeline(Readable.from(Array.from({ length: 8 }, (_, i) => String(i))), w);
      assert.deepEqual(fake.putCalls[1].Records?.map((r) => Buffer.from(r.Data ?? []).toString()), ['1', '3', '5', '6', '7']);
      assert.deepEqual(datas(fake).sort(), ['0', '1', '2', '3', '4', '5', '6', '7']);
      assert.equal(retries.length, 1);
      assert.equal(retries[0].operation, 'PutRecords');
      assert.equal(retries[0].attempt, 1);
      assert.ok(retries[0].error instanceof PutRecordsError);
      assert.deepEqual((retries[0].error as PutRecordsError).failedRecords.map((f) => f.errorCode), [
        'ProvisionedThroughputExceededException',
        'ProvisionedThroughputExceededException',
      ]);
      assert.equal(w.stats().retries, 2);
      assert.equal(w.stats().recordsWritten, 8);
    });

    it('loses nothing and duplicates nothing when a share of entries fails at random', async () => {
      const fake = new FakeKinesis();
      const random = prng(7);
      fake.failEntry = () => (random() < 0.3 ? (random() < 0.5 ? 'ProvisionedThroughputExceededException' : 'InternalFailure') : undefined);
      const items = Array.from({ length: 5000 }, (_, i) => `r${i}`);
      const w = writer(fake, { retry: { ...fastRetry, maxAttempts: 30 } });
      await pipeline(Readable.from(items), w);
      const stored = datas(fake);
      assert.equal(stored.length, items.length);
      assert.deepEqual([...stored].sort(), [...items].sort());
      assert.ok(w.stats().retries > 1000);
    });

    it('keeps strict per-key order with preserveOrder through random partial failures', async () => {
      const fake = new FakeKinesis();
      const random = prng(11);
      fake.failEntry = () => (random() < 0.25 ? 'ProvisionedThroughputExceededException' : undefined);
      const items = Array.from({ length: 2000 }, (_, i) => ({ data: `${i % 20}:${i}`, partitionKey: `key-${i % 20}` }));
      const w = writer(fake, { preserveOrder: true, retry: { ...fastRetry, maxAttempts: 50 } });
      await pipeline(Readable.from(items), w);
      assert.equal(fake.stored.length, 2000);
      const lastByKey = new Map<string, number>();
      for (const record of fake.stored) {
        const n = Number(record.data.toString().split(':')[1]);
        const last = lastByKey.get(record.partitionKey) ?? -1;
        assert.ok(n > last, `${record.partitionKey}: ${n} stored after ${last}`);
        lastByKey.set(record.partitionKey, n);
      }
      for (const call of fake.putCalls) {
        const keys = (call.Records ?? []).map((r) => r.PartitionKey);
        assert.equal(new Set(keys).size, keys.length, 'one record per key per request');
      }
    });

    it('without preserveOrder a key may have several records in one request', async () => {
      const fake = new FakeKinesis();
      await pipeline(Readable.from(['a', 'b', 'c']), writer(fake, { partitionKey: 'same' }));
      assert.equal(fake.putCalls.length, 1);
      assert.equal(fake.putCalls[0].Records?.length, 3);
    });

    it('errors with a PutRecordsError listing every unstored record when retries run out', async () => {
      const fake = new FakeKinesis();
      fake.failEntry = (record) => (record.data.toString() === 'bad' ? 'ProvisionedThroughputExceededException' : undefined);
      const w = writer(fake, { retry: { ...fastRetry, maxAttempts: 3 }, maxBatchRecords: 2, maxInFlight: 1, lingerMs: 0 });
      const items = ['ok1', 'bad', 'ok2', 'ok3', 'ok4', 'ok5'];
      const error = await pipeline(Readable.from(items), w).then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PutRecordsError);
      assert.equal(error.code, 'ERR_KINESIS_PUT_FAILED');
      assert.match(error.message, /after 3 attempt/);
      assert.equal(error.failedRecords[0].item, 'bad');
      assert.equal(error.failedRecords[0].errorCode, 'ProvisionedThroughputExceededException');
      const stored = datas(fake);
      const reported = error.failedRecords.map((f) => f.item as string);
      // Every item is either stored or reported, never both, never neither.
      assert.deepEqual([...stored, ...reported].sort(), [...items].sort());
      assert.equal(fake.putCalls.filter((c) => c.Records?.some((r) => Buffer.from(r.Data ?? []).toString() === 'bad')).length, 3);
    });

    it('with failOnError: false emits failedRecords and goes on', async () => {
      const fake = new FakeKinesis();
      fake.failEntry = (record) => (record.data.toString() === 'bad' ? 'InternalFailure' : undefined);
      const w = writer(fake, { failOnError: false, retry: { ...fastRetry, maxAttempts: 2 } });
      const failed: FailedRecord[] = [];
      w.on('failedRecords', (records: FailedRecord[]) => failed.push(...records));
      await pipeline(Readable.from(['a', 'bad', 'b']), w);
      assert.deepEqual(datas(fake).sort(), ['a', 'b']);
      assert.deepEqual(failed, [{ item: 'bad', errorCode: 'InternalFailure', errorMessage: 'InternalFailure (test)' }]);
      assert.equal(w.stats().failed, 1);
    });

    it('does not retry entries rejected for KMS configuration errors', async () => {
      const fake = new FakeKinesis();
      fake.failEntry = () => 'KMSAccessDeniedException';
      const w = writer(fake, { failOnError: false });
      const failed: FailedRecord[] = [];
      w.on('failedRecords', (records: FailedRecord[]) => failed.push(...records));
      await pipeline(Readable.from(['a']), w);
      assert.equal(fake.putCalls.length, 1);
      assert.equal(failed[0].errorCode, 'KMSAccessDeniedException');
    });
  });

  describe('request errors', () => {
    for (const [label, error] of [
      ['throttling', serviceError('ProvisionedThroughputExceededException')],
      ['a 500', serviceError('InternalFailure', 500)],
      ['a 503', serviceError('ServiceUnavailable', 503)],
      ['a network reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ] as const) {
      it(`retries the whole request after ${label}`, async () => {
        const fake = new FakeKinesis();
        fake.failRequest = (_input, call) => (call < 2 ? error : undefined);
        const w = writer(fake);
        const retries: RetryEvent[] = [];
        w.on('retry', (event: RetryEvent) => retries.push(event));
        await pipeline(Readable.from(['a', 'b']), w);
        assert.deepEqual(datas(fake), ['a', 'b']);
        assert.deepEqual(retries.map((r) => r.attempt), [1, 2]);
        assert.equal(w.stats().requests, 3);
      });
    }

    it('errors with StreamNotFoundError when the stream does not exist', async () => {
      const fake = new FakeKinesis();
      fake.failRequest = () => serviceError('ResourceNotFoundException');
      const error = await pipeline(Readable.from(['a', 'b']), writer(fake, { streamName: 'missing' })).then(
        () => assert.fail('should fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof StreamNotFoundError);
      assert.equal(error.code, 'ERR_KINESIS_STREAM_NOT_FOUND');
      assert.match(error.message, /missing/);
      assert.deepEqual(error.failedRecords?.map((f) => f.item).sort(), ['a', 'b']);
      assert.equal(fake.putCalls.length, 1);
    });

    it('does not retry access errors', async () => {
      const fake = new FakeKinesis();
      fake.failRequest = () => serviceError('AccessDeniedException');
      const error = await pipeline(Readable.from(['a']), writer(fake)).then(
        () => assert.fail('should fail'),
        (e: unknown) => e as Error & { code: string; retriable: boolean },
      );
      assert.equal(error.code, 'ERR_KINESIS_REQUEST');
      assert.equal(error.retriable, false);
      assert.match(error.message, /AccessDeniedException/);
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, unknown, string, Partial<KinesisWritableOptions>]> = [
      ['undefined', undefined, 'item', {}],
      ['a record over maxRecordBytes', Buffer.alloc(1001), 'item', { maxRecordBytes: 1000, partitionKey: 'k' }],
      ['an envelope over maxRecordBytes', { data: 'x'.repeat(1000), partitionKey: 'k' }, 'data', { maxRecordBytes: 1000 }],
      ['an empty envelope partition key', { data: 'x', partitionKey: '' }, 'partitionKey', {}],
      ['a 257-character partition key', { data: 'x', partitionKey: 'k'.repeat(257) }, 'partitionKey', {}],
      ['a non-string partition key from the option', 'x', 'partitionKey', { partitionKey: ((item: unknown) => (item === 'x' ? 5 : 'k')) as unknown as () => string }],
      ['an explicit hash key of 2^128', { data: 'x', explicitHashKey: (1n << 128n).toString() }, 'explicitHashKey', {}],
      ['an encode that throws', { n: 1 }, 'encode', { encode: () => { throw new TypeError('boom'); } }],
      ['an encode that returns a number', { n: 1 }, 'encode', { encode: (() => 5) as unknown as () => string }],
      ['a value JSON cannot encode', () => 1, 'item', {}],
      ['no target stream', 'x', 'streamName', { streamName: undefined }],
    ];
    for (const [label, bad, field, options] of cases) {
      it(`errors on ${label}, naming ${field}, after delivering what came before`, async () => {
        const fake = new FakeKinesis();
        const w = writer(fake, { ...options, maxRecordBytes: options.maxRecordBytes ?? 1024 * 1024 });
        const before = options.streamName === undefined && 'streamName' in options ? [] : ['ok-1', 'ok-2'];
        const error = await pipeline(Readable.from([...before, bad, 'after']), w).then(
          () => assert.fail('should fail'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.field, field);
        assert.ok(error.message.startsWith(`${field}:`), error.message);
        assert.deepEqual(datas(fake), before);
      });
    }

    const badOptions: Array<[string, Partial<KinesisWritableOptions>]> = [
      ['maxBatchRecords', { maxBatchRecords: 501 }],
      ['maxBatchRecords', { maxBatchRecords: 0 }],
      ['maxBatchBytes', { maxBatchBytes: 11 * 1024 * 1024 }],
      ['maxRecordBytes', { maxRecordBytes: 6 * 1024 * 1024 }],
      ['maxInFlight', { maxInFlight: 1.5 }],
      ['maxBufferedRecords', { maxBufferedRecords: -1 }],
      ['lingerMs', { lingerMs: -1 }],
      ['partitionKey', { partitionKey: '' }],
      ['streamName', { streamName: '' }],
      ['streamNameFor', { streamNameFor: 'x' as unknown as () => string }],
      ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
      ['preserveOrder', { preserveOrder: 'yes' as unknown as boolean }],
      ['aggregation', { aggregation: 'yes' as unknown as boolean }],
      ['aggregation.maxBytes', { aggregation: { maxBytes: 10 } }],
      ['aggregation.maxBytes', { aggregation: { maxBytes: 2 * 1024 * 1024 } }],
    ];
    for (const [field, options] of badOptions) {
      it(`throws a ValidationError for bad option ${field} (${JSON.stringify(Object.values(options)[0]) ?? 'fn'})`, () => {
        assert.throws(
          () => createKinesisWritable({ client: new FakeKinesis().asClient(), streamName: 's', ...options }),
          (error: unknown) => error instanceof ValidationError && error.field === field,
        );
      });
    }
  });

  describe('flush, backpressure and stop', () => {
    it('flush() resolves only when everything written before it is stored', async () => {
      const fake = new FakeKinesis();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      fake.beforeAnswer = () => gate;
      const w = writer(fake, { lingerMs: 60000 });
      w.write('a');
      w.write('b');
      let flushed = false;
      const flushing = w.flush().then(() => (flushed = true));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(fake.putCalls.length, 1, 'flush sends the partial batch at once');
      assert.equal(flushed, false);
      release();
      await flushing;
      assert.deepEqual(datas(fake), ['a', 'b']);
      await w.flush(); // nothing pending: resolves at once
      w.end();
      await once(w, 'finish');
    });

    it('flush() waits for an earlier request that answers after a later one', async () => {
      const fake = new FakeKinesis();
      const gates: Array<() => void> = [];
      fake.beforeAnswer = () => new Promise<void>((resolve) => gates.push(resolve));
      const w = writer(fake, { maxBatchRecords: 2, lingerMs: 0 });
      for (const item of ['a', 'b', 'c', 'd']) w.write(item);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(gates.length, 2);
      let flushed = false;
      const first = w.flush().then(() => (flushed = true));
      w.write('e');
      const second = w.flush();
      gates[1](); // the later request answers first
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(flushed, false, 'a and b are not stored yet');
      gates[0]();
      await first;
      assert.deepEqual(datas(fake).sort(), ['a', 'b', 'c', 'd']);
      await new Promise((resolve) => setImmediate(resolve));
      gates[2]();
      await second;
      assert.deepEqual(datas(fake).sort(), ['a', 'b', 'c', 'd', 'e']);
      w.destroy();
    });

    it('applies backpressure beyond maxBufferedRecords and counts records not yet handed over in flush()', async () => {
      const fake = new FakeKinesis();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      fake.beforeAnswer = () => gate;
      const w = writer(fake, { maxBufferedRecords: 3, lingerMs: 0 });
      const accepted: string[] = [];
      for (const item of ['a', 'b', 'c', 'd', 'e']) w.write(item, () => accepted.push(item));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(accepted, ['a', 'b'], 'the third record fills the buffer: its callback waits');
      assert.equal(w.stats().buffered, 3);
      assert.equal(w.writableLength, 3, 'c is held, d and e wait in the Writable buffer');
      const flushing = w.flush();
      release();
      await flushing;
      assert.deepEqual(datas(fake).sort(), ['a', 'b', 'c', 'd', 'e']);
      await new Promise((resolve) => setImmediate(resolve)); // write callbacks run on a later tick
      assert.deepEqual(accepted, ['a', 'b', 'c', 'd', 'e']);
      w.destroy();
    });

    it('destroy() mid-flight aborts requests, rejects flush() with AbortError and emits no error', async () => {
      const fake = new FakeKinesis();
      fake.beforeAnswer = () => new Promise(() => {}); // never answers
      const w = writer(fake, { lingerMs: 0 });
      let errored = false;
      w.on('error', () => (errored = true));
      w.write('a');
      const flushing = w.flush();
      await new Promise((resolve) => setImmediate(resolve));
      w.destroy();
      await assert.rejects(flushing, AbortError);
      await once(w, 'close');
      assert.equal(errored, false);
      await assert.rejects(w.flush(), AbortError);
    });

    it('an AbortSignal destroys the stream with an AbortError', async () => {
      const fake = new FakeKinesis();
      fake.beforeAnswer = () => new Promise(() => {});
      const controller = new AbortController();
      const w = writer(fake, { signal: controller.signal, lingerMs: 0 });
      const done = pipeline(Readable.from(['a', 'b']), w);
      await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      await assert.rejects(done, { name: 'AbortError' });
      assert.equal(w.destroyed, true);
    });

    it('does not destroy a client it was given, destroys one it created', async () => {
      const fake = new FakeKinesis();
      await pipeline(Readable.from(['a']), writer(fake));
      assert.equal(fake.destroyed, false);
    });

    it('reports stats', async () => {
      const fake = new FakeKinesis();
      const w = writer(fake, { partitionKey: 'kk' });
      await pipeline(Readable.from(['abc', 'de']), w);
      assert.deepEqual(w.stats(), { recordsWritten: 2, bytesWritten: 9, requests: 1, retries: 0, failed: 0, inFlight: 0, buffered: 0, throttled: 0, saturatedShards: [] });
    });
  });
});
