/**
 * Chaos tests: both streams talk to kinesalite through a fault proxy that fails a fixed
 * share of requests (seeded) with every kind of fault the AWS JSON protocol can show:
 * 5xx, throttling, resets before and after the server processed the request, answers
 * slower than the client's timeout, truncated bodies, expired iterators and partial
 * PutRecords failures. What was stored is read back straight from kinesalite, not
 * through the proxy, and checked with the RecordValidator: no loss, per-key order among
 * first deliveries, and duplicates only where the proxy made a stored request look failed.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { KinesisClient, ListStreamsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient, createKinesisReadable, createKinesisWritable, type KinesisRecord, type RetryEvent } from '../../lib/index.js';
import { errorCode, isRetriableError } from '../../lib/retry.js';
import { startFaultProxy, type FaultKind, type FaultProxy, type ScheduledFault } from '../helpers/fault-proxy.js';
import { RecordValidator, type KeyedRecord } from '../helpers/record-validator.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { readStored, storedJson } from '../helpers/streams.js';

interface Item {
  key: number;
  n: number;
}

const SEED = 20240611;
const FAULT_RATE = 0.2;
const RECORDS = 5000;
const KEYS = 100;
const SHARDS = 4;
/** Small delays so thousands of records get through a 20% failure rate in seconds. */
const RETRY = { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 30 };
/** Slow faults hold 1.5 s: the client gives up after 1 s. */
const REQUEST_TIMEOUT_MS = 1000;
const SLOW_MS = 1500;

/** Faults that leave nothing stored behind the client's back. */
const PUT_FAULTS_NOT_PROCESSED: FaultKind[] = [
  'internalFailure',
  'serviceUnavailable',
  'throughputExceeded',
  'limitExceeded',
  'resetBeforeForward',
  'slow',
  'partialFailure',
];
/** Faults after which the server stored the request while the client saw it fail. */
const PUT_FAULTS_PROCESSED: FaultKind[] = ['resetAfterProcessing', 'slowAfterProcessing', 'truncated', 'truncatedClose', 'partialFailureDuplicating'];

const READ_FAULTS: FaultKind[] = [
  'internalFailure',
  'serviceUnavailable',
  'throughputExceeded',
  'limitExceeded',
  'resetBeforeForward',
  'resetAfterProcessing',
  'slow',
  'slowAfterProcessing',
  'expiredIterator',
  'truncated',
  'truncatedClose',
];
const READ_OPERATIONS = ['GetRecords', 'GetShardIterator', 'ListShards'];

function items(count: number): Item[] {
  return Array.from({ length: count }, (_, n) => ({ key: n % KEYS, n }));
}

const keyed = (item: Item): KeyedRecord => ({ key: item.key, n: item.n });

/** Each kind once at a fixed position (requests 10, 17, 24, …), whatever the random draws give. */
function everyKindOnce(operation: string, kinds: readonly FaultKind[]): ScheduledFault[] {
  return kinds.map((fault, i) => ({ operation, nth: 10 + 7 * i, fault }));
}

/** Writes through the writer; resolves once every record is acknowledged, with the retry events seen. */
async function writeThrough(endpoint: string, streamName: string, records: Item[]): Promise<RetryEvent[]> {
  const writer = createKinesisWritable<Item>({
    endpoint,
    streamName,
    partitionKey: (item) => `key-${item.key}`,
    preserveOrder: true,
    // Smaller requests: more of them, so every fault kind gets its turn.
    maxBatchRecords: 20,
    retry: RETRY,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const retries: RetryEvent[] = [];
  writer.on('retry', (event: RetryEvent) => retries.push(event));
  await pipeline(Readable.from(records), writer);
  assert.equal(writer.stats().recordsWritten, records.length);
  assert.equal(writer.stats().failed, 0);
  return retries;
}

/** Writes without the proxy: a plain, fault-free PutRecords loop (one request per 500 entries). */
async function writeDirect(client: KinesisClient, streamName: string, records: Item[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const batch = records.slice(i, i + 500);
    const out = await client.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: batch.map((item) => ({ Data: Buffer.from(JSON.stringify(item)), PartitionKey: `key-${item.key}` })),
      }),
    );
    assert.equal(out.FailedRecordCount ?? 0, 0);
  }
}

function kindsInjected(proxy: FaultProxy): Set<string> {
  return new Set(Object.keys(proxy.stats().byKind));
}

describe('chaos: 20% faults between the streams and kinesalite', function () {
  this.timeout(60_000);
  let server: LocalServer;
  let client: KinesisClient;
  let proxy: FaultProxy | undefined;

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
  });
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  describe('the fault proxy itself', () => {
    it('each PutRecords fault shows the client what it should and stores what it says', async () => {
      const streamName = 'chaos-proxy-kinds';
      await createTestStream(server.endpoint, streamName, 1);
      const kinds = [...PUT_FAULTS_NOT_PROCESSED, ...PUT_FAULTS_PROCESSED];
      proxy = await startFaultProxy({
        upstream: server.endpoint,
        schedule: kinds.map((fault, i) => ({ operation: 'PutRecords', nth: i + 1, fault })),
        slowMs: SLOW_MS,
      });
      const viaProxy = createKinesisClient({ endpoint: proxy.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
      const seen: Record<string, string> = {};
      let expectedStored = 0;
      try {
        for (const [i, kind] of kinds.entries()) {
          const batch = Array.from({ length: 10 }, (_, j) => ({ key: j, n: i * 10 + j }));
          try {
            const out = await viaProxy.send(
              new PutRecordsCommand({
                StreamName: streamName,
                Records: batch.map((item) => ({ Data: Buffer.from(JSON.stringify(item)), PartitionKey: `key-${item.key}` })),
              }),
            );
            const failed = out.FailedRecordCount ?? 0;
            seen[kind] = `partial ${failed}/${out.Records?.length}`;
            expectedStored += kind === 'partialFailure' ? 10 - failed : 10;
          } catch (error) {
            assert.equal(isRetriableError(error), true, `${kind}: ${String(error)}`);
            seen[kind] = errorCode(error);
            if (PUT_FAULTS_PROCESSED.includes(kind)) expectedStored += 10;
          }
        }
      } finally {
        viaProxy.destroy();
      }
      assert.deepEqual(
        Object.fromEntries(Object.entries(seen).map(([kind, view]) => [kind, view.startsWith('partial') ? 'partial' : view])),
        {
          internalFailure: 'InternalFailure',
          serviceUnavailable: 'ServiceUnavailable',
          throughputExceeded: 'ProvisionedThroughputExceededException',
          limitExceeded: 'LimitExceededException',
          resetBeforeForward: 'TimeoutError', // ECONNRESET, named TimeoutError by the SDK's handler
          slow: 'TimeoutError',
          partialFailure: 'partial',
          resetAfterProcessing: 'TimeoutError',
          slowAfterProcessing: 'TimeoutError',
          truncated: 'SyntaxError',
          truncatedClose: 'ECONNRESET',
          partialFailureDuplicating: 'partial',
        },
      );
      const stored = (await readStored(client, streamName)).map((record) => storedJson<Item>(record));
      assert.equal(stored.length, expectedStored);
      // Stored behind the client's back: 10 for each request failed after processing, plus the duplicating partial failure's rejects.
      const duplicatingRejects = Number(/partial (\d+)/.exec(seen.partialFailureDuplicating)?.[1]);
      assert.equal(proxy.suspectRecords(), 4 * 10 + duplicatingRejects, JSON.stringify(proxy.stats().duplicateSuspects));
    });

    it('decides faults from the seed and the position of the request in its operation', async () => {
      const outcomes = async (seed: number): Promise<string> => {
        const p = await startFaultProxy({ upstream: server.endpoint, seed, rate: 0.5, kinds: ['internalFailure', 'throughputExceeded'] });
        const viaProxy = createKinesisClient({ endpoint: p.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
        let out = '';
        try {
          for (let i = 0; i < 30; i++) {
            out += await viaProxy.send(new ListStreamsCommand({})).then(
              () => '.',
              (error: unknown) => (errorCode(error) === 'InternalFailure' ? 'I' : 'T'),
            );
          }
        } finally {
          viaProxy.destroy();
          await p.stop();
        }
        return out;
      };
      const first = await outcomes(SEED);
      assert.equal(await outcomes(SEED), first);
      assert.notEqual(await outcomes(SEED + 1), first);
      assert.match(first, /\./);
      assert.match(first, /I/);
      assert.match(first, /T/);
    });
  });

  it('writer, every PutRecords fault: no loss, per-key order, duplicates only from requests stored behind the client’s back', async () => {
    const streamName = 'chaos-write-all';
    await createTestStream(server.endpoint, streamName, SHARDS);
    proxy = await startFaultProxy({
      upstream: server.endpoint,
      seed: SEED,
      rate: FAULT_RATE,
      kinds: [...PUT_FAULTS_NOT_PROCESSED, ...PUT_FAULTS_PROCESSED],
      operations: ['PutRecords'],
      schedule: everyKindOnce('PutRecords', [...PUT_FAULTS_NOT_PROCESSED, ...PUT_FAULTS_PROCESSED]),
      slowMs: SLOW_MS,
    });
    const written = items(RECORDS);
    const started = Date.now();
    const retries = await writeThrough(proxy.url, streamName, written);
    const seconds = (Date.now() - started) / 1000;

    const validator = new RecordValidator().expect(written.map(keyed)).deliver(((await readStored(client, streamName)).map((record) => storedJson<Item>(record))).map(keyed));
    const report = validator.report();
    const suspects = proxy.suspectRecords();
    log(`writer, all faults: ${seconds.toFixed(1)} s; ${proxy.summary()}; ${retries.length} retry event(s); ${validator.summary()}`);

    assert.equal(report.missing.length, 0, validator.summary());
    assert.equal(report.unexpected.length, 0, validator.summary());
    assert.equal(report.orderViolations.length, 0, validator.summary());
    assert.ok(report.duplicates <= suspects, `${report.duplicates} duplicate(s), but after-processing faults covered only ${suspects} record(s)\n${validator.summary()}`);
    // The run really went through faults of every kind.
    assert.ok(proxy.stats().faults >= 0.15 * proxy.stats().requests, proxy.summary());
    assert.deepEqual([...kindsInjected(proxy)].sort(), [...PUT_FAULTS_NOT_PROCESSED, ...PUT_FAULTS_PROCESSED].sort(), proxy.summary());
    assert.ok(suspects > 0, proxy.summary());
    assert.ok(retries.length > 0);
  });

  it('writer, only faults that store nothing: no loss, no duplicate, per-key order', async () => {
    const streamName = 'chaos-write-clean';
    await createTestStream(server.endpoint, streamName, SHARDS);
    proxy = await startFaultProxy({
      upstream: server.endpoint,
      seed: SEED + 1,
      rate: FAULT_RATE,
      kinds: PUT_FAULTS_NOT_PROCESSED,
      operations: ['PutRecords'],
      schedule: everyKindOnce('PutRecords', PUT_FAULTS_NOT_PROCESSED),
      slowMs: SLOW_MS,
    });
    const written = items(RECORDS);
    const started = Date.now();
    const retries = await writeThrough(proxy.url, streamName, written);
    const seconds = (Date.now() - started) / 1000;

    const validator = new RecordValidator().expect(written.map(keyed)).deliver(((await readStored(client, streamName)).map((record) => storedJson<Item>(record))).map(keyed));
    log(`writer, non-duplicating faults: ${seconds.toFixed(1)} s; ${proxy.summary()}; ${retries.length} retry event(s); ${validator.summary()}`);

    assert.equal(proxy.suspectRecords(), 0, proxy.summary());
    assert.equal(validator.report().exactlyOnceInOrder, true, validator.summary());
    assert.deepEqual([...kindsInjected(proxy)].sort(), [...PUT_FAULTS_NOT_PROCESSED].sort(), proxy.summary());
  });

  it('reader, every GetRecords/GetShardIterator/ListShards fault: exactly once, per-key order, retries reported', async () => {
    const streamName = 'chaos-read';
    await createTestStream(server.endpoint, streamName, SHARDS);
    const written = items(RECORDS);
    await writeDirect(client, streamName, written);
    proxy = await startFaultProxy({
      upstream: server.endpoint,
      seed: SEED + 2,
      rate: FAULT_RATE,
      // Expired iterators weigh more: each one also sends the reader back to GetShardIterator.
      kinds: Object.fromEntries(READ_FAULTS.map((kind) => [kind, kind === 'expiredIterator' ? 3 : 1])),
      operations: READ_OPERATIONS,
      // Besides the random ones, make sure each operation fails at least once.
      schedule: [
        // LimitExceededException is how ListShards is throttled.
        { operation: 'ListShards', nth: 1, fault: 'limitExceeded' },
        { operation: 'GetShardIterator', nth: 2, fault: 'internalFailure' },
        { operation: 'GetRecords', nth: 3, fault: 'expiredIterator' },
      ],
      slowMs: SLOW_MS,
    });
    const reader = createKinesisReadable<Item>({
      endpoint: proxy.url,
      streamName,
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      // Many small calls and frequent discovery: more requests to fail.
      maxRecordsPerCall: 50,
      pollIntervalMs: 200,
      shardDiscoveryIntervalMs: 300,
      retry: RETRY,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const retries: RetryEvent[] = [];
    reader.on('retry', (event: RetryEvent) => retries.push(event));
    const validator = new RecordValidator().expect(written.map(keyed));
    const started = Date.now();
    let seconds: number;
    try {
      // Flowing mode: every record is counted, including any that come after the last new one.
      const allRead = new Promise<void>((resolve, reject) => {
        const seen = new Set<number>();
        reader.on('data', (record: KinesisRecord<Item>) => {
          validator.deliverOne(keyed(record.data));
          seen.add(record.data.n);
          if (seen.size === RECORDS) resolve();
        });
        reader.once('error', reject);
      });
      await allRead;
      seconds = (Date.now() - started) / 1000;
      // Keep reading a while (several polls per shard, more faults) to catch late duplicates.
      await delay(1500);
    } finally {
      reader.destroy();
    }
    log(`reader: ${seconds.toFixed(1)} s to read all; ${proxy.summary()}; ${retries.length} retry event(s); ${validator.summary()}`);

    assert.equal(validator.report().exactlyOnceInOrder, true, validator.summary());
    const retried = new Set(retries.map((event) => event.operation));
    for (const operation of READ_OPERATIONS) assert.ok(retried.has(operation), `no retry of ${operation}: ${proxy.summary()}`);
    assert.ok(proxy.stats().faults >= 0.15 * proxy.stats().requests, proxy.summary());
    assert.deepEqual([...kindsInjected(proxy)].sort(), [...READ_FAULTS].sort(), proxy.summary());
  });

  // `requestTimeoutMs` must bound the whole answer, not only the wait for its headers:
  // an answer whose body stops half way (a dead peer, a half-open connection) is timed
  // out (socketTimeout in lib/client.ts) and retried, so flush()/end() always resolve.
  it('a PutRecords answer that stalls after its headers is timed out and retried', async () => {
    const streamName = 'chaos-stall-write';
    await createTestStream(server.endpoint, streamName, 1);
    proxy = await startFaultProxy({ upstream: server.endpoint, schedule: [{ operation: 'PutRecords', nth: 1, fault: 'stallBody' }] });
    const writer = createKinesisWritable<Item>({ endpoint: proxy.url, streamName, partitionKey: (item) => `key-${item.key}`, retry: RETRY, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    writer.on('error', () => {});
    const written = items(10);
    try {
      for (const item of written) writer.write(item);
      const deadline = delay(8000).then(() => {
        throw new Error(`flush() still pending 8 s after a body stall, with requestTimeoutMs ${REQUEST_TIMEOUT_MS}: ${proxy?.summary()}`);
      });
      await Promise.race([writer.flush(), deadline]);
    } finally {
      writer.destroy();
    }
    const validator = new RecordValidator().expect(written.map(keyed)).deliver(((await readStored(client, streamName)).map((record) => storedJson<Item>(record))).map(keyed));
    const report = validator.report();
    assert.equal(report.missing.length, 0, validator.summary());
    assert.ok(report.duplicates <= proxy.suspectRecords(), validator.summary());
  });

  // Same bug as above, seen from the reader: one stalled GetRecords answer stops its shard for good.
  it('a GetRecords answer that stalls after its headers is timed out and retried', async () => {
    const streamName = 'chaos-stall-read';
    await createTestStream(server.endpoint, streamName, 1);
    const written = items(50);
    await writeDirect(client, streamName, written);
    proxy = await startFaultProxy({ upstream: server.endpoint, schedule: [{ operation: 'GetRecords', nth: 1, fault: 'stallBody' }] });
    const reader = createKinesisReadable<Item>({
      endpoint: proxy.url,
      streamName,
      initialPosition: 'TRIM_HORIZON',
      decode: 'json',
      retry: RETRY,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const validator = new RecordValidator().expect(written.map(keyed));
    try {
      const consume = (async () => {
        let count = 0;
        for await (const record of reader as AsyncIterable<KinesisRecord<Item>>) {
          validator.deliverOne(keyed(record.data));
          if (++count === written.length) return;
        }
      })();
      const deadline = delay(8000).then(() => {
        throw new Error(`reader stuck 8 s on a GetRecords body stall, with requestTimeoutMs ${REQUEST_TIMEOUT_MS}: ${validator.summary()}`);
      });
      await Promise.race([consume, deadline]);
    } finally {
      reader.destroy();
    }
    assert.equal(validator.report().exactlyOnceInOrder, true, validator.summary());
  });
});

/** One line per run in the test output: fault counts and timings are part of the result. */
function log(line: string): void {
  if (process.env.CHAOS_QUIET === undefined) console.log(`      ${line}`);
}
