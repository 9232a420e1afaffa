import assert from 'node:assert/strict';
import { once } from 'node:events';
import sinon from 'sinon';
import { MemoryCheckpointStore, createKinesisReadable, type KinesisReadable, type KinesisReadableOptions, type RetryEvent } from '../../../lib/index.js';
import { FakeKinesis, serviceError } from '../../helpers/fake-kinesis.js';
import { drive } from '../../helpers/fake-time.js';
import { readUntil } from '../../helpers/streams.js';

const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';

type Clock = sinon.SinonFakeTimers;

function reader(fake: FakeKinesis, options: Partial<KinesisReadableOptions> = {}): KinesisReadable {
  return createKinesisReadable({
    client: fake.asClient(),
    streamName: 'events',
    mode: 'efo',
    consumerName: 'app',
    initialPosition: 'TRIM_HORIZON',
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    ...options,
  });
}

function fill(fake: FakeKinesis, shardId: string, count: number): void {
  for (let i = 0; i < count; i++) fake.append('events', shardId, `${shardId.slice(-1)}:${i}`, `key-${shardId.slice(-1)}`);
}

describe('createKinesisReadable in EFO mode', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('registers the consumer and reads every shard by SubscribeToShard, in order', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 2);
    fill(fake, S0, 10);
    fill(fake, S1, 10);
    const r = reader(fake);
    const records = await drive(clock, readUntil(r, 20));
    for (const shard of [S0, S1]) {
      assert.deepEqual(
        records.filter((x) => x.shardId === shard).map((x) => x.data.toString()),
        Array.from({ length: 10 }, (_, i) => `${shard.slice(-1)}:${i}`),
      );
    }
    assert.deepEqual([...fake.consumers.keys()], ['events|app']);
    assert.equal(fake.readCount('GetRecordsCommand'), 0);
    r.destroy();
  });

  it('reuses an existing consumer of the same name', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fake.consumers.set('events|app', 'arn:consumer/events|app');
    fill(fake, S0, 1);
    const r = reader(fake);
    await drive(clock, readUntil(r, 1));
    assert.equal(fake.subscriptions.length, 1);
    r.destroy();
  });

  it('subscribes again when a subscription ends (the 5-minute expiry), from the continuation, no sooner than 5 s later', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 12);
    fake.eventsPerSubscription = 2; // a shortened subscription
    fake.recordsPerEvent = 2;
    const r = reader(fake);
    const records = await drive(clock, readUntil(r, 12));
    assert.deepEqual(records.map((x) => x.data.toString()), Array.from({ length: 12 }, (_, i) => `0:${i}`));
    assert.ok(fake.subscriptions.length >= 3);
    assert.equal(fake.subscriptions[0].type, 'TRIM_HORIZON');
    for (let i = 1; i < fake.subscriptions.length; i++) {
      assert.equal(fake.subscriptions[i].type, 'AFTER_SEQUENCE_NUMBER');
      assert.ok(fake.subscriptions[i].at - fake.subscriptions[i - 1].at >= 5000, `subscription ${i} came too soon`);
    }
    assert.equal(fake.subscriptions[1].sequenceNumber, records[3].sequenceNumber);
    r.destroy();
  });

  it('does not pull events while the consumer applies backpressure', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 300);
    fake.recordsPerEvent = 10;
    const r = reader(fake, { highWaterMark: 5 });
    await drive(clock, new Promise<void>((resolve) => setTimeout(resolve, 10000)));
    assert.ok(fake.eventsPulled <= 2, `${fake.eventsPulled} events pulled while nobody read`);
    const records = await drive(clock, readUntil(r, 300));
    assert.equal(new Set(records.map((x) => x.sequenceNumber)).size, 300);
    r.destroy();
  });

  it('waits out ResourceInUse (another reader holds the shard) and reads once it lets go', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 3);
    fake.failSubscription = (call) => (call < 3 ? serviceError('ResourceInUseException') : undefined);
    const r = reader(fake, { retry: { maxAttempts: 2, baseDelayMs: 10 } });
    const retries: RetryEvent[] = [];
    r.on('retry', (e: RetryEvent) => retries.push(e));
    const records = await drive(clock, readUntil(r, 3));
    assert.equal(records.length, 3);
    assert.deepEqual(retries.map((e) => e.operation), ['SubscribeToShard', 'SubscribeToShard', 'SubscribeToShard']);
    r.destroy();
  });

  it('follows ChildShards at shard end, parent before child', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 5);
    fake.reshard('events', [S0], [S1]);
    fake.append('events', S1, 'child', 'key-0');
    const ends: string[] = [];
    const r = reader(fake, { shardDiscoveryIntervalMs: 60000 });
    r.on('shardEnd', (e: { shardId: string }) => ends.push(e.shardId));
    const records = await drive(clock, readUntil(r, 6));
    assert.deepEqual(records.map((x) => x.data.toString()), ['0:0', '0:1', '0:2', '0:3', '0:4', 'child']);
    assert.deepEqual(ends, [S0]);
    r.destroy();
  });

  it('reads the rest of a shard closed under it with GetRecords when the subscription does not report the end', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fake.subscriptionsIgnoreShardEnd = true;
    fill(fake, S0, 3);
    const r = reader(fake, { shardDiscoveryIntervalMs: 1000 });
    const first = await drive(clock, readUntil(r, 3));
    fake.append('events', S0, '0:3', 'key-0');
    fake.reshard('events', [S0], [S1]);
    fake.append('events', S1, 'child', 'key-0');
    const rest = await drive(clock, readUntil(r, 2));
    assert.deepEqual([...first, ...rest].map((x) => x.data.toString()), ['0:0', '0:1', '0:2', '0:3', 'child']);
    assert.ok(fake.readCount('GetRecordsCommand') >= 1, 'the end was found by polling');
    r.destroy();
  });

  it('resumes after a checkpoint with AFTER_SEQUENCE_NUMBER', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    fill(fake, S0, 4);
    const store = new MemoryCheckpointStore();
    const first = reader(fake, { checkpointStore: store, highWaterMark: 1 });
    const read = await drive(clock, readUntil(first, 2));
    await first.checkpoint(read[1]);
    first.destroy();
    const second = reader(fake, { checkpointStore: store });
    const rest = await drive(clock, readUntil(second, 2));
    assert.deepEqual(rest.map((x) => x.data.toString()), ['0:2', '0:3']);
    assert.equal(fake.subscriptions.at(-1)?.type, 'AFTER_SEQUENCE_NUMBER');
    second.destroy();
  });

  it('deregisters the consumer on close only when asked', async () => {
    const fake = new FakeKinesis();
    fake.addStream('events', 1);
    const kept = reader(fake);
    await drive(clock, once(kept, 'shardStart').catch(() => undefined));
    kept.destroy();
    await drive(clock, once(kept, 'close'));
    assert.equal(fake.consumers.size, 1);
    const dropped = reader(fake, { deregisterConsumerOnClose: true });
    await drive(clock, once(dropped, 'shardStart').catch(() => undefined));
    dropped.destroy();
    await drive(clock, once(dropped, 'close'));
    assert.equal(fake.consumers.size, 0);
  });

  it('a missing stream is a StreamNotFoundError', async () => {
    const fake = new FakeKinesis();
    const r = reader(fake, { streamName: 'missing' });
    const [error] = await drive(clock, once(r, 'error').catch((e: unknown) => [e]));
    assert.equal((error as { code: string }).code, 'ERR_KINESIS_STREAM_NOT_FOUND');
  });
});
