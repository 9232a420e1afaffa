/**
 * The service's per-shard limits, enforced by the limits proxy in front of kinesalite
 * (which enforces none): the writer's rate limiter, hot keys, bounded rewrites of
 * misplaced aggregates, and the reader's read limits and throttling backoff.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutRecordsError, createKinesisReadable, createKinesisWritable, type FailedRecord, type RetryEvent, type WritableStats } from '../../lib/index.js';
import { hashKeyOf } from '../../lib/aggregation/hash-key.js';
import { ShardMap } from '../../lib/writable/shard-map.js';
import { startLimitsProxy, type LimitsProxy } from '../helpers/limits-proxy.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { readStored, readUntil } from '../helpers/streams.js';

const KiB = 1024;
const WRITE = { writeRecordsPerSecond: 200, writeBytesPerSecond: 64 * KiB };
const RATE = { recordsPerSecond: 200, bytesPerSecond: 64 * KiB };

describe('per-shard limits (limits proxy on kinesalite)', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;
  let proxy: LimitsProxy;

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
    await Promise.all(['uniform', 'unlimited', 'hot', 'misplaced', 'misplaced-soft', 'reads', 'greedy', 'sharing'].map((name) => createTestStream(server.endpoint, name, ['reads', 'greedy', 'sharing'].includes(name) ? 1 : 2)));
    proxy = await startLimitsProxy({ upstream: server.endpoint, ...WRITE, readBytesPerSecond: 512 * KiB });
  });
  after(async () => {
    await proxy?.stop();
    client?.destroy();
    await server?.stop();
  });

  const throttledIn = (streamName: string): number => proxy.stats().filter((s) => s.streamName === streamName).reduce((sum, s) => sum + s.throttledEntries, 0);

  async function writeAll(streamName: string, count: number, options: Parameters<typeof createKinesisWritable>[0]): Promise<WritableStats> {
    const writer = createKinesisWritable<{ n: number }>({
      endpoint: proxy.url,
      streamName,
      partitionKey: (item) => `key-${item.n % 50}`,
      ...options,
    } as Parameters<typeof createKinesisWritable<{ n: number }>>[0]);
    await pipeline(Readable.from(Array.from({ length: count }, (_, n) => ({ n, pad: 'x'.repeat(80) }))), writer);
    return writer.stats();
  }

  async function assertStoredOnce(streamName: string, count: number): Promise<void> {
    const stored = await readStored(client, streamName);
    const seen = stored.map((r) => (JSON.parse(Buffer.from(r.Data ?? []).toString()) as { n: number }).n).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: count }, (_, n) => n), 'every record stored exactly once');
  }

  it('keeps each shard under its write limit: throttled entries ≤ 2% of those sent, every record stored once', async () => {
    const count = 1200;
    const stats = await writeAll('uniform', count, { rateLimit: RATE });
    const throttled = throttledIn('uniform');
    assert.ok(throttled <= count * 0.02, `${throttled} of ${count} entries throttled`);
    assert.equal(stats.throttled, throttled, 'the writer counts what the proxy refused');
    await assertStoredOnce('uniform', count);
  });

  it('without the limiter the same write burns requests on throttles (the baseline the limiter removes)', async () => {
    const count = 1200;
    const stats = await writeAll('unlimited', count, { rateLimit: false, retry: { maxAttempts: 100 } });
    const throttled = throttledIn('unlimited');
    assert.ok(throttled > count * 0.1, `only ${throttled} of ${count} entries throttled without the limiter`);
    assert.equal(stats.throttled, throttled);
    await assertStoredOnce('unlimited', count);
  });

  it('a hot key saturates its shard only: other shards keep flowing, and stats() names the hot key', async () => {
    const map = await ShardMap.load(client, 'hot', new AbortController().signal);
    const hotShard = map.shardFor(hashKeyOf('hot'));
    const coldKeys = Array.from({ length: 200 }, (_, i) => `cold-${i}`).filter((key) => map.shardFor(hashKeyOf(key)) !== hotShard);
    // 7 of 8 records on the hot key: its shard needs ~4.25 s; the other's 150 fit in its first second.
    const items = Array.from({ length: 1200 }, (_, n) => ({ n, key: n % 8 === 7 ? coldKeys[n % coldKeys.length] : 'hot' }));
    const writer = createKinesisWritable<{ n: number; key: string }>({ endpoint: proxy.url, streamName: 'hot', partitionKey: (item) => item.key, rateLimit: RATE });
    const saturated: WritableStats['saturatedShards'][] = [];
    const sampler = setInterval(() => saturated.push(writer.stats().saturatedShards), 100);
    try {
      await pipeline(Readable.from(items), writer);
    } finally {
      clearInterval(sampler);
    }
    const shards = proxy.stats().filter((s) => s.streamName === 'hot');
    const hot = shards.find((s) => s.shardId === hotShard);
    const cold = shards.find((s) => s.shardId !== hotShard);
    assert.ok(hot !== undefined && cold !== undefined);
    assert.equal(hot.acceptedRecords, 1050);
    assert.equal(cold.acceptedRecords, 150);
    const coldDone = cold.accepted[cold.accepted.length - 1][0];
    const hotDone = hot.accepted[hot.accepted.length - 1][0];
    assert.ok(coldDone + 2000 < hotDone, `cold shard done at ${coldDone} ms, hot shard at ${hotDone} ms`);
    assert.ok(hot.throttledEntries + cold.throttledEntries <= 1200 * 0.02, `${hot.throttledEntries + cold.throttledEntries} entries throttled`);
    const named = saturated.flat().filter((s) => s.shardId === hotShard);
    assert.ok(named.length > 0, 'the hot shard was reported saturated');
    assert.ok(named.some((s) => s.hotKeys[0]?.partitionKey === 'hot' && s.hotKeys[0].share > 0.9), 'the hot key is named');
    // The cold shard may wait out its 200 ms burst at the start; once it is done, only the hot shard waits.
    assert.ok(saturated.slice(-5).flat().every((s) => s.shardId === hotShard), 'only the hot shard is saturated at the end');
  });

  describe('aggregates the server keeps placing on another shard than the map says', () => {
    let lying: LimitsProxy;
    before(async () => {
      lying = await startLimitsProxy({ upstream: server.endpoint, misplaceExplicitHashKeys: true });
    });
    after(() => lying?.stop());

    const keyed = Array.from({ length: 40 }, (_, n) => ({ data: `r${n}`, partitionKey: `k${n}` }));

    it('are rewritten within the retry policy, then fail the stream with every record in failedRecords', async () => {
      const writer = createKinesisWritable({ endpoint: lying.url, streamName: 'misplaced', aggregation: true, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } });
      const error = await pipeline(Readable.from(keyed), writer).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof PutRecordsError, String(error));
      assert.equal(error.failedRecords.length, keyed.length);
      assert.ok(error.failedRecords.every((f) => f.errorCode === 'ERR_KINESIS_MISPLACED'), JSON.stringify(error.failedRecords.map((f) => f.errorCode)));
      assert.match(error.message, /another shard than planned|after 3 attempt/);
    });

    it('with failOnError false, are reported through failedRecords and the writer finishes', async () => {
      const writer = createKinesisWritable({
        endpoint: lying.url,
        streamName: 'misplaced-soft',
        aggregation: true,
        failOnError: false,
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      });
      const failed: FailedRecord[] = [];
      writer.on('failedRecords', (records: FailedRecord[]) => failed.push(...records));
      await pipeline(Readable.from(keyed), writer);
      assert.equal(failed.length, keyed.length);
      assert.equal(writer.stats().failed, keyed.length);
      assert.equal(writer.stats().buffered, 0);
    });
  });

  it('reads within the shard read limit: a large answer is waited out before the next call, no call refused', async () => {
    const count = 4000;
    const data = 'y'.repeat(KiB);
    for (let i = 0; i < count; i += 500) {
      const entries = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ Data: Buffer.from(data), PartitionKey: `k${i + j}` }));
      await client.send(new PutRecordsCommand({ StreamName: 'reads', Records: entries }));
    }
    // The proxy serves 512 KiB/s per shard; this reader takes a quarter of 2 MiB/s.
    const reader = createKinesisReadable({ endpoint: proxy.url, streamName: 'reads', initialPosition: 'TRIM_HORIZON', readShare: 0.25, maxRecordsPerCall: 1000 });
    try {
      const records = await readUntil(reader, count);
      assert.equal(records.length, count);
    } finally {
      reader.destroy();
    }
    const shard = proxy.stats().find((s) => s.streamName === 'reads');
    assert.ok(shard !== undefined);
    assert.equal(shard.throttledCalls, 0, 'no GetRecords call refused');
    // Sustained rate: the bytes of the answers after the first (whose burst the full bucket
    // allows) and before the last, over the time from the second call to the last.
    const withData = shard.reads.filter(([, records]) => records > 0);
    assert.ok(withData.length >= 3, `${withData.length} answers with data`);
    const middle = withData.slice(1, -1).reduce((sum, [, , bytes]) => sum + bytes, 0);
    const rate = middle / ((withData[withData.length - 1][0] - withData[1][0]) / 1000);
    assert.ok(rate >= 0.8 * 512 * KiB && rate <= 1.1 * 512 * KiB, `read at ${(rate / KiB).toFixed(0)} KiB/s against 512 KiB/s`);
  });

  it('a reader over the read limit is throttled and backs off without losing its place; two readers with readShare 0.5 never are', async () => {
    const count = 200;
    const readAll = async (url: string, streamName: string, readers: number, readShare: number): Promise<RetryEvent[]> => {
      await client.send(new PutRecordsCommand({ StreamName: streamName, Records: Array.from({ length: count }, (_, n) => ({ Data: Buffer.from(String(n)), PartitionKey: 'one-key' })) }));
      const retries: RetryEvent[] = [];
      const list = Array.from({ length: readers }, () => {
        // maxRecordsPerCall 10: many calls, so that the readers keep polling for a few seconds.
        const reader = createKinesisReadable({ endpoint: url, streamName, initialPosition: 'TRIM_HORIZON', readShare, maxRecordsPerCall: 10, decode: 'string' });
        reader.on('retry', (event: RetryEvent) => retries.push(event));
        return reader;
      });
      try {
        const results = await Promise.all(list.map((reader) => readUntil(reader, count)));
        for (const records of results) assert.deepEqual(records.map((r) => r.data), Array.from({ length: count }, (_, n) => String(n)), 'every record once, in order');
      } finally {
        for (const reader of list) reader.destroy();
      }
      return retries;
    };
    // A shard that serves 2 calls/s against a reader that makes 5.
    const slow = await startLimitsProxy({ upstream: server.endpoint, readCallsPerSecond: 2 });
    try {
      const retries = await readAll(slow.url, 'greedy', 1, 1);
      assert.ok(slow.throttledCalls() > 0, 'the reader went over 2 calls/s');
      assert.ok(retries.some((r) => r.operation === 'GetRecords'), 'throttles are retried');
    } finally {
      await slow.stop();
    }
    await readAll(proxy.url, 'sharing', 2, 0.5);
    assert.equal(proxy.stats().find((s) => s.streamName === 'sharing')?.throttledCalls, 0, 'two half-share readers stay within 5 calls/s');
  });
;
});
