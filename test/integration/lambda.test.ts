/**
 * The Lambda handlers on real events: records written by the project's writer (plain and
 * KPL-aggregated) to kinesalite, read back raw and wrapped exactly as Lambda wraps them,
 * then replayed through a local event source mapping (test/helpers/lambda-driver.ts)
 * that batches and retries as Lambda does with ReportBatchItemFailures.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import {
  MemoryCheckpointStore,
  createKinesisHandler,
  createKinesisReadable,
  createKinesisRecordHandler,
  createKinesisWritable,
  kinesisEventReadable,
  type KinesisEventHandler,
  type KinesisRecord,
} from '../../lib/index.js';
import { lambdaRecordsByShard } from '../helpers/lambda-events.js';
import { driveShard, type Invocation } from '../helpers/lambda-driver.js';
import { prng } from '../helpers/prng.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { items, readStored, readUntil, storedJson, writeItems, type Item } from '../helpers/streams.js';

const PLAIN = { name: 'lambda-plain', total: 600, keys: 20 };
const AGGREGATED = { name: 'lambda-agg', total: 3000, keys: 50 };

/** A record without the poller-only millisBehindLatest, to compare with an event's records. */
function comparable<T>(record: KinesisRecord<T>): KinesisRecord<T> {
  const { millisBehindLatest: _lag, ...rest } = record;
  return rest;
}

describe('AWS Lambda handlers on real Kinesis events (kinesalite)', function () {
  this.timeout(120000);
  let server: LocalServer;
  let client: KinesisClient;
  /** Per stream: the Lambda event records of each shard, as Lambda would build them. */
  const shards = new Map<string, Map<string, KinesisStreamRecord[]>>();

  before(async () => {
    server = await startKinesalite();
    client = new KinesisClient(localClientConfig(server.endpoint));
    await createTestStream(server.endpoint, PLAIN.name, 2);
    await writeItems(server.endpoint, PLAIN.name, 0, PLAIN.total, PLAIN.keys);
    await createTestStream(server.endpoint, AGGREGATED.name, 2);
    // Aggregates, then plain records, then aggregates again: a batch may mix both.
    const write = (from: number, to: number, aggregation: false | { maxBytes: number }) =>
      pipeline(
        Readable.from(items(from, to, AGGREGATED.keys)),
        createKinesisWritable<Item>({ endpoint: server.endpoint, streamName: AGGREGATED.name, aggregation, preserveOrder: true, partitionKey: (item) => `key-${item.key}` }),
      );
    await write(0, 1500, { maxBytes: 2048 });
    await write(1500, 1700, false);
    await write(1700, AGGREGATED.total, { maxBytes: 2048 });
    for (const stream of [PLAIN, AGGREGATED]) shards.set(stream.name, lambdaRecordsByShard(await readStored(client, stream.name), stream.name));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('the events hold what was written: aggregates as Kinesis records, several of them per shard', () => {
    const plain = [...(shards.get(PLAIN.name)?.values() ?? [])];
    assert.equal(plain.length, 2);
    assert.equal(plain.flat().length, PLAIN.total);
    const aggregated = [...(shards.get(AGGREGATED.name)?.values() ?? [])].flat();
    assert.ok(aggregated.length > 200 && aggregated.length < AGGREGATED.total / 5, `${aggregated.length} Kinesis records for ${AGGREGATED.total} user records`);
    const record = aggregated[0];
    assert.equal(record.kinesis.kinesisSchemaVersion, '1.0');
    assert.equal(record.eventID, `${[...(shards.get(AGGREGATED.name)?.keys() ?? [])][0]}:${record.kinesis.sequenceNumber}`);
    assert.ok(Number.isFinite(record.kinesis.approximateArrivalTimestamp) && record.kinesis.approximateArrivalTimestamp < Date.now() / 1000 + 1);
  });

  for (const stream of [PLAIN, AGGREGATED]) {
    it(`${stream.name}: kinesisEventReadable yields per shard exactly the records createKinesisReadable yields`, async () => {
      const reader = createKinesisReadable<Item>({ endpoint: server.endpoint, streamName: stream.name, initialPosition: 'TRIM_HORIZON', decode: 'json' });
      let polled: Array<KinesisRecord<Item>>;
      try {
        polled = await readUntil(reader, stream.total);
      } finally {
        reader.destroy();
      }
      let total = 0;
      for (const [shardId, records] of shards.get(stream.name) ?? []) {
        const fromEvent: Array<KinesisRecord<Item>> = [];
        for await (const record of kinesisEventReadable<Item>({ Records: records }, { decode: 'json' })) fromEvent.push(record);
        assert.deepEqual(fromEvent, polled.filter((r) => r.shardId === shardId).map(comparable), shardId);
        total += fromEvent.length;
      }
      assert.equal(total, stream.total);
    });
  }

  it('a corrupt aggregate is delivered whole, as the poller delivers it', async () => {
    await createTestStream(server.endpoint, 'lambda-corrupt', 1);
    const corrupt = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), Buffer.alloc(40, 7)]);
    for (const data of [Buffer.from('before'), corrupt, Buffer.from('after')]) {
      await client.send(new PutRecordCommand({ StreamName: 'lambda-corrupt', PartitionKey: 'k', Data: data }));
    }
    const [records] = [...lambdaRecordsByShard(await readStored(client, 'lambda-corrupt'), 'lambda-corrupt').values()];
    const fromEvent: KinesisRecord[] = [];
    for await (const record of kinesisEventReadable({ Records: records })) fromEvent.push(record);
    assert.deepEqual(fromEvent.map((r) => [r.data, r.subSequenceNumber]), [[Buffer.from('before'), undefined], [corrupt, undefined], [Buffer.from('after'), undefined]]);
    const reader = createKinesisReadable({ endpoint: server.endpoint, streamName: 'lambda-corrupt', initialPosition: 'TRIM_HORIZON' });
    try {
      assert.deepEqual((await readUntil(reader, 3)).map(comparable), fromEvent);
    } finally {
      reader.destroy();
    }
  });

  describe('Lambda retries (local event source mapping, a failure injected at random records)', () => {
    type Mode = 'record handler + store' | 'record handler' | 'checkpoint each + store' | 'checkpoint each' | 'auto checkpoint';
    const modes: Mode[] = ['record handler + store', 'record handler', 'checkpoint each + store', 'checkpoint each', 'auto checkpoint'];

    interface Attempt {
      invocation: number;
      n: number;
      key: number;
      sequenceNumber: string;
      subSequenceNumber: number | undefined;
      ok: boolean;
    }

    let seed = 0;
    for (const stream of [PLAIN, AGGREGATED]) {
      for (const mode of modes) {
        const scenarioSeed = ++seed;
        it(`${stream.name}, ${mode}: every record processed, per-key order kept, repeats only where documented (seed ${scenarioSeed})`, async () => {
          const random = prng(scenarioSeed);
          const batchSize = 3 + Math.floor(random() * 40);
          const failAt = new Set(Array.from({ length: 3 }, () => Math.floor(random() * stream.total)));
          const attempts: Attempt[] = [];
          let invocation = 0;
          const failed = new Set<number>();
          const process = (record: KinesisRecord<Item>): void => {
            const { n, key } = record.data;
            const attempt = { invocation, n, key, sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber, ok: true };
            attempts.push(attempt);
            if (failAt.has(n) && !failed.has(n)) {
              failed.add(n);
              attempt.ok = false;
              throw new Error(`injected failure at ${n}`);
            }
          };
          const store = mode.endsWith('+ store') ? new MemoryCheckpointStore() : undefined;
          const options = { decode: 'json' as const, checkpointStore: store, onError: () => undefined };
          let handler: KinesisEventHandler;
          if (mode.startsWith('record handler')) {
            handler = createKinesisRecordHandler<Item>(process, options);
          } else if (mode.startsWith('checkpoint each')) {
            handler = createKinesisHandler<Item>(async (records) => {
              for await (const record of records) {
                process(record);
                await records.checkpoint(record);
              }
            }, options);
          } else {
            handler = createKinesisHandler<Item>(async (records) => {
              for await (const record of records) process(record);
            }, options);
          }
          const invocations: Invocation[] = [];
          const shardRecords: KinesisStreamRecord[][] = [];
          for (const records of shards.get(stream.name)?.values() ?? []) {
            const ran = await driveShard(
              (event, context) => {
                invocation++;
                return handler(event, context);
              },
              records,
              { batchSize },
            );
            invocations.push(...ran);
            shardRecords.push(records);
          }

          // Every record processed at least once.
          const done = new Set(attempts.filter((a) => a.ok).map((a) => a.n));
          assert.equal(done.size, stream.total, 'every record processed');
          // Each injected failure happened once, then the record succeeded on a retry.
          for (const n of failAt) {
            assert.deepEqual(attempts.filter((a) => a.n === n).map((a) => a.ok).slice(0, 2), [false, true], `record ${n}: failed once, then done`);
          }
          // Per-key order: within every invocation, and of first successes overall.
          const lastIn = new Map<string, number>();
          const firstSeen = new Map<number, number>();
          const seen = new Set<number>();
          for (const a of attempts) {
            const slot = `${a.invocation}/${a.key}`;
            assert.ok(a.n > (lastIn.get(slot) ?? -1), `key ${a.key} out of order in an invocation`);
            lastIn.set(slot, a.n);
            if (a.ok && !seen.has(a.n)) {
              seen.add(a.n);
              assert.ok(a.n > (firstSeen.get(a.key) ?? -1), `key ${a.key}: ${a.n} first done after ${firstSeen.get(a.key)}`);
              firstSeen.set(a.key, a.n);
            }
          }
          // Repeats: records processed successfully more than once.
          const okCount = new Map<number, number>();
          for (const a of attempts) if (a.ok) okCount.set(a.n, (okCount.get(a.n) ?? 0) + 1);
          const repeated = attempts.filter((a) => a.ok && (okCount.get(a.n) ?? 0) > 1);
          const failures = attempts.filter((a) => !a.ok);
          const failedInvocations = new Set(failures.map((f) => f.invocation));
          if (mode !== 'auto checkpoint' && (store !== undefined || stream === PLAIN)) assert.deepEqual(repeated, [], 'no record done twice');
          if (mode !== 'auto checkpoint') {
            // Only user records of the failed aggregate that came before the failure, done again.
            for (const a of repeated) {
              assert.ok(
                failures.some((f) => f.sequenceNumber === a.sequenceNumber && (a.subSequenceNumber ?? 0) < (f.subSequenceNumber ?? 0)),
                `record ${a.n} repeated, not in a failed aggregate before the failure`,
              );
            }
            // Lambda was told to retry from the Kinesis record of the failure.
            const retried = invocations.filter((inv) => inv.response !== undefined && inv.response.batchItemFailures.length > 0);
            assert.equal(retried.length, failAt.size, 'one partial response per failure');
          } else {
            // Without checkpoints a failure retries its batch from the start: repeats lie in failed invocations.
            for (const a of repeated) {
              const first = attempts.find((b) => b.n === a.n && b.ok);
              assert.ok(first !== undefined && failedInvocations.has(first.invocation), `record ${a.n} repeated outside a failed batch`);
            }
            for (const inv of invocations) if (inv.response !== undefined && inv.response.batchItemFailures.length > 0) assert.equal(inv.next, inv.from, 'the whole batch again');
          }
          assert.ok(invocations.every((inv) => inv.error === undefined), 'the handler answers, it does not throw');
          // Retries started exactly at the failed Kinesis record (checkpoint modes).
          if (mode !== 'auto checkpoint') {
            const all = shardRecords.flat();
            const retryStarts = invocations.filter((inv) => inv.response !== undefined && inv.response.batchItemFailures.length > 0).map((inv) => inv.response?.batchItemFailures[0].itemIdentifier);
            assert.deepEqual(new Set(retryStarts), new Set(failures.map((f) => f.sequenceNumber)));
            assert.ok(retryStarts.every((seq) => all.some((r) => r.kinesis.sequenceNumber === seq)));
          }
        });
      }
    }
  });

  describe('a writer inside a handler', () => {
    /** A handler forwarding every record to `target` through one writer kept across invocations, as in a real function. */
    function forwarding(target: string, flush: boolean) {
      // lingerMs far beyond the test: whatever is not flushed stays buffered.
      const writer = createKinesisWritable<KinesisRecord>({ endpoint: server.endpoint, streamName: target, lingerMs: 600_000 });
      const handler = createKinesisHandler(async (records) => {
        // A record read from Kinesis is an envelope: same data, same partition key.
        for await (const record of records) {
          if (!writer.write(record)) await new Promise((resolve) => writer.once('drain', resolve));
        }
        if (flush) await writer.flush();
      });
      return { writer, handler };
    }

    it('with await writer.flush() before returning, every record is stored when the handler returns', async () => {
      await createTestStream(server.endpoint, 'lambda-target', 1);
      const { writer, handler } = forwarding('lambda-target', true);
      for (const records of shards.get(PLAIN.name)?.values() ?? []) {
        const invocations = await driveShard(handler, records, { batchSize: 100 });
        assert.ok(invocations.every((inv) => inv.response?.batchItemFailures.length === 0));
      }
      // The execution environment is frozen or ends right after the handler returns.
      writer.destroy();
      const stored = await readStored(client, 'lambda-target');
      assert.deepEqual(stored.map((r) => storedJson<Item>(r).n).sort((a, b) => a - b), Array.from({ length: PLAIN.total }, (_, n) => n));
    });

    it('without it, records written in the handler are still buffered when it returns (the loss the flush prevents)', async () => {
      await createTestStream(server.endpoint, 'lambda-target-unflushed', 1);
      const { writer, handler } = forwarding('lambda-target-unflushed', false);
      const [records] = [...(shards.get(PLAIN.name)?.values() ?? [])];
      await driveShard(handler, records, { batchSize: 100 });
      const buffered = writer.stats().buffered;
      writer.destroy();
      assert.ok(buffered > 0, 'records left in the writer');
      assert.ok((await readStored(client, 'lambda-target-unflushed')).length < records.length, 'not every record stored');
    });
  });
});
