import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import sinon from 'sinon';
import {
  DecodeError,
  KinesisRequestError,
  MemoryCheckpointStore,
  StreamNotFoundError,
  ValidationError,
  createKinesisReadable,
  type KinesisReadable,
  type KinesisReadableOptions,
  type KinesisRecord,
  type RetryEvent,
  type ShardStartEvent,
} from '../../../lib/index.js';
import { FakeKinesis, serviceError } from '../../helpers/fake-kinesis.js';
import { CHANNELS } from '../../../lib/metrics/channels.js';
import { aggregate } from '../../../lib/aggregation/aggregate.js';
import { hashKeyOf, hashKeyToDecimal } from '../../../lib/aggregation/hash-key.js';
import { drive } from '../../helpers/fake-time.js';
import { readUntil } from '../../helpers/streams.js';

const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';
const S2 = 'shardId-000000000002';

type Clock = sinon.SinonFakeTimers;

function reader<T = Buffer>(fake: FakeKinesis, options: Partial<KinesisReadableOptions<T>> = {}): KinesisReadable<T> {
  return createKinesisReadable<T>({
    client: fake.asClient(),
    streamName: 'events',
    initialPosition: 'TRIM_HORIZON',
    pollIntervalMs: 200,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

function fill(fake: FakeKinesis, shardId: string, count: number, prefix = shardId.slice(-1)): string[] {
  return Array.from({ length: count }, (_, i) => fake.append('events', shardId, `${prefix}:${i}`, `key-${prefix}`));
}

function texts(records: KinesisRecord<Buffer>[]): string[] {
  return records.map((r) => r.data.toString());
}

describe('createKinesisReadable', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('reads every record of every shard exactly once, in shard order', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 3);
    for (const shard of [S0, S1, S2]) fill(fake, shard, 50);
    const r = reader(fake, { maxRecordsPerCall: 20 });
    const records = await drive(clock, readUntil(r, 150));
    for (const shard of [S0, S1, S2]) {
      const mine = records.filter((x) => x.shardId === shard).map((x) => x.data.toString());
      assert.deepEqual(mine, Array.from({ length: 50 }, (_, i) => `${shard.slice(-1)}:${i}`));
    }
    const first = records[0];
    assert.equal(first.streamName, 'events');
    assert.equal(first.partitionKey, 'key-0');
    assert.ok(first.approximateArrivalTimestamp instanceof Date);
    assert.equal(typeof first.millisBehindLatest, 'number');
    assert.equal(r.stats().recordsRead, 150);
    r.destroy();
  });

  it('merges shards fairly, one record from each in turn', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 2);
    fill(fake, S0, 10);
    fill(fake, S1, 10);
    const r = reader(fake, { highWaterMark: 1 });
    await drive(clock, new Promise<void>((resolve) => setTimeout(resolve, 1000))); // both batches fetched
    const records = await drive(clock, readUntil(r, 20));
    for (let i = 1; i < 20; i++) assert.notEqual(records[i].shardId, records[i - 1].shardId, `record ${i}`);
    r.destroy();
  });

  it('fetches nothing more while the consumer applies backpressure, and holds at most shards × maxRecordsPerCall + highWaterMark', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 2);
    fill(fake, S0, 500);
    fill(fake, S1, 500);
    const r = reader(fake, { maxRecordsPerCall: 50, highWaterMark: 10 });
    // Nobody reads: let the reader run for a long (fake) time.
    await drive(clock, new Promise<void>((resolve) => setTimeout(resolve, 30000)));
    const getRecords = fake.readCount('GetRecordsCommand');
    assert.ok(getRecords <= 2, `only the first batch per shard was fetched (${getRecords})`);
    assert.ok(r.readableLength <= 10, `readable buffer ${r.readableLength}`);
    const held = r.readableLength + 2 * 50;
    assert.ok(held <= 2 * 50 + 10);
    // Reading resumes the fetching.
    const records = await drive(clock, readUntil(r, 1000));
    assert.equal(new Set(records.map((x) => x.sequenceNumber)).size, 1000);
    assert.ok(fake.readCount('GetRecordsCommand') >= 20);
    r.destroy();
  });

  it('starts a split child only after its parent reached SHARD_END and was pushed, at TRIM_HORIZON', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 30, 'p');
    fake.reshard('events', [S0], ['shardId-000000000001', 'shardId-000000000002']);
    fake.append('events', S1, 'c1:0', 'key-p');
    fake.append('events', S2, 'c2:0', 'key-p');
    const starts: ShardStartEvent[] = [];
    const ends: string[] = [];
    const r = reader(fake, { maxRecordsPerCall: 10 });
    r.on('shardStart', (e: ShardStartEvent) => starts.push(e));
    r.on('shardEnd', (e: { shardId: string }) => ends.push(e.shardId));
    const records = await drive(clock, readUntil(r, 32));
    assert.deepEqual(texts(records.slice(0, 30)), Array.from({ length: 30 }, (_, i) => `p:${i}`));
    assert.deepEqual(texts(records.slice(30)).sort(), ['c1:0', 'c2:0']);
    assert.deepEqual(starts.map((s) => s.shardId), [S0, S1, S2]);
    assert.deepEqual(starts.map((s) => s.position.type), ['TRIM_HORIZON', 'TRIM_HORIZON', 'TRIM_HORIZON']);
    assert.deepEqual(ends, [S0]);
    r.destroy();
  });

  it('starts a merged child only after both parents finished', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 2);
    fill(fake, S0, 5, 'a');
    fill(fake, S1, 40, 'b');
    fake.reshard('events', [S0, S1], [S2]);
    fake.append('events', S2, 'm:0', 'key-b');
    const r = reader(fake, { maxRecordsPerCall: 5 });
    const records = await drive(clock, readUntil(r, 46));
    assert.equal(records.at(-1)?.data.toString(), 'm:0');
    assert.equal(records.findIndex((x) => x.shardId === S2), 45);
    r.destroy();
  });

  it('with LATEST delivers only records written after start and skips closed shards', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 5, 'old');
    fake.reshard('events', [S0], [S1]);
    fake.append('events', S1, 'old-child', 'k');
    const starts: ShardStartEvent[] = [];
    const r = reader(fake, { initialPosition: 'LATEST' });
    r.on('shardStart', (e: ShardStartEvent) => starts.push(e));
    await drive(clock, once(r, 'shardStart'));
    await clock.tickAsync(500);
    fake.append('events', S1, 'new', 'k');
    const [record] = await drive(clock, readUntil(r, 1));
    assert.equal(record.data.toString(), 'new');
    assert.deepEqual(starts.map((s) => [s.shardId, s.position.type]), [[S1, 'LATEST']]);
    r.destroy();
  });

  it('merges several streams into one Readable and reports per-shard stats', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fake.addStream('audit', 2);
    fill(fake, S0, 3);
    fake.append('audit', S0, 'a0');
    fake.append('audit', S1, 'a1');
    const store = new MemoryCheckpointStore();
    const r = reader(fake, { streamName: ['events', 'audit'], checkpointStore: store });
    const records = await drive(clock, readUntil(r, 5));
    assert.deepEqual(records.map((x) => `${x.streamName}:${x.data.toString()}`).sort(), ['audit:a0', 'audit:a1', 'events:0:0', 'events:0:1', 'events:0:2']);
    await r.checkpoint();
    assert.deepEqual([...store.entries().keys()].sort(), [`audit/${S0}`, `audit/${S1}`, `events/${S0}`]);
    const stats = r.stats();
    assert.equal(stats.recordsRead, 5);
    assert.equal(stats.bytesRead, 3 * 3 + 2 * 2);
    const events0 = stats.shards.find((s) => s.streamName === 'events');
    assert.equal(events0?.state, 'reading');
    assert.equal(events0?.lastSequenceNumber, records.filter((x) => x.streamName === 'events').at(-1)?.sequenceNumber);
    assert.deepEqual(events0?.checkpoint, { sequenceNumber: events0?.lastSequenceNumber });
    assert.equal(events0?.millisBehindLatest, 0);
    r.destroy();
  });

  it('retries a throttled ListShards', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 1);
    let failed = false;
    fake.failRead = (operation) => {
      if (operation !== 'ListShardsCommand' || failed) return undefined;
      failed = true;
      return serviceError('LimitExceededException');
    };
    const r = reader(fake);
    const retries: RetryEvent[] = [];
    r.on('retry', (e: RetryEvent) => retries.push(e));
    await drive(clock, readUntil(r, 1));
    assert.deepEqual(retries.map((e) => e.operation), ['ListShards']);
    r.destroy();
  });

  describe('checkpoints', () => {
    it('checkpoint() stores what the consumer has read, per shard, and never moves back', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 2);
      const s0 = fill(fake, S0, 5);
      const s1 = fill(fake, S1, 5);
      const store = new MemoryCheckpointStore();
      const r = reader(fake, { checkpointStore: store, highWaterMark: 2 });
      const records = await drive(clock, readUntil(r, 4));
      await r.checkpoint();
      const read0 = records.filter((x) => x.shardId === S0).at(-1)?.sequenceNumber;
      const read1 = records.filter((x) => x.shardId === S1).at(-1)?.sequenceNumber;
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: read0 });
      assert.deepEqual(await store.get('events', S1), { sequenceNumber: read1 });
      assert.ok(s0.includes(read0 ?? '') && s1.includes(read1 ?? ''));
      // An older record does not move the shard back.
      await r.checkpoint(records[0]);
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: read0 });
      r.destroy();
    });

    it("checkpoint() inside a 'data' listener includes the record being handled, not the ones after it", async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      const sequenceNumbers = fill(fake, S0, 6);
      const store = new MemoryCheckpointStore();
      const r = reader(fake, { checkpointStore: store });
      const stored = new Promise<unknown>((resolve, reject) => {
        let seen = 0;
        r.on('data', () => {
          // Records handed straight to the listener are consumed as they are handed over.
          if (++seen === 3) r.checkpoint().then(() => resolve(store.get('events', S0)), reject);
        });
      });
      assert.deepEqual(await drive(clock, stored), { sequenceNumber: sequenceNumbers[2] });
      r.destroy();
    });

    it('records:read counts, and stats() bytes, include the part of an answer handed over before destroy()', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 10);
      const counted: number[] = [];
      const onRead = (message: unknown): void => {
        counted.push((message as { records: number }).records);
      };
      diagnosticsChannel.subscribe(CHANNELS.recordsRead, onRead);
      try {
        const r = reader(fake);
        let seen = 0;
        const closed = once(r, 'close');
        r.on('data', () => {
          if (++seen === 4) r.destroy();
        });
        await drive(clock, closed);
        assert.equal(seen, 4);
        assert.deepEqual(counted, [4]);
        assert.equal(r.stats().bytesRead, 4 * '0:0'.length);
      } finally {
        diagnosticsChannel.unsubscribe(CHANNELS.recordsRead, onRead);
      }
    });

    it('checkpoint(record) stores that record; the last record of a finished shard becomes SHARD_END', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 3);
      fake.reshard('events', [S0], [S1]);
      fake.append('events', S1, 'child', 'k');
      const store = new MemoryCheckpointStore();
      const events: unknown[] = [];
      const r = reader(fake, { checkpointStore: store });
      r.on('checkpoint', (e: unknown) => events.push(e));
      const records = await drive(clock, readUntil(r, 4));
      await r.checkpoint(records[1]);
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: records[1].sequenceNumber });
      await r.checkpoint([records[2], records[3]]);
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: 'SHARD_END' });
      assert.deepEqual(await store.get('events', S1), { sequenceNumber: records[3].sequenceNumber });
      assert.ok(events.some((e) => JSON.stringify(e) === JSON.stringify({ streamName: 'events', shardId: S0, checkpoint: { sequenceNumber: 'SHARD_END' } })));
      assert.equal(r.stats().shards.find((s) => s.shardId === S0)?.checkpoint?.sequenceNumber, 'SHARD_END');
      r.destroy();
    });

    it('stores SHARD_END at once for a finished shard whose records are all checkpointed', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.reshard('events', [S0], [S1]); // empty parent
      const store = new MemoryCheckpointStore();
      const r = reader(fake, { checkpointStore: store });
      await drive(clock, once(r, 'checkpoint'));
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: 'SHARD_END' });
      r.destroy();
    });

    it('resumes after the stored checkpoint and skips SHARD_END shards', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 2);
      const s0 = fill(fake, S0, 5);
      fill(fake, S1, 5);
      fake.reshard('events', [S1], [S2]);
      fake.append('events', S2, 'child', 'k');
      const store = new MemoryCheckpointStore();
      await store.set('events', S0, { sequenceNumber: s0[2] });
      await store.set('events', S1, { sequenceNumber: 'SHARD_END' });
      const r = reader(fake, { checkpointStore: store });
      const records = await drive(clock, readUntil(r, 3));
      assert.deepEqual(texts(records).sort(), ['0:3', '0:4', 'child']);
      const iteratorCalls = fake.readCalls.filter(([op]) => op === 'GetShardIteratorCommand').map(([, input]) => input as { ShardId: string; ShardIteratorType: string });
      assert.deepEqual(
        iteratorCalls.map((c) => [c.ShardId, c.ShardIteratorType]).sort(),
        [[S0, 'AFTER_SEQUENCE_NUMBER'], [S2, 'TRIM_HORIZON']],
      );
      r.destroy();
    });

    it('namespaces checkpoints by applicationName', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 1);
      const store = new MemoryCheckpointStore();
      const r = reader(fake, { checkpointStore: store, applicationName: 'billing' });
      const [record] = await drive(clock, readUntil(r, 1));
      await r.checkpoint(record);
      assert.deepEqual([...store.entries().keys()], [`billing/events/${S0}`]);
      r.destroy();
    });

    it('rejects records it did not deliver', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 1);
      const r = reader(fake);
      const [record] = await drive(clock, readUntil(r, 1));
      await assert.rejects(r.checkpoint({ ...record, shardId: 'shardId-9' }), ValidationError);
      await assert.rejects(r.checkpoint({ ...record, sequenceNumber: '9'.repeat(30) }), ValidationError);
      await assert.rejects(r.checkpoint({} as KinesisRecord), ValidationError);
      r.destroy();
    });
  });

  describe('KPL de-aggregation', () => {
    function appendAggregate(fake: FakeKinesis, shardId: string, keys: string[], prefix: string): string {
      const [record] = aggregate(keys.map((key, i) => ({ partitionKey: key, data: Buffer.from(`${prefix}${i}`) })));
      return fake.append('events', shardId, record.data, record.partitionKey);
    }

    it('splits aggregates into user records with subSequenceNumber, next to plain records', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.append('events', S0, 'plain-before', 'p');
      const sequenceNumber = appendAggregate(fake, S0, ['a', 'b', 'a'], 'agg');
      fake.append('events', S0, 'plain-after', 'p');
      const r = reader(fake);
      const records = await drive(clock, readUntil(r, 5));
      assert.deepEqual(
        records.map((x) => [x.data.toString(), x.partitionKey, x.subSequenceNumber]),
        [['plain-before', 'p', undefined], ['agg0', 'a', 0], ['agg1', 'b', 1], ['agg2', 'a', 2], ['plain-after', 'p', undefined]],
      );
      assert.ok(records.slice(1, 4).every((x) => x.sequenceNumber === sequenceNumber));
      r.destroy();
    });

    it('deaggregate: false yields the raw aggregated record', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      appendAggregate(fake, S0, ['a', 'b'], 'x');
      const r = reader(fake, { deaggregate: false });
      const [record] = await drive(clock, readUntil(r, 1));
      assert.deepEqual([...record.data.subarray(0, 4)], [0xf3, 0x89, 0x9a, 0xc2]);
      assert.equal(record.subSequenceNumber, undefined);
      r.destroy();
    });

    it('delivers a record with the magic but a bad checksum whole, and counts it', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      const [good] = aggregate([{ partitionKey: 'a', data: Buffer.from('x') }]);
      const bad = Buffer.from(good.data);
      bad[bad.length - 1] ^= 0xff;
      fake.append('events', S0, bad, 'outer');
      fake.append('events', S0, 'next', 'k');
      const r = reader(fake);
      const records = await drive(clock, readUntil(r, 2));
      assert.deepEqual(records[0].data, bad);
      assert.equal(records[0].partitionKey, 'outer');
      assert.equal(r.stats().corruptAggregates, 1);
      r.destroy();
    });

    it('a checkpoint inside an aggregate resumes at the next sub-record, no loss, no repeat', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      appendAggregate(fake, S0, ['a', 'b', 'c', 'd'], 'first');
      appendAggregate(fake, S0, ['e', 'f'], 'second');
      const store = new MemoryCheckpointStore();
      const first = reader(fake, { checkpointStore: store, highWaterMark: 1 });
      const read = await drive(clock, readUntil(first, 2));
      await first.checkpoint(read[1]);
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: read[1].sequenceNumber, subSequenceNumber: 1 });
      first.destroy();
      const second = reader(fake, { checkpointStore: store });
      const rest = await drive(clock, readUntil(second, 4));
      assert.deepEqual(texts(rest), ['first2', 'first3', 'second0', 'second1']);
      const iterator = fake.readCalls.filter(([op]) => op === 'GetShardIteratorCommand').at(-1)?.[1] as { ShardIteratorType: string };
      assert.equal(iterator.ShardIteratorType, 'AT_SEQUENCE_NUMBER');
      // checkpoint() with no argument stores the sub-record position too.
      await second.checkpoint();
      assert.deepEqual(await store.get('events', S0), { sequenceNumber: rest[3].sequenceNumber, subSequenceNumber: 1 });
      second.destroy();
    });

    it('in a shard born of a reshard, drops sub-records whose hash key lies outside it, as the KCL does', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.reshard('events', [S0], [S1, S2]);
      const inside = 'key-inside';
      const hash = BigInt(hashKeyToDecimal(hashKeyOf(inside)));
      // S1 covers only [hash, hash]: every other key falls outside.
      fake.shard('events', S1).hashKeyRange = [hash.toString(), hash.toString()];
      fake.shard('events', S2).hashKeyRange = ['0', '0'];
      appendAggregate(fake, S1, [inside, 'elsewhere-1', inside, 'elsewhere-2'], 'r');
      fake.append('events', S1, 'plain', 'elsewhere-3'); // plain records are never filtered
      const r = reader(fake);
      const records = await drive(clock, readUntil(r, 3));
      assert.deepEqual(texts(records), ['r0', 'r2', 'plain']);
      assert.equal(r.stats().subRecordsDropped, 2);
      r.destroy();
    });
  });

  describe('errors and retries', () => {
    it('renews an expired iterator after the last delivered record', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 4);
      const r = reader(fake, { maxRecordsPerCall: 2 });
      const first = await drive(clock, readUntil(r, 2));
      fake.expireIterators();
      const rest = await drive(clock, readUntil(r, 2));
      assert.deepEqual(texts([...first, ...rest]), ['0:0', '0:1', '0:2', '0:3']);
      const renewed = fake.readCalls.filter(([op]) => op === 'GetShardIteratorCommand').at(-1)?.[1] as { ShardIteratorType: string; StartingSequenceNumber: string };
      assert.equal(renewed.ShardIteratorType, 'AFTER_SEQUENCE_NUMBER');
      assert.equal(renewed.StartingSequenceNumber, first[1].sequenceNumber);
      r.destroy();
    });

    it('retries throttling and 5xx with retry events', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fill(fake, S0, 2);
      let failures = 0;
      fake.failRead = (operation) => {
        if (operation === 'GetRecordsCommand' && failures < 2) {
          failures++;
          return failures === 1 ? serviceError('ProvisionedThroughputExceededException') : serviceError('InternalFailure', 500);
        }
        return undefined;
      };
      const r = reader(fake);
      const retries: RetryEvent[] = [];
      r.on('retry', (e: RetryEvent) => retries.push(e));
      const records = await drive(clock, readUntil(r, 2));
      assert.deepEqual(texts(records), ['0:0', '0:1']);
      assert.deepEqual(retries.map((e) => [e.operation, e.attempt]), [['GetRecords', 1], ['GetRecords', 2]]);
      r.destroy();
    });

    it('destroys the stream with StreamNotFoundError for a missing stream', async () => {
      const fake = new FakeKinesis();
      const r = reader(fake, { streamName: 'missing' });
      const [error] = await drive(clock, once(r, 'error').catch((e: unknown) => [e]));
      assert.ok(error instanceof StreamNotFoundError);
      assert.match(error.message, /missing/);
    });

    it('destroys the stream with a clear error on access denied', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.failRead = (operation) => (operation === 'GetRecordsCommand' ? serviceError('AccessDeniedException') : undefined);
      const r = reader(fake);
      const [error] = await drive(clock, once(r, 'error').catch((e: unknown) => [e]));
      assert.ok(error instanceof KinesisRequestError);
      assert.match(error.message, /GetRecords on events\/shardId-000000000000.*AccessDeniedException/);
    });

    it('gives up after retry.maxAttempts consecutive failures', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.failRead = (operation) => (operation === 'GetRecordsCommand' ? serviceError('InternalFailure', 500) : undefined);
      const r = reader(fake, { retry: { maxAttempts: 3, baseDelayMs: 1 } });
      const [error] = await drive(clock, once(r, 'error').catch((e: unknown) => [e]));
      assert.equal((error as KinesisRequestError).retriable, true);
      assert.equal(fake.readCount('GetRecordsCommand'), 3);
    });

    it('a JSON decode error names the shard and sequence number', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      const [sequenceNumber] = [fake.append('events', S0, 'not json')];
      const r = reader<unknown>(fake, { decode: 'json' });
      const [error] = await drive(clock, once(r, 'error').catch((e: unknown) => [e]));
      assert.ok(error instanceof DecodeError);
      assert.equal(error.code, 'ERR_KINESIS_DECODE');
      assert.ok(error.message.includes(S0) && error.message.includes(sequenceNumber));
    });

    it('decodes strings, JSON and with a function', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      fake.append('events', S0, '{"a":1}');
      const asString = reader<string>(fake, { decode: 'string' });
      assert.equal((await drive(clock, readUntil(asString, 1)))[0].data, '{"a":1}');
      asString.destroy();
      const asJson = reader<unknown>(fake, { decode: 'json' });
      assert.deepEqual((await drive(clock, readUntil(asJson, 1)))[0].data, { a: 1 });
      asJson.destroy();
      const custom = reader<number>(fake, { decode: (data, meta) => data.length + meta.shardId.length });
      assert.equal((await drive(clock, readUntil(custom, 1)))[0].data, 7 + S0.length);
      custom.destroy();
    });
  });

  describe('stop', () => {
    it('destroy() stops every timer and request and emits no error', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 2);
      const r = reader(fake);
      let errored = false;
      r.on('error', () => (errored = true));
      await drive(clock, once(r, 'shardStart'));
      await clock.tickAsync(1000);
      r.destroy();
      await drive(clock, once(r, 'close'));
      const calls = fake.readCalls.length;
      assert.equal(clock.countTimers(), 0, 'no timers left');
      await clock.tickAsync(60000);
      assert.equal(fake.readCalls.length, calls, 'no calls after destroy');
      assert.equal(errored, false);
    });

    it('an AbortSignal destroys the stream', async () => {
      const fake = new FakeKinesis();
      fake.addStream('events', 1);
      const controller = new AbortController();
      const r = reader(fake, { signal: controller.signal });
      const errored = once(r, 'error').catch((e: unknown) => [e]);
      controller.abort();
      const [error] = await drive(clock, errored);
      assert.equal((error as Error).name, 'AbortError');
      assert.equal(r.destroyed, true);
    });
  });

  describe('options', () => {
    const bad: Array<[string, Partial<KinesisReadableOptions>]> = [
      ['streamName', { streamName: '' }],
      ['streamName', { streamName: [] }],
      ['streamName', { streamName: undefined as unknown as string }],
      ['initialPosition', { initialPosition: 'EARLIEST' as 'LATEST' }],
      ['initialPosition', { initialPosition: { timestamp: new Date('nope') } }],
      ['maxRecordsPerCall', { maxRecordsPerCall: 0 }],
      ['maxRecordsPerCall', { maxRecordsPerCall: 10001 }],
      ['pollIntervalMs', { pollIntervalMs: 100 }],
      ['shardDiscoveryIntervalMs', { shardDiscoveryIntervalMs: -5 }],
      ['highWaterMark', { highWaterMark: 0 }],
      ['decode', { decode: 'xml' as 'json' }],
      ['mode', { mode: 'push' as 'polling' }],
      ['consumerName', { mode: 'efo' }],
      ['consumerName', { mode: 'efo', consumerName: '' }],
      ['consumerName', { consumerName: 'c' }],
      ['deregisterConsumerOnClose', { mode: 'efo', consumerName: 'c', deregisterConsumerOnClose: 1 as unknown as boolean }],
      ['deaggregate', { deaggregate: 'yes' as unknown as boolean }],
      ['checkpointStore', { checkpointStore: {} as MemoryCheckpointStore }],
    ];
    for (const [field, options] of bad) {
      it(`throws a ValidationError for bad ${field}`, () => {
        assert.throws(
          () => createKinesisReadable({ client: new FakeKinesis().asClient(), streamName: 'events', ...options }),
          (error: unknown) => error instanceof ValidationError && error.field === field,
        );
      });
    }
  });
});
