/**
 * Metrics end to end: the OpenTelemetry adapter on the SDK's in-memory exporter while the
 * real writer and reader run against kinesalite (directly, behind the fault proxy, and
 * behind a proxy that reports MillisBehindLatest as Kinesis does), leases on dynalite,
 * no payload or credential in any channel message or attribute, and `read --progress`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  ATTRIBUTES,
  CHANNELS,
  DynamoDBLeaseStore,
  METRICS,
  PutRecordsError,
  createKinesisClient,
  createKinesisReadable,
  createKinesisWritable,
  type KinesisReadable,
  type KinesisRecord,
  type RetryEvent,
  type ShardLagMessage,
} from '../../lib/index.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startLagProxy } from '../helpers/lag-proxy.js';
import { MetricsHarness, recordAllChannels } from '../helpers/metrics.js';
import { createTestStream, localClientConfig, startDynalite, startKinesalite, startKinesisMock, type LocalServer } from '../helpers/servers.js';
import { items, readStored, readUntil, writeItems, type Item } from '../helpers/streams.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RETRY = { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 30 };
const NO_ERROR = { [ATTRIBUTES.errorType]: undefined };

function countBy<T>(values: T[], key: (value: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[key(value)] = (out[key(value)] ?? 0) + 1;
  return out;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

describe('metrics: OpenTelemetry over the diagnostics channels, end to end', function () {
  this.timeout(90_000);
  let kinesis: LocalServer;
  let dynamo: LocalServer;
  let client: KinesisClient;
  let metrics: MetricsHarness | undefined;
  let proxy: FaultProxy | undefined;
  const readers: KinesisReadable<unknown>[] = [];

  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    client = new KinesisClient(localClientConfig(kinesis.endpoint));
  });
  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.destroy();
    await proxy?.stop();
    proxy = undefined;
    await metrics?.close();
    metrics = undefined;
  });
  after(async () => {
    client?.destroy();
    await Promise.all([kinesis?.stop(), dynamo?.stop()]);
  });

  function track<T>(reader: KinesisReadable<T>): KinesisReadable<T> {
    readers.push(reader as KinesisReadable<unknown>);
    return reader;
  }

  it('kinesalite: records written equal records stored per shard, records read equal them, requests timed per operation and shard, lag per shard', async () => {
    const streamName = 'metrics-rw';
    await createTestStream(kinesis.endpoint, streamName, 4);
    const m = (metrics = new MetricsHarness());
    const writer = createKinesisWritable<Item>({ endpoint: kinesis.endpoint, streamName, partitionKey: (item) => `key-${item.key}` });
    await pipeline(Readable.from(items(0, 2000, 50)), writer);
    const stored = countBy(await readStored(client, streamName), (record) => record.shardId);
    assert.equal(Object.keys(stored).length, 4);

    await m.collect();
    assert.equal(m.sum(METRICS.sentMessages, NO_ERROR), 2000);
    assert.deepEqual(m.sumBy(METRICS.sentMessages, ATTRIBUTES.partition, NO_ERROR), stored);
    assert.equal(m.sum(METRICS.sentMessages), 2000, 'nothing rejected');
    assert.equal(m.sum(METRICS.sentBytes), writer.stats().bytesWritten);
    const puts = m.points(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'PutRecords' });
    assert.equal(puts.reduce((n, p) => n + p.value, 0), writer.stats().requests);
    assert.ok(puts.every((p) => p.attributes[ATTRIBUTES.destination] === streamName && p.attributes[ATTRIBUTES.operationType] === 'send'));

    const reader = track(createKinesisReadable({ endpoint: kinesis.endpoint, streamName, initialPosition: 'TRIM_HORIZON', maxRecordsPerCall: 300 }));
    await readUntil(reader, 2000);
    await until(() => reader.stats().shards.every((s) => s.millisBehindLatest === 0), 'every shard caught up');
    await m.collect();
    assert.deepEqual(m.sumBy(METRICS.consumedMessages, ATTRIBUTES.partition), stored);
    assert.equal(m.sum(METRICS.consumedBytes), reader.stats().bytesRead);
    assert.deepEqual(m.sumBy(METRICS.lag, ATTRIBUTES.partition), Object.fromEntries(Object.keys(stored).map((shardId) => [shardId, 0])));
    // GetRecords names only an iterator: its shard comes from the iterator the middleware saw issued.
    const getRecordsShards = new Set(m.points(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'GetRecords' }).map((p) => p.attributes[ATTRIBUTES.partition]));
    assert.deepEqual([...getRecordsShards].sort(), Object.keys(stored).sort());
    assert.ok(m.sum(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'ListShards', [ATTRIBUTES.destination]: streamName }) >= 1);
    assert.equal(m.sum(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'GetShardIterator' }), 4);

    reader.destroy();
    await m.collect();
    assert.deepEqual(m.points(METRICS.lag), [], 'a stopped reader reports no lag');
  });

  it('lag is reported per shard while behind, and falls to 0 when caught up (a proxy reports MillisBehindLatest as Kinesis does)', async () => {
    const streamName = 'metrics-lag';
    await createTestStream(kinesis.endpoint, streamName, 2);
    await writeItems(kinesis.endpoint, streamName, 0, 1200, 20);
    await delay(1500); // the records are 1.5 s old when the reader starts
    const lagProxy = await startLagProxy(kinesis.endpoint);
    const m = (metrics = new MetricsHarness());
    const lags = new Map<string, number[]>();
    const onLag = (message: unknown): void => {
      const { shardId, millisBehindLatest } = message as ShardLagMessage;
      lags.set(shardId, [...(lags.get(shardId) ?? []), millisBehindLatest]);
    };
    diagnosticsChannel.subscribe(CHANNELS.shardLag, onLag);
    try {
      const reader = track(
        createKinesisReadable({ endpoint: lagProxy.url, streamName, initialPosition: 'TRIM_HORIZON', maxRecordsPerCall: 100, pollIntervalMs: 200 }),
      );
      await readUntil(reader, 10);
      await until(() => lags.size === 2, 'a lag from each shard');
      await m.collect();
      const behind = m.points(METRICS.lag);
      assert.equal(behind.length, 2, JSON.stringify(behind));
      for (const point of behind) assert.ok(point.value >= 1000, `behind by ${point.value} ms: ${JSON.stringify(point.attributes)}`);

      await readUntil(reader, 1190);
      await until(() => [...lags.values()].every((seen) => seen[seen.length - 1] === 0), 'every shard caught up');
      await m.collect();
      assert.deepEqual(
        m.points(METRICS.lag).map((p) => [p.attributes[ATTRIBUTES.partition], p.value]).sort(),
        [...lags.keys()].sort().map((shardId) => [shardId, 0]),
      );
      for (const [shardId, seen] of lags) assert.ok(Math.max(...seen) >= 1000 && seen[seen.length - 1] === 0, `${shardId}: ${seen.join(', ')}`);
    } finally {
      diagnosticsChannel.unsubscribe(CHANNELS.shardLag, onLag);
      await lagProxy.stop();
    }
  });

  it('behind the fault proxy, writer: records written equal records stored; throttles equal the throttles injected; retries equal retry events', async () => {
    const streamName = 'metrics-chaos-write';
    await createTestStream(kinesis.endpoint, streamName, 4);
    proxy = await startFaultProxy({
      upstream: kinesis.endpoint,
      seed: 16,
      rate: 0.3,
      kinds: { throughputExceeded: 1, limitExceeded: 1, partialFailure: 2, internalFailure: 1 },
      operations: ['PutRecords'],
      schedule: [
        { operation: 'PutRecords', nth: 2, fault: 'throughputExceeded' },
        { operation: 'PutRecords', nth: 3, fault: 'partialFailure' },
      ],
    });
    const m = (metrics = new MetricsHarness());
    const writer = createKinesisWritable<Item>({ endpoint: proxy.url, streamName, partitionKey: (item) => `key-${item.key}`, maxBatchRecords: 50, retry: RETRY });
    const retries: RetryEvent[] = [];
    writer.on('retry', (event: RetryEvent) => retries.push(event));
    await pipeline(Readable.from(items(0, 2000, 50)), writer);
    const stored = await readStored(client, streamName);
    await m.collect();

    const injected = proxy.stats().byOperation.PutRecords.byKind;
    assert.equal(stored.length, 2000);
    assert.equal(m.sum(METRICS.sentMessages, NO_ERROR), stored.length, 'records written = records stored');
    assert.deepEqual(m.sumBy(METRICS.sentMessages, ATTRIBUTES.partition, NO_ERROR), countBy(stored, (r) => r.shardId));

    const requestThrottles = (injected.throughputExceeded ?? 0) + (injected.limitExceeded ?? 0);
    assert.ok(requestThrottles > 0, proxy.summary());
    assert.equal(m.sum(METRICS.throttles, { [ATTRIBUTES.throttleScope]: 'request', [ATTRIBUTES.operationName]: 'PutRecords' }), requestThrottles, proxy.summary());
    // Entries a partial failure rejected, as the writer saw them (one retry event per answer).
    const partial = retries.filter((event) => event.error instanceof PutRecordsError);
    assert.equal(partial.length, injected.partialFailure, proxy.summary());
    const rejectedEntries = partial.reduce((n, event) => n + (event.error as PutRecordsError).failedRecords.length, 0);
    assert.ok(rejectedEntries > 0);
    assert.equal(m.sum(METRICS.throttles, { [ATTRIBUTES.throttleScope]: 'record' }), rejectedEntries);
    assert.equal(m.sum(METRICS.sentMessages, { [ATTRIBUTES.errorType]: 'ProvisionedThroughputExceededException' }), rejectedEntries);
    assert.equal(m.sum(METRICS.retries, { [ATTRIBUTES.operationName]: 'PutRecords' }), retries.length);
    assert.equal(
      m.sum(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'PutRecords', [ATTRIBUTES.errorType]: 'InternalFailure' }),
      injected.internalFailure ?? 0,
    );
  });

  it('behind the fault proxy, reader: every record read once, request throttles per operation equal the throttles injected', async () => {
    const streamName = 'metrics-chaos-read';
    await createTestStream(kinesis.endpoint, streamName, 4);
    await writeItems(kinesis.endpoint, streamName, 0, 2000, 50);
    const operations = ['GetRecords', 'GetShardIterator', 'ListShards'];
    proxy = await startFaultProxy({
      upstream: kinesis.endpoint,
      seed: 61,
      rate: 0.2,
      kinds: ['throughputExceeded', 'limitExceeded', 'internalFailure', 'expiredIterator'],
      operations,
      schedule: [
        { operation: 'ListShards', nth: 1, fault: 'limitExceeded' },
        { operation: 'GetRecords', nth: 2, fault: 'throughputExceeded' },
      ],
    });
    const m = (metrics = new MetricsHarness());
    const reader = track(
      createKinesisReadable({
        endpoint: proxy.url,
        streamName,
        initialPosition: 'TRIM_HORIZON',
        maxRecordsPerCall: 100,
        pollIntervalMs: 200,
        shardDiscoveryIntervalMs: 500,
        retry: RETRY,
      }),
    );
    const retries: RetryEvent[] = [];
    reader.on('retry', (event: RetryEvent) => retries.push(event));
    await readUntil(reader, 2000);
    // No new faults; the ones in flight are answered at once (no slow kinds), so both sides agree.
    proxy.enabled = false;
    await delay(1000);
    await m.collect();
    const stats = proxy.stats();
    assert.equal(m.sum(METRICS.consumedMessages), 2000);
    let total = 0;
    for (const operation of operations) {
      const byKind = stats.byOperation[operation]?.byKind ?? {};
      const injected = (byKind.throughputExceeded ?? 0) + (byKind.limitExceeded ?? 0);
      total += injected;
      assert.equal(m.sum(METRICS.throttles, { [ATTRIBUTES.throttleScope]: 'request', [ATTRIBUTES.operationName]: operation }), injected, `${operation}: ${proxy.summary()}`);
    }
    assert.ok(total >= 2, proxy.summary());
    assert.equal(m.sum(METRICS.retries), retries.length);
  });

  it('leases on dynalite: gained, stolen, lost and released per worker, leases held per worker, checkpoint writes, DynamoDB requests', async () => {
    const streamName = 'metrics-lease';
    const tableName = 'metrics-leases';
    await createTestStream(kinesis.endpoint, streamName, 4);
    await writeItems(kinesis.endpoint, streamName, 0, 200, 20);
    const m = (metrics = new MetricsHarness());
    const worker = (workerId: string): KinesisReadable<Buffer> =>
      track(
        createKinesisReadable({
          endpoint: kinesis.endpoint,
          streamName,
          initialPosition: 'TRIM_HORIZON',
          checkpointStore: new DynamoDBLeaseStore({ tableName, endpoint: dynamo.endpoint, workerId, failoverTimeMs: 3000 }),
        }),
      );
    const held = async (): Promise<Record<string, number>> => {
      await m.collect();
      return m.sumBy(METRICS.leasesHeld, ATTRIBUTES.clientId);
    };
    const a = worker('worker-a');
    a.resume();
    await until(async () => (await held())['worker-a'] === 4, 'worker-a to hold every lease');
    await until(() => a.stats().recordsRead === 200, 'worker-a to read every record');
    await a.checkpoint();
    const b = worker('worker-b');
    b.resume();
    await until(async () => {
      const now = await held();
      return now['worker-a'] === 2 && now['worker-b'] === 2;
    }, 'an even split');
    const events = (workerId: string): Record<string, number> => m.sumBy(METRICS.leaseEvents, ATTRIBUTES.leaseEvent, { [ATTRIBUTES.clientId]: workerId });
    assert.deepEqual(events('worker-a'), { gained: 4, lost: 2 });
    assert.deepEqual(events('worker-b'), { stolen: 2 });
    assert.ok(m.points(METRICS.leaseEvents).every((p) => p.attributes[ATTRIBUTES.leaseTable] === tableName && p.attributes[ATTRIBUTES.destination] === streamName));
    assert.equal(m.sum(METRICS.checkpointDuration, NO_ERROR), 4, 'one checkpoint per shard');

    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    await m.collect();
    assert.equal(m.sum(METRICS.leaseEvents, { [ATTRIBUTES.leaseEvent]: 'released' }), 4);
    assert.deepEqual(m.points(METRICS.leasesHeld), [], 'stopped workers report no leases');
    const dbOperations = new Set(m.points(METRICS.dbOperationDuration).map((p) => p.attributes[ATTRIBUTES.dbOperation]));
    for (const operation of ['DescribeTable', 'PutItem', 'Scan', 'UpdateItem', 'GetItem']) assert.ok(dbOperations.has(operation), `${operation} in ${[...dbOperations].join(', ')}`);
    assert.ok(m.points(METRICS.dbOperationDuration).every((p) => p.attributes[ATTRIBUTES.dbCollection] === tableName));
  });

  it('no payloads and no credentials in any channel message or metric attribute, errors included', async () => {
    const streamName = 'metrics-secrets';
    await createTestStream(kinesis.endpoint, streamName, 2);
    const markers = {
      payload: 'PAYLOAD-MARKER-7f3a',
      key: 'PKEY-MARKER-91c2',
      accessKeyId: 'AKIDMARKER4431',
      secretAccessKey: 'SECRET-MARKER-0d9e',
      sessionToken: 'TOKEN-MARKER-66b1',
    };
    const credentials = { accessKeyId: markers.accessKeyId, secretAccessKey: markers.secretAccessKey, sessionToken: markers.sessionToken };
    const channels = recordAllChannels();
    const m = (metrics = new MetricsHarness());
    try {
      proxy = await startFaultProxy({
        upstream: kinesis.endpoint,
        seed: 7,
        rate: 0.3,
        kinds: ['throughputExceeded', 'partialFailure', 'internalFailure', 'expiredIterator'],
      });
      const writer = createKinesisWritable<{ secret: string; n: number }>({
        endpoint: proxy.url,
        credentials,
        streamName,
        partitionKey: (item) => `${markers.key}-${item.n % 5}`,
        maxBatchRecords: 20,
        retry: RETRY,
      });
      await pipeline(Readable.from(Array.from({ length: 300 }, (_, n) => ({ secret: markers.payload, n }))), writer);
      const reader = track(
        createKinesisReadable({
          endpoint: proxy.url,
          credentials,
          streamName,
          applicationName: 'secrets-app',
          initialPosition: 'TRIM_HORIZON',
          retry: RETRY,
          checkpointStore: new DynamoDBLeaseStore({ tableName: 'metrics-secrets', endpoint: dynamo.endpoint, credentials, failoverTimeMs: 3000 }),
        }),
      );
      const records = (await readUntil(reader, 300)) as KinesisRecord<Buffer>[];
      assert.ok(records[0].data.toString().includes(markers.payload));
      await reader.checkpoint();
      reader.destroy();
      await once(reader, 'close');
      // A service error whose message quotes the input: only its code may travel.
      const direct = createKinesisClient({ endpoint: kinesis.endpoint, credentials });
      try {
        const error = await direct.send(new PutRecordsCommand({ StreamName: streamName, Records: [{ Data: Buffer.from(markers.payload), PartitionKey: markers.key.repeat(30) }] })).catch((e: unknown) => e as Error);
        assert.ok(error instanceof Error && error.message.includes(markers.key), `the service quotes the key: ${String(error)}`);
      } finally {
        direct.destroy();
      }
      await m.collect();
    } finally {
      channels.stop();
    }
    const seen = new Set(channels.messages.map((m) => m.channel));
    for (const channel of [CHANNELS.requestStart, CHANNELS.requestEnd, CHANNELS.recordsWritten, CHANNELS.recordsRejected, CHANNELS.recordsRead, CHANNELS.throttle, CHANNELS.retry, CHANNELS.shardLag, CHANNELS.leaseGained, CHANNELS.checkpoint]) {
      assert.ok(seen.has(channel), `${channel} was exercised`);
    }
    const published = JSON.stringify(channels.messages);
    const exported = JSON.stringify(metrics.exporter.getMetrics());
    for (const [what, marker] of Object.entries(markers)) {
      assert.equal(published.includes(marker), false, `${what} in a channel message`);
      assert.equal(exported.includes(marker), false, `${what} in an exported metric`);
    }
  });

  describe('enhanced fan-out (kinesis-mock)', () => {
    let mock: LocalServer;
    before(async () => {
      mock = await startKinesisMock();
    });
    after(async () => {
      await mock?.stop();
    });

    it('SubscribeToShard: records consumed per shard under the consumer name, subscriptions timed per stream and shard (from the consumer ARN), lag per shard', async () => {
      const streamName = 'metrics-efo';
      await createTestStream(mock.endpoint, streamName, 2);
      await writeItems(mock.endpoint, streamName, 0, 40, 4);
      const m = (metrics = new MetricsHarness());
      const reader = track(
        createKinesisReadable({ endpoint: mock.endpoint, streamName, mode: 'efo', consumerName: 'efo-metrics', initialPosition: 'TRIM_HORIZON' }),
      );
      const records = await readUntil(reader, 40);
      await until(() => reader.stats().shards.filter((s) => s.millisBehindLatest !== undefined).length === 2, 'a lag from each shard');
      await m.collect();
      const byShard = countBy(records, (r) => r.shardId);
      const where = { [ATTRIBUTES.operationName]: 'SubscribeToShard', [ATTRIBUTES.consumerGroup]: 'efo-metrics' };
      assert.deepEqual(m.sumBy(METRICS.consumedMessages, ATTRIBUTES.partition, where), byShard);
      const subscriptions = m.points(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'SubscribeToShard' });
      assert.ok(subscriptions.every((p) => p.attributes[ATTRIBUTES.destination] === streamName && p.attributes[ATTRIBUTES.operationType] === 'receive'));
      assert.deepEqual([...new Set(subscriptions.map((p) => p.attributes[ATTRIBUTES.partition]))].sort(), Object.keys(byShard).sort());
      assert.deepEqual(m.points(METRICS.lag).map((p) => p.attributes[ATTRIBUTES.partition]).sort(), Object.keys(byShard).sort());
    });
  });

  describe('read --progress', () => {
    const CLI = ['--import', 'tsx', 'lib/cli/main.ts'];

    it('prints plain per-shard lines when stderr is not a terminal, and stops cleanly on SIGINT', async () => {
      const streamName = 'metrics-cli';
      await createTestStream(kinesis.endpoint, streamName, 2);
      await writeItems(kinesis.endpoint, streamName, 0, 300, 10);
      const child = spawn(
        process.execPath,
        [...CLI, 'read', '--stream', streamName, '--endpoint', kinesis.endpoint, '--from', 'trim-horizon', '--progress', '--progress-interval', '200'],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_REGION: 'us-east-1' } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = once(child, 'exit');
      try {
        await until(() => / total records=300 /.test(stderr) && /lag_ms=0/.test(stderr), 'a progress total of 300 records');
      } finally {
        child.kill('SIGINT');
      }
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim().split('\n').length, 300, 'stdout holds the records only');
      assert.equal(stderr.includes('\x1b['), false, 'no terminal control codes in plain mode');
      const shardLines = stderr.split('\n').filter((line) => / shardId-\d+ state=/.test(line));
      const last = new Map<string, string>();
      for (const line of shardLines) last.set(line.split(' ')[2], line);
      assert.deepEqual([...last.keys()].sort(), ['shardId-000000000000', 'shardId-000000000001']);
      for (const line of last.values()) assert.match(line, new RegExp(`^\\S+Z ${streamName} shardId-\\d+ state=\\w+ lag_ms=0 rate=\\d+ records=\\d+ owner=-$`));
      const perShard = [...last.values()].map((line) => Number(/records=(\d+)/.exec(line)?.[1]));
      assert.equal(perShard[0] + perShard[1], 300);
    });

    it('refuses a --progress-interval below 100 ms (exit 2)', async () => {
      const child = spawn(process.execPath, [...CLI, 'read', '--stream', 's', '--progress-interval', '10'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 2);
      assert.match(stderr, /--progress-interval must be at least 100 ms/);
    });
  });
});
