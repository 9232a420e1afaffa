import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { StreamNotFoundError, createKinesisWritable } from '../../lib/index.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { readStored } from '../helpers/streams.js';

describe('createKinesisWritable on kinesalite', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
    await Promise.all([
      createTestStream(server.endpoint, 'bulk', 4),
      createTestStream(server.endpoint, 'left', 1),
      createTestStream(server.endpoint, 'right', 1),
      createTestStream(server.endpoint, 'envelopes', 2),
    ]);
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('lands 20k records through pipeline() exactly once with the right keys', async () => {
    const count = 20000;
    const writer = createKinesisWritable<{ n: number; user: string }>({
      endpoint: server.endpoint,
      streamName: 'bulk',
      partitionKey: (item) => item.user,
    });
    await pipeline(
      Readable.from(
        (function* () {
          for (let n = 0; n < count; n++) yield { n, user: `user-${n % 97}` };
        })(),
      ),
      writer,
    );
    const records = await readStored(client, 'bulk');
    assert.equal(records.length, count);
    const seen = new Set<number>();
    for (const record of records) {
      const item = JSON.parse(Buffer.from(record.Data ?? []).toString()) as { n: number; user: string };
      assert.equal(record.PartitionKey, item.user);
      seen.add(item.n);
    }
    assert.equal(seen.size, count);
    assert.equal(writer.stats().recordsWritten, count);
    assert.equal(writer.stats().buffered, 0);
  });

  it('routes items to streams with streamNameFor', async () => {
    const writer = createKinesisWritable<{ side: string; n: number }>({
      endpoint: server.endpoint,
      streamName: 'left',
      streamNameFor: (item) => (item.side === 'right' ? 'right' : undefined),
    });
    const items = Array.from({ length: 200 }, (_, n) => ({ side: n % 3 === 0 ? 'right' : 'left', n }));
    await pipeline(Readable.from(items), writer);
    const left = (await readStored(client, 'left')).map((r) => JSON.parse(Buffer.from(r.Data ?? []).toString()) as { side: string });
    const right = (await readStored(client, 'right')).map((r) => JSON.parse(Buffer.from(r.Data ?? []).toString()) as { side: string });
    assert.equal(right.length, 67);
    assert.equal(left.length, 133);
    assert.ok(right.every((i) => i.side === 'right') && left.every((i) => i.side === 'left'));
  });

  it('writes envelopes with their data, partition key and explicit hash key', async () => {
    const writer = createKinesisWritable({ endpoint: server.endpoint, streamName: 'envelopes' });
    const maxHash = ((1n << 128n) - 1n).toString();
    await pipeline(
      Readable.from([
        { data: Buffer.from([0, 1, 2, 255]), partitionKey: 'bin' },
        { data: 'text ✓', partitionKey: 'txt', explicitHashKey: maxHash },
      ]),
      writer,
    );
    const records = await readStored(client, 'envelopes');
    const byKey = new Map(records.map((r) => [r.PartitionKey, r]));
    assert.deepEqual(Buffer.from(byKey.get('bin')?.Data ?? []), Buffer.from([0, 1, 2, 255]));
    assert.equal(Buffer.from(byKey.get('txt')?.Data ?? []).toString(), 'text ✓');
    const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: 'envelopes' }));
    const top = Shards.find((s) => s.HashKeyRange?.EndingHashKey === maxHash);
    assert.equal(byKey.get('txt')?.shardId, top?.ShardId, 'the explicit hash key placed the record on the top shard');
  });

  it('errors with StreamNotFoundError for a stream that does not exist', async () => {
    const writer = createKinesisWritable({ endpoint: server.endpoint, streamName: 'no-such-stream' });
    await assert.rejects(pipeline(Readable.from(['a', 'b']), writer), (error: unknown) => {
      assert.ok(error instanceof StreamNotFoundError);
      assert.equal(error.streamName, 'no-such-stream');
      assert.deepEqual(error.failedRecords?.map((f) => f.item).sort(), ['a', 'b']);
      return true;
    });
  });
});
