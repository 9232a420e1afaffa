import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  KinesisStreamsError,
  ValidationError,
  createKinesisReadable,
  createKinesisWritable,
  type KinesisReadableOptions,
  type KinesisWritableOptions,
} from '../../lib/index.js';
import { FakeKinesis } from '../helpers/fake-kinesis.js';
import { prng } from '../helpers/prng.js';


function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

const circular: Record<string, unknown> = {};
circular.self = circular;

/** Values that are wrong for most options and items. */
const WEIRD: readonly unknown[] = [
  undefined,
  -1,
  0,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x'.repeat(300),
  {},
  [],
  () => 1,
  Symbol('s'),
  10n,
  circular,
  true,
  new Date('invalid'),
  { timestamp: 'yesterday' },
  Buffer.alloc(0),
];

const BAD_ITEMS: readonly unknown[] = [
  undefined,
  () => 1,
  Symbol('s'),
  10n,
  circular,
  Buffer.alloc(2 * 1024 * 1024),
  'x'.repeat(1024 * 1024 + 1),
  { data: 'x', partitionKey: '' },
  { data: 'x', partitionKey: 42 },
  { data: 'x', partitionKey: 'k'.repeat(257) },
  { data: 'x', explicitHashKey: '-5' },
  { data: 'x', explicitHashKey: 'abc' },
  { data: 'x', explicitHashKey: (1n << 128n).toString() },
  { data: Buffer.alloc(1024 * 1024 + 1), partitionKey: 'k' },
  { data: 'x', partitionKey: null },
];

function isStableError(error: unknown): error is KinesisStreamsError {
  return error instanceof KinesisStreamsError && /^ERR_KINESIS_/.test(error.code) && typeof error.message === 'string';
}

describe('fuzzed bad input', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  afterEach(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'));

  it('writer options: every bad value is a ValidationError naming the option, never a crash', () => {
    const random = prng(42);
    const keys = ['streamName', 'partitionKey', 'maxBatchRecords', 'maxBatchBytes', 'maxRecordBytes', 'lingerMs', 'maxInFlight', 'preserveOrder', 'maxBufferedRecords', 'failOnError', 'aggregation', 'rateLimit', 'retry', 'encode', 'streamNameFor', 'explicitHashKey', 'endpoint', 'region'];
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      const key = pick(random, keys);
      const value = pick(random, WEIRD);
      const options = { client: new FakeKinesis().asClient(), streamName: 's', [key]: value } as unknown as KinesisWritableOptions;
      if (key === 'endpoint' || key === 'region') delete (options as { client?: unknown }).client;
      try {
        createKinesisWritable(options).destroy();
      } catch (error) {
        errors++;
        assert.ok(error instanceof ValidationError, `${key}=${String(value)}: ${String(error)}`);
        assert.ok(error.field.startsWith(key), `${key}: field ${error.field}`);
        assert.match(error.message, new RegExp(`^${key}`));
      }
    }
    assert.ok(errors > 200, `${errors} of 400 were rejected`);
  });

  it('reader options: every bad value is a ValidationError naming the option, never a crash or a zombie', async () => {
    // Timers the readers start, still alive afterwards: a zombie reader would keep one.
    const live = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        const stack = new Error().stack ?? '';
        if (type === 'Timeout' && stack.includes('kinesis-readable')) live.set(id, stack);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    const random = prng(7);
    const keys = ['streamName', 'initialPosition', 'maxRecordsPerCall', 'pollIntervalMs', 'shardDiscoveryIntervalMs', 'highWaterMark', 'decode', 'deaggregate', 'mode', 'consumerName', 'retry', 'checkpointStore', 'applicationName', 'endpoint'];
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      const key = pick(random, keys);
      const value = pick(random, WEIRD);
      const options = { client: new FakeKinesis().asClient(), streamName: 's', [key]: value } as unknown as KinesisReadableOptions;
      if (key === 'endpoint') delete (options as { client?: unknown }).client;
      try {
        createKinesisReadable(options).destroy();
      } catch (error) {
        errors++;
        assert.ok(error instanceof ValidationError, `${key}=${String(value)}: ${String(error)}`);
        assert.ok(error.field.startsWith(key) || (key === 'retry' && error.field.startsWith('retry')), `${key}: field ${error.field}`);
      }
    }
    assert.ok(errors > 150, `${errors} of 400 were rejected`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // let constructions run
    hook.disable();
    assert.equal(live.size, 0, 'a reader that failed to construct, or was destroyed, left no timer running');
  });

  it('writer items: each bad item errors the stream with a stable code and field, after storing what came before', async () => {
    const random = prng(99);
    for (let i = 0; i < 60; i++) {
      const fake = new FakeKinesis();
      fake.addStream('s', 1);
      const bad = pick(random, BAD_ITEMS);
      const good = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, n) => `ok-${n}`);
      const writer = createKinesisWritable({ client: fake.asClient(), streamName: 's' });
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        pipeline(Readable.from([...good, bad, 'after']), writer).then(
          () => 'finished',
          (error: unknown) => error,
        ),
        new Promise((resolve) => (timer = setTimeout(() => resolve('hang'), 5000))),
      ]);
      clearTimeout(timer);
      assert.notEqual(result, 'hang', `item ${i} hung`);
      if (bad === undefined || typeof bad !== 'object' || Buffer.isBuffer(bad) || 'data' in (bad as object) || bad === circular) {
        assert.ok(isStableError(result), `item ${i}: ${String(result)}`);
        assert.ok(result instanceof ValidationError && result.field.length > 0);
        assert.deepEqual(fake.stored.map((r) => r.data.toString()), good, `item ${i}: what came before is stored`);
      }
      assert.ok(!fake.stored.some((r) => r.data.toString() === 'after'), 'nothing after the bad item');
    }
  });

  it('checkpoint() with junk rejects with a ValidationError, never throws synchronously', async () => {
    const fake = new FakeKinesis();
    fake.addStream('s', 1);
    const reader = createKinesisReadable({ client: fake.asClient(), streamName: 's' });
    for (const junk of WEIRD) {
      const promise = reader.checkpoint(junk as never);
      assert.ok(promise instanceof Promise);
      await promise.then(
        () => assert.ok(junk === undefined || (Array.isArray(junk) && junk.length === 0), `${String(junk)} was accepted`),
        (error: unknown) => assert.ok(error instanceof ValidationError && error.field === 'record', String(error)),
      );
    }
    reader.destroy();
  });
});
