import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deaggregateRecord } from '../../../lib/aggregation/deaggregate.js';
import { hashKeyOf } from '../../../lib/aggregation/hash-key.js';
import { createKinesisWritable, type FailedRecord, type KinesisWritableOptions } from '../../../lib/index.js';
import { FakeKinesis, serviceError, type StoredRecord } from '../../helpers/fake-kinesis.js';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 2 };

function writer<T>(fake: FakeKinesis, options: Partial<KinesisWritableOptions<T>> = {}) {
  return createKinesisWritable<T>({ client: fake.asClient(), streamName: 'events', aggregation: true, retry: fastRetry, ...options });
}

interface User {
  partitionKey: string;
  explicitHashKey?: string;
  data: string;
  shardId: string | undefined;
}

/** Every user record stored, unpacked from the aggregates, with the shard it landed on. */
function users(stored: StoredRecord[]): User[] {
  return stored.flatMap((record) => {
    const result = deaggregateRecord(record.data);
    if (result.kind !== 'aggregate') return [{ partitionKey: record.partitionKey, data: record.data.toString(), shardId: record.shardId }];
    return result.records.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: r.data.toString(), shardId: record.shardId }));
  });
}

function inShard(fake: FakeKinesis, user: User): boolean {
  const shard = fake.shard('events', user.shardId ?? '');
  const hash = BigInt(`0x${hashKeyOf(user.partitionKey, user.explicitHashKey).toString('hex')}`);
  return BigInt(shard.hashKeyRange[0]) <= hash && hash <= BigInt(shard.hashKeyRange[1]);
}

describe('createKinesisWritable with aggregation', () => {
  it('packs keyed records per shard into few aggregates; every user record lands once, on its own shard, in order per key', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 4);
    const items = Array.from({ length: 3000 }, (_, n) => ({ data: `${n}`, partitionKey: `user-${n % 50}` }));
    const w = writer(fake);
    await pipeline(Readable.from(items), w);
    assert.ok(fake.stored.length < 40, `${fake.stored.length} Kinesis records`);
    const unpacked = users(fake.stored);
    assert.deepEqual(unpacked.map((u) => u.data).sort(), items.map((i) => i.data).sort());
    assert.ok(unpacked.every((u) => inShard(fake, u)), 'no aggregate mixes shards');
    const last = new Map<string, number>();
    for (const u of unpacked) {
      assert.ok(Number(u.data) > (last.get(u.partitionKey) ?? -1));
      last.set(u.partitionKey, Number(u.data));
    }
    assert.equal(w.stats().recordsWritten, 3000);
    assert.equal(fake.readCount('ListShardsCommand'), 1);
  });

  it('records without a key share one random key per aggregate', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 2);
    await pipeline(Readable.from(Array.from({ length: 1000 }, (_, n) => `r${n}`)), writer(fake));
    const unpacked = users(fake.stored);
    assert.equal(unpacked.length, 1000);
    assert.ok(new Set(unpacked.map((u) => u.partitionKey)).size <= fake.stored.length);
    assert.ok(unpacked.every((u) => inShard(fake, u)));
  });

  it('keeps each aggregate within maxBytes (data + partition key) and sends too-large records plain', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    const items = [...Array.from({ length: 300 }, (_, n) => ({ data: 'x'.repeat(100), partitionKey: `k${n}` })), { data: 'y'.repeat(3000), partitionKey: 'big' }];
    await pipeline(Readable.from(items), writer(fake, { aggregation: { maxBytes: 2000 } }));
    for (const record of fake.stored) assert.ok(record.data.length + Buffer.byteLength(record.partitionKey) <= 3010);
    const aggregates = fake.stored.filter((r) => deaggregateRecord(r.data).kind === 'aggregate');
    for (const record of aggregates) assert.ok(record.data.length + Buffer.byteLength(record.partitionKey) <= 2000);
    assert.ok(fake.stored.some((r) => r.partitionKey === 'big' && r.data.toString() === 'y'.repeat(3000)), 'the large one went plain');
    assert.equal(users(fake.stored).length, 301);
  });

  it('retries a failed aggregate whole and reports each user record when it gives up', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    let calls = 0;
    fake.failEntry = () => (calls++ < 1 ? 'ProvisionedThroughputExceededException' : undefined);
    await pipeline(Readable.from(['a', 'b', 'c']), writer(fake));
    assert.deepEqual(users(fake.stored).map((u) => u.data).sort(), ['a', 'b', 'c']);

    const failing = new FakeKinesis();
    failing.addStream('events', 1);
    failing.failEntry = () => 'InternalFailure';
    const w = writer(failing, { failOnError: false, retry: { ...fastRetry, maxAttempts: 2 } });
    const failed: FailedRecord[] = [];
    w.on('failedRecords', (records: FailedRecord[]) => failed.push(...records));
    await pipeline(Readable.from(['a', 'b', 'c']), w);
    assert.deepEqual(failed.map((f) => f.item).sort(), ['a', 'b', 'c']);
    assert.equal(w.stats().failed, 3);
  });

  it('after a reshard the map is stale: user records outside the shard the aggregate landed on are written again', async () => {
    const fake = new FakeKinesis();
    const [parent] = fake.addStream('events', 1);
    const w = writer<{ data: string; partitionKey: string }>(fake, { lingerMs: 0 });
    w.write({ data: 'warm-up', partitionKey: 'k0' });
    await w.flush(); // the writer now holds a one-shard map
    const middle = (1n << 127n).toString();
    fake.reshard('events', [parent.shardId], ['shardId-000000000001', 'shardId-000000000002']);
    fake.shard('events', 'shardId-000000000001').hashKeyRange = ['0', (BigInt(middle) - 1n).toString()];
    fake.shard('events', 'shardId-000000000002').hashKeyRange = [middle, ((1n << 128n) - 1n).toString()];
    const items = Array.from({ length: 200 }, (_, n) => ({ data: `${n}`, partitionKey: `key-${n}` }));
    for (const item of items) w.write(item);
    await w.flush();
    w.end();
    // What a KCL consumer keeps: user records inside the shard their aggregate is on.
    const kept = users(fake.stored).filter((u) => u.shardId === parent.shardId || inShard(fake, u));
    const keptData = new Set(kept.map((u) => u.data));
    for (const item of items) assert.ok(keptData.has(item.data), `record ${item.data} would be lost`);
    assert.ok(fake.readCount('ListShardsCommand') >= 2, 'the map was reloaded');
  });

  it('stops with StreamNotFoundError when the stream cannot be listed', async () => {
    const fake = new FakeKinesis();
    const error = await pipeline(Readable.from(['a']), writer(fake, { streamName: 'missing' })).then(
      () => assert.fail('should fail'),
      (e: unknown) => e as Error & { code: string; failedRecords?: FailedRecord[] },
    );
    assert.equal(error.code, 'ERR_KINESIS_STREAM_NOT_FOUND');
    assert.deepEqual(error.failedRecords?.map((f) => f.item), ['a']);
  });

  it('retries a throttled ListShards even when nothing more is written (end() waits for it)', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    let failures = 0;
    fake.failRead = (operation) => (operation === 'ListShardsCommand' && failures++ < 3 ? serviceError('ThrottlingException') : undefined);
    const w = writer(fake, { retry: { baseDelayMs: 20, maxDelayMs: 40 } });
    w.end('only');
    await new Promise((resolve, reject) => w.once('finish', resolve).once('error', reject));
    assert.equal(users(fake.stored).length, 1);
  });

  it('retries a throttled ListShards', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    let failures = 0;
    fake.failRead = (operation) => (operation === 'ListShardsCommand' && failures++ < 2 ? serviceError('LimitExceededException') : undefined);
    const w = writer(fake);
    const retries: string[] = [];
    w.on('retry', (e: { operation: string }) => retries.push(e.operation));
    await pipeline(Readable.from(['a']), w);
    assert.deepEqual(retries, ['ListShards', 'ListShards']);
    assert.equal(users(fake.stored).length, 1);
  });
});
