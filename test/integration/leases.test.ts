import assert from 'node:assert/strict';
import { once } from 'node:events';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  DynamoDBLeaseStore,
  createKinesisReadable,
  type KinesisReadable,
  type KinesisRecord,
  type LeaseEvent,
} from '../../lib/index.js';
import { createTestStream, startDynalite, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { writeItems } from '../helpers/streams.js';

interface Item {
  key: number;
  n: number;
}

const FAILOVER_MS = 1500;

function dynamo(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
}

/** Collects what a worker reads and the shards it holds. */
class Worker {
  readonly records: Array<KinesisRecord<Item>> = [];
  readonly held = new Set<string>();
  readonly reader: KinesisReadable<Item>;
  readonly store: DynamoDBLeaseStore;

  constructor(kinesis: string, dynamoEndpoint: string, table: string, stream: string, readonly name: string) {
    this.store = new DynamoDBLeaseStore({ tableName: table, endpoint: dynamoEndpoint, workerId: name, failoverTimeMs: FAILOVER_MS });
    this.reader = createKinesisReadable<Item>({
      endpoint: kinesis,
      streamName: stream,
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      checkpointStore: this.store,
      shardDiscoveryIntervalMs: 500,
      pollIntervalMs: 200,
    });
    this.reader.on('leaseGained', (e: LeaseEvent) => this.held.add(e.shardId));
    this.reader.on('leaseLost', (e: LeaseEvent) => this.held.delete(e.shardId));
    this.reader.on('data', (record: KinesisRecord<Item>) => this.records.push(record));
  }

  async until(condition: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(): Promise<void> {
    await this.reader.checkpoint();
    this.reader.destroy();
    await once(this.reader, 'close');
  }
}

describe('DynamoDBLeaseStore on kinesalite + dynalite', function () {
  this.timeout(120000);
  let kinesis: LocalServer;
  let dynalite: LocalServer;

  before(async () => {
    [kinesis, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(async () => {
    await Promise.all([kinesis?.stop(), dynalite?.stop()]);
  });

  it('creates a KCL-shaped table; two workers split 4 shards; a graceful stop hands leases over at once', async () => {
    await createTestStream(kinesis.endpoint, 'leased', 4);
    await writeItems(kinesis.endpoint, 'leased', 0, 400, 16);
    const a = new Worker(kinesis.endpoint, dynalite.endpoint, 'leases-a', 'leased', 'worker-a');
    await a.until(() => a.held.size === 4, 'worker a to hold all 4 shards');
    const b = new Worker(kinesis.endpoint, dynalite.endpoint, 'leases-a', 'leased', 'worker-b');
    await b.until(() => a.held.size === 2 && b.held.size === 2, 'an even split');
    await writeItems(kinesis.endpoint, 'leased', 400, 800, 16);
    await b.until(() => new Set([...a.records, ...b.records].map((r) => r.data.n)).size === 800, 'all 800 records');
    for (const shard of a.held) assert.ok(!b.held.has(shard), `${shard} held by both`);

    const client = dynamo(dynalite.endpoint);
    const { Items = [] } = await client.send(new ScanCommand({ TableName: 'leases-a' }));
    assert.equal(Items.length, 4);
    for (const item of Items) {
      assert.ok(item.leaseKey?.S?.startsWith('shardId-'));
      assert.ok(item.leaseOwner?.S === 'worker-a' || item.leaseOwner?.S === 'worker-b');
      assert.ok(Number(item.leaseCounter?.N) > 0);
      assert.ok(item.checkpoint?.S !== undefined && item.ownerSwitchesSinceCheckpoint?.N !== undefined);
    }

    // Graceful: b stops; a takes b's shards long before a failover time passes.
    const stoppedAt = Date.now();
    await b.stop();
    await a.until(() => a.held.size === 4, 'worker a to take over');
    assert.ok(Date.now() - stoppedAt < FAILOVER_MS, `handed over in ${Date.now() - stoppedAt} ms`);
    await writeItems(kinesis.endpoint, 'leased', 800, 900, 16);
    await a.until(() => a.records.some((r) => r.data.n === 899), 'records written after the handover');
    const item = await client.send(new GetItemCommand({ TableName: 'leases-a', Key: { leaseKey: { S: [...a.held][0] } } }));
    assert.equal(item.Item?.leaseOwner?.S, 'worker-a');
    await a.stop();
    client.destroy();
  });

  it('checkpoint() reports a lost lease once, not on every later call', async () => {
    await createTestStream(kinesis.endpoint, 'lost-once', 4);
    await writeItems(kinesis.endpoint, 'lost-once', 0, 400, 16);
    const a = new Worker(kinesis.endpoint, dynalite.endpoint, 'leases-lost', 'lost-once', 'worker-a');
    await a.until(() => a.held.size === 4 && a.records.length === 400, 'worker a to read all 400 records');
    // a checkpoints nothing; b joins and steals two of its shards.
    const b = new Worker(kinesis.endpoint, dynalite.endpoint, 'leases-lost', 'lost-once', 'worker-b');
    try {
      await b.until(() => a.held.size === 2 && b.held.size === 2, 'an even split');
      const lost = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'].filter((s) => !a.held.has(s));
      await assert.rejects(a.reader.checkpoint(), (error: Error & { shardIds?: string[] }) => {
        assert.equal(error.name, 'LeaseLostError');
        assert.deepEqual([...(error.shardIds ?? [])].sort(), lost);
        return true;
      });
      // Nothing more was read from the lost shards: there is nothing new to report.
      await a.reader.checkpoint();
      await a.reader.checkpoint();
    } finally {
      for (const reader of [a.reader, b.reader]) {
        reader.destroy();
        if (!reader.closed) await once(reader, 'close');
      }
    }
  });
});
