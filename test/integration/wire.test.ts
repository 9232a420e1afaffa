import assert from 'node:assert/strict';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  ResourceNotFoundException,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../lib/client.js';
import { createTestStream, localClientConfig, startKinesalite, startKinesisMock, type LocalServer } from '../helpers/servers.js';

/** The fast wire against a real local server: what it writes, the SDK's serde reads back, and the other way round. */
function wireSuite(name: string, start: () => Promise<LocalServer>): void {
  describe(`wire on ${name}`, function () {
    this.timeout(120000);
    let server: LocalServer;
    let sdk: KinesisClient;
    let fast: KinesisClient;

    before(async () => {
      server = await start();
      sdk = new KinesisClient(localClientConfig(server.endpoint));
      fast = createKinesisClient({ endpoint: server.endpoint, wire: 'fast' });
      await createTestStream(server.endpoint, 'wire', 2);
    });
    after(async () => {
      sdk?.destroy();
      fast?.destroy();
      await server?.stop();
    });

    async function readAll(client: KinesisClient): Promise<NonNullable<GetRecordsCommandOutput['Records']>> {
      const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: 'wire' }));
      const all: NonNullable<GetRecordsCommandOutput['Records']> = [];
      for (const shard of Shards) {
        const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: 'wire', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
        let iterator = ShardIterator;
        for (let i = 0; i < 20 && iterator !== undefined; i++) {
          const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
          all.push(...(out.Records ?? []));
          if ((out.Records ?? []).length === 0) break;
          iterator = out.NextShardIterator;
        }
      }
      return all.sort((a, b) => Buffer.compare(Buffer.from(a.Data ?? []), Buffer.from(b.Data ?? [])));
    }

    it('stores what the fast client writes exactly as the SDK would, and both read it the same', async () => {
      const entries = [
        ...Array.from({ length: 300 }, (_, i) => ({ Data: Buffer.from(`fast-${String(i).padStart(4, '0')}-${'é'.repeat(i % 5)}`), PartitionKey: `kéy-${i % 17}-😀` })),
        { Data: Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 0, 255]), PartitionKey: 'binary', ExplicitHashKey: '340282366920938463463374607431768211455' },
      ];
      const put = await fast.send(new PutRecordsCommand({ StreamName: 'wire', Records: entries }));
      assert.equal(put.FailedRecordCount ?? 0, 0);
      assert.equal(put.Records?.length, entries.length);
      for (const r of put.Records ?? []) assert.match(r.SequenceNumber ?? '', /^\d+$/);
      await sdk.send(new PutRecordsCommand({ StreamName: 'wire', Records: [{ Data: Buffer.from('sdk-0000'), PartitionKey: 'sdk' }] }));

      const [bySdk, byFast] = await Promise.all([readAll(sdk), readAll(fast)]);
      assert.equal(bySdk.length, entries.length + 1);
      assert.deepStrictEqual(byFast, bySdk);
      const stored = new Map(bySdk.map((r) => [Buffer.from(r.Data ?? []).toString('hex'), r.PartitionKey]));
      for (const e of entries) assert.equal(stored.get(e.Data.toString('hex')), e.PartitionKey);
      for (const r of byFast) {
        assert.ok(r.Data instanceof Uint8Array);
        assert.ok(r.ApproximateArrivalTimestamp instanceof Date && Math.abs(r.ApproximateArrivalTimestamp.getTime() - Date.now()) < 600_000);
      }
    });

    it('fails the same way as the SDK on a missing stream', async () => {
      const call = (client: KinesisClient): Promise<unknown> =>
        client.send(new PutRecordsCommand({ StreamName: 'no-such-stream', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] })).then(
          () => assert.fail('resolved'),
          (error: unknown) => error,
        );
      const [a, b] = await Promise.all([call(sdk), call(fast)]);
      assert.ok(b instanceof ResourceNotFoundException);
      assert.equal((b as Error).name, (a as Error).name);
    });
  });
}

wireSuite('kinesalite', startKinesalite);
wireSuite('kinesis-mock', startKinesisMock);
