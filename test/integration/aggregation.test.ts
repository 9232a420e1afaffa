import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import {
  MemoryCheckpointStore,
  createKinesisReadable,
  createKinesisWritable,
} from '../../lib/index.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { assertExactlyOnceInOrder, range, readUntil, type Item, readStored } from '../helpers/streams.js';

describe('KPL aggregation on kinesalite', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('50k small records land as far fewer Kinesis records and read back exactly once, in order per key', async () => {
    await createTestStream(server.endpoint, 'agg', 4);
    const total = 50000;
    const writer = createKinesisWritable<Item>({
      endpoint: server.endpoint,
      streamName: 'agg',
      aggregation: true,
      preserveOrder: true,
      partitionKey: (item) => `key-${item.key}`,
    });
    await pipeline(Readable.from((function* () { for (let n = 0; n < total; n++) yield { key: n % 500, n }; })()), writer);
    const kinesisRecords = (await readStored(client, 'agg')).length;
    assert.ok(kinesisRecords < total / 50, `${kinesisRecords} Kinesis records for ${total} user records`);
    const reader = createKinesisReadable<Item>({ endpoint: server.endpoint, streamName: 'agg', initialPosition: 'TRIM_HORIZON', decode: 'json' });
    try {
      const records = await readUntil(reader, total);
      assertExactlyOnceInOrder(records, range(0, total));
      assert.ok(records.every((r) => r.subSequenceNumber !== undefined));
      assert.equal(reader.stats().subRecordsDropped, 0);
    } finally {
      reader.destroy();
    }
  });

  it('reads a stream mixing aggregated and plain records', async () => {
    await createTestStream(server.endpoint, 'mixed', 2);
    const write = (from: number, to: number, aggregation: boolean) =>
      pipeline(
        Readable.from(Array.from({ length: to - from }, (_, i) => ({ key: (from + i) % 7, n: from + i }))),
        createKinesisWritable<Item>({ endpoint: server.endpoint, streamName: 'mixed', aggregation, preserveOrder: true, partitionKey: (item) => `k${item.key}` }),
      );
    await write(0, 300, false);
    await write(300, 600, true);
    await write(600, 900, false);
    const reader = createKinesisReadable<Item>({ endpoint: server.endpoint, streamName: 'mixed', initialPosition: 'TRIM_HORIZON', decode: 'json' });
    try {
      const records = await readUntil(reader, 900);
      assertExactlyOnceInOrder(records, range(0, 900));
      assert.equal(records.filter((r) => r.subSequenceNumber !== undefined).length, 300);
    } finally {
      reader.destroy();
    }
  });

  it('a checkpoint in the middle of an aggregate resumes at the next user record', async () => {
    await createTestStream(server.endpoint, 'agg-resume', 1);
    await pipeline(
      Readable.from(Array.from({ length: 1000 }, (_, n) => ({ key: n % 3, n }))),
      createKinesisWritable<Item>({ endpoint: server.endpoint, streamName: 'agg-resume', aggregation: true, partitionKey: (item) => `k${item.key}` }),
    );
    const store = new MemoryCheckpointStore();
    const options = { endpoint: server.endpoint, streamName: 'agg-resume', initialPosition: 'TRIM_HORIZON' as const, decode: 'json' as const, checkpointStore: store, highWaterMark: 5 };
    const first = createKinesisReadable<Item>(options);
    const before = await readUntil(first, 123);
    await first.checkpoint(before[122]);
    first.destroy();
    const checkpoint = [...store.entries().values()][0];
    assert.ok(checkpoint.subSequenceNumber !== undefined && checkpoint.subSequenceNumber > 0, 'the checkpoint is inside an aggregate');
    const second = createKinesisReadable<Item>(options);
    try {
      const after = await readUntil(second, 1000 - 123);
      assertExactlyOnceInOrder([...before, ...after], range(0, 1000));
    } finally {
      second.destroy();
    }
  });
});
