import assert from 'node:assert/strict';
import { once } from 'node:events';
import { DescribeStreamSummaryCommand, KinesisClient, ListStreamConsumersCommand, UpdateShardCountCommand } from '@aws-sdk/client-kinesis';
import { createKinesisReadable, type KinesisReadable } from '../../lib/index.js';
import { createTestStream, localClientConfig, startKinesisMock, type LocalServer } from '../helpers/servers.js';
import { assertExactlyOnceInOrder, range, readUntil, writeItems, type Item } from '../helpers/streams.js';

describe('enhanced fan-out on kinesis-mock', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;

  before(async () => {
    server = await startKinesisMock();
    client = new KinesisClient(localClientConfig(server.endpoint));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  function efoReader(streamName: string, consumerName = 'app'): KinesisReadable<Item> {
    return createKinesisReadable<Item>({
      endpoint: server.endpoint,
      streamName,
      mode: 'efo',
      consumerName,
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      shardDiscoveryIntervalMs: 500,
    });
  }

  it('reads 2 shards exactly once in per-key order; records written while reading arrive within 2 s', async () => {
    await createTestStream(server.endpoint, 'efo-a', 2);
    await writeItems(server.endpoint, 'efo-a', 0, 100, 5);
    const reader = efoReader('efo-a');
    try {
      const records = await readUntil(reader, 100);
      assertExactlyOnceInOrder(records, range(0, 100));
      const writtenAt = Date.now();
      await writeItems(server.endpoint, 'efo-a', 100, 101, 5);
      const [live] = await readUntil(reader, 1);
      const latency = Date.now() - writtenAt;
      assert.equal(live.data.n, 100);
      assert.ok(latency < 2000, `arrived after ${latency} ms`);
      const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: 'efo-a' }));
      const { Consumers = [] } = await client.send(new ListStreamConsumersCommand({ StreamARN: StreamDescriptionSummary?.StreamARN }));
      assert.deepEqual(Consumers.map((c) => c.ConsumerName), ['app']);
    } finally {
      reader.destroy();
      await once(reader, 'close');
    }
    // A second reader with the same consumer name reuses it (and waits until the first subscriptions are freed).
    await writeItems(server.endpoint, 'efo-a', 101, 110, 5);
    const second = efoReader('efo-a');
    try {
      const again = await readUntil(second, 110);
      assertExactlyOnceInOrder(again, range(0, 110));
    } finally {
      second.destroy();
    }
  });

  it('follows UpdateShardCount while reading', async () => {
    await createTestStream(server.endpoint, 'efo-scale', 1);
    await writeItems(server.endpoint, 'efo-scale', 0, 30, 5);
    const reader = efoReader('efo-scale');
    try {
      const records = await readUntil(reader, 30);
      await client.send(new UpdateShardCountCommand({ StreamName: 'efo-scale', TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
      for (;;) {
        const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: 'efo-scale' }));
        if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await writeItems(server.endpoint, 'efo-scale', 30, 60, 5);
      records.push(...(await readUntil(reader, 30)));
      assertExactlyOnceInOrder(records, range(0, 60));
      assert.ok(!records.slice(30).some((r) => r.shardId === records[0].shardId), 'later records come from the children');
    } finally {
      reader.destroy();
    }
  });
});
