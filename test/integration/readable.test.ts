import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  UpdateShardCountCommand,
} from '@aws-sdk/client-kinesis';
import {
  FileCheckpointStore,
  createKinesisReadable,
  type ShardStartEvent,
} from '../../lib/index.js';
import { createTestStream, localClientConfig, startKinesalite, startKinesisMock, type LocalServer } from '../helpers/servers.js';
import { assertExactlyOnceInOrder, range, readUntil, writeItems, type Item } from '../helpers/streams.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function waitActive(client: KinesisClient, streamName: string): Promise<void> {
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('createKinesisReadable on kinesalite', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;
  let dir: string;

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
    dir = await mkdtemp(join(tmpdir(), 'kns-read-'));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads 30k records over 3 shards exactly once, in order per key', async () => {
    await createTestStream(server.endpoint, 'thirty', 3);
    await writeItems(server.endpoint, 'thirty', 0, 30000, 300);
    const reader = createKinesisReadable<Item>({ endpoint: server.endpoint, streamName: 'thirty', initialPosition: 'TRIM_HORIZON', decode: 'json' });
    try {
      const records = await readUntil(reader, 30000);
      assertExactlyOnceInOrder(records, range(0, 30000));
      assert.equal(new Set(records.map((r) => r.shardId)).size, 3);
      assert.equal(reader.stats().recordsRead, 30000);
    } finally {
      reader.destroy();
    }
  });

  it('resumes from a file checkpoint: nothing missing, nothing before the checkpoint repeated', async () => {
    await createTestStream(server.endpoint, 'resume', 2);
    await writeItems(server.endpoint, 'resume', 0, 2000, 20);
    const path = join(dir, 'resume.json');
    const first = createKinesisReadable<Item>({
      endpoint: server.endpoint,
      streamName: 'resume',
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      checkpointStore: new FileCheckpointStore(path),
      highWaterMark: 10,
    });
    const before = await readUntil(first, 700);
    await first.checkpoint();
    // Read on a bit without checkpointing: those may come again, the first 700 must not.
    const unconfirmed = await readUntil(first, 100);
    first.destroy();
    await once(first, 'close');

    await writeItems(server.endpoint, 'resume', 2000, 2500, 20);
    const second = createKinesisReadable<Item>({
      endpoint: server.endpoint,
      streamName: 'resume',
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      checkpointStore: new FileCheckpointStore(path),
    });
    try {
      const seenBefore = new Set(before.map((r) => r.data.n));
      const expectedAfter = 2500 - seenBefore.size;
      const after = await readUntil(second, expectedAfter);
      assert.ok(after.every((r) => !seenBefore.has(r.data.n)), 'nothing checkpointed is read again');
      assertExactlyOnceInOrder([...before, ...after], range(0, 2500));
      const repeated = unconfirmed.filter((r) => after.some((a) => a.data.n === r.data.n)).length;
      assert.equal(repeated, unconfirmed.length, 'records read after the checkpoint are delivered again (at least once)');
    } finally {
      second.destroy();
    }
  });

  it('follows a split and a merge mid-stream, keeping per-key order', async () => {
    await createTestStream(server.endpoint, 'reshard', 2);
    await writeItems(server.endpoint, 'reshard', 0, 600, 30);
    const reader = createKinesisReadable<Item>({
      endpoint: server.endpoint,
      streamName: 'reshard',
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      shardDiscoveryIntervalMs: 200,
      pollIntervalMs: 200,
    });
    const ends: string[] = [];
    reader.on('shardEnd', (e: { shardId: string }) => ends.push(e.shardId));
    try {
      const records = await readUntil(reader, 300);
      const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: 'reshard' }));
      const [s0, s1] = Shards;
      const middle = (BigInt(s0.HashKeyRange?.StartingHashKey ?? '0') + BigInt(s0.HashKeyRange?.EndingHashKey ?? '0')) / 2n;
      await client.send(new SplitShardCommand({ StreamName: 'reshard', ShardToSplit: s0.ShardId, NewStartingHashKey: middle.toString() }));
      await waitActive(client, 'reshard');
      await writeItems(server.endpoint, 'reshard', 600, 1200, 30);
      const afterSplit = await client.send(new ListShardsCommand({ StreamName: 'reshard' }));
      const children = (afterSplit.Shards ?? []).filter((s) => s.ParentShardId === s0.ShardId);
      assert.equal(children.length, 2);
      // Merge the upper child with the other original shard (adjacent hash ranges).
      const upper = children.find((c) => c.HashKeyRange?.StartingHashKey === middle.toString());
      await client.send(new MergeShardsCommand({ StreamName: 'reshard', ShardToMerge: upper?.ShardId, AdjacentShardToMerge: s1.ShardId }));
      await waitActive(client, 'reshard');
      await writeItems(server.endpoint, 'reshard', 1200, 1800, 30);
      records.push(...(await readUntil(reader, 1500)));
      assertExactlyOnceInOrder(records, range(0, 1800));
      assert.ok(ends.includes(s0.ShardId ?? '') && ends.includes(s1.ShardId ?? ''), `ended: ${ends.join(', ')}`);
    } finally {
      reader.destroy();
    }
  });

  it('with LATEST delivers only records written after the shards started', async () => {
    await createTestStream(server.endpoint, 'latest', 2);
    await writeItems(server.endpoint, 'latest', 0, 100, 10);
    const reader = createKinesisReadable<Item>({ endpoint: server.endpoint, streamName: 'latest', decode: 'json' });
    try {
      const started: ShardStartEvent[] = [];
      while (started.length < 2) started.push(((await once(reader, 'shardStart')) as [ShardStartEvent])[0]);
      assert.deepEqual(started.map((s) => s.position.type), ['LATEST', 'LATEST']);
      await writeItems(server.endpoint, 'latest', 100, 150, 10);
      const records = await readUntil(reader, 50);
      assertExactlyOnceInOrder(records, range(100, 150));
    } finally {
      reader.destroy();
    }
  });

  it('destroy() lets the process exit', async () => {
    await createTestStream(server.endpoint, 'exit', 2);
    const script = `
      import { once } from 'node:events';
      import { createKinesisReadable } from './lib/index.ts';
      const reader = createKinesisReadable({ endpoint: ${JSON.stringify(server.endpoint)}, streamName: 'exit' });
      reader.resume();
      await once(reader, 'shardStart');
      reader.destroy();
      await once(reader, 'close');
      console.log('destroyed');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, `the process did not exit by itself: ${stderr.slice(-500)}`);
    assert.equal(code, 0, stderr.slice(-500));
    assert.match(stdout, /destroyed/);
  });
});

describe('createKinesisReadable on kinesis-mock', function () {
  this.timeout(180000);
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

  it('follows a stream resharded with UpdateShardCount', async () => {
    await createTestStream(server.endpoint, 'scaling', 1);
    await writeItems(server.endpoint, 'scaling', 0, 40, 8);
    const reader = createKinesisReadable<Item>({
      endpoint: server.endpoint,
      streamName: 'scaling',
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      shardDiscoveryIntervalMs: 500,
    });
    try {
      const records = await readUntil(reader, 40);
      await client.send(new UpdateShardCountCommand({ StreamName: 'scaling', TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
      await waitActive(client, 'scaling');
      await writeItems(server.endpoint, 'scaling', 40, 80, 8);
      records.push(...(await readUntil(reader, 40)));
      assertExactlyOnceInOrder(records, range(0, 80));
      const shards = new Set(records.slice(40).map((r) => r.shardId));
      assert.ok(!shards.has(records[0].shardId), 'records after the reshard come from the child shards');
    } finally {
      reader.destroy();
    }
  });
});
