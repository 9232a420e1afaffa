/**
 * The reader's benchmark cases, run through benchmarks/bench-case.ts (one fresh process per
 * run, like the writer's) against a read stream of the stub server (benchmarks/stub-read.ts),
 * named `read-<shards>x<recordsPerShard>x<recordBytes>`:
 *
 * - `raw-read`: the baseline, the AWS SDK by hand: ListShards, one TRIM_HORIZON
 *   GetShardIterator per shard, then per shard GetRecords (Limit 10000) back to back until
 *   the shard is caught up (MillisBehindLatest 0), all shards at once; no pacing.
 * - `reader`: createKinesisReadable({ streamName, endpoint, region, credentials,
 *   initialPosition: 'TRIM_HORIZON' }) with default options, consumed with 'data' (or
 *   `for await` with --consume iterator), destroyed after the stream's records.
 *   Both touch every record's data length and must read exactly every record of the stream.
 * - `stalled` / `slow`: the memory bound. A reader whose consumer reads nothing (stalled)
 *   or `consumeEvery` records per `consumeSleepMs` (slow) for `durationMs`, sampling
 *   readableLength, heap, array buffers and RSS every 50 ms, live memory (heap + array
 *   buffers right after a forced GC) every 500 ms, and the stub's GetRecords counters
 *   every 250 ms. Held records = records the stub served − records the consumer
 *   took (an overestimate: answers in flight count as held). The case fails (exit 2) when
 *   readableLength exceeds highWaterMark, held records exceed open shards ×
 *   maxRecordsPerCall + highWaterMark, a stalled reader makes more GetRecords calls than it
 *   has shards, or live memory at any sample exceeds memoryAllowance(): the record bound
 *   with a per-record object allowance, one answer being parsed per shard, and a fixed
 *   slack (needs node --expose-gc). On a stream of aggregates (`agg-…`, stalled only) the
 *   live memory is bounded in user records instead (aggregatedMemoryAllowance).
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKinesisClient } from '../lib/client.js';
import { LIMITS, READABLE_DEFAULTS } from '../lib/limits.js';
import { createKinesisReadable, type KinesisReadable, type KinesisReadableOptions } from '../lib/readable/kinesis-readable.js';
import { CREDENTIALS, figures, MiB, REGION, sampleRun, stubReadCounters as stubCounters, type RunFigures } from './measure.js';
import { aggregateRing } from './stub-read.js';

export type ReadMode = 'raw-read' | 'reader';
export type StallMode = 'stalled' | 'slow';

/** Allowance per held record beyond its data: our record object, the SDK's, the Buffer view, strings. */
export const RECORD_OBJECT_ALLOWANCE_BYTES = 1024;
/** Allowance for everything else a reader holds: client, sockets, timers. */
export const FIXED_SLACK_BYTES = 16 * MiB;
/**
 * Copies of a GetRecords answer alive while the SDK parses it (the body, its string, the
 * parsed JSON's base64 strings), each about the answer's base64 size. A shard whose answer
 * is being parsed has no batch waiting, but the parse transiently needs more than the batch.
 */
export const PARSE_COPIES = 3;

/** What the memory check allows a reader: its record bound, plus one answer in parse per shard, plus fixed costs. */
export function memoryAllowance(shards: number, maxRecordsPerCall: number, highWaterMark: number, recordBytes: number): number {
  const boundRecords = shards * maxRecordsPerCall + highWaterMark;
  const base64Bytes = Math.ceil(recordBytes / 3) * 4;
  return boundRecords * (recordBytes + RECORD_OBJECT_ALLOWANCE_BYTES) + shards * maxRecordsPerCall * base64Bytes * PARSE_COPIES + FIXED_SLACK_BYTES;
}

/**
 * The same for a stream of KPL aggregates, bounded in user records: per shard one GetRecords
 * answer of aggregates (at most maxRecordsPerCall of them and 10 MiB, with its parse copies;
 * the user records' data are views into it), at most one aggregate's user records expanded
 * per shard, and highWaterMark user records in the Readable's buffer, each with the
 * per-record object allowance; plus the fixed slack. A reader that expands a whole answer
 * into user record objects at once (up to ~64k per shard) exceeds it.
 */
export function aggregatedMemoryAllowance(shards: number, maxRecordsPerCall: number, highWaterMark: number, aggregateBytes: number, usersPerAggregate: number): number {
  const answerBytes = Math.min(LIMITS.getRecordsMaxBytes, maxRecordsPerCall * aggregateBytes);
  return shards * answerBytes * PARSE_COPIES + (shards * usersPerAggregate + highWaterMark) * RECORD_OBJECT_ALLOWANCE_BYTES + FIXED_SLACK_BYTES;
}

/** The name of a stub read stream (benchmarks/stub-read.ts) of plain records. */
export function readStreamName(c: { shards: number; recordsPerShard: number; recordBytes: number }): string {
  return `read-${c.shards}x${c.recordsPerShard}x${c.recordBytes}`;
}

/** The name of a stub read stream whose records are KPL aggregates of `users` records of `userBytes`. */
export function aggStreamName(c: { shards: number; aggregatesPerShard: number; users: number; userBytes: number }): string {
  return `agg-${c.shards}x${c.aggregatesPerShard}x${c.users}x${c.userBytes}`;
}

/** The shape of a stub read stream, from its name. */
export function readStreamShape(stream: string): {
  shards: number;
  /** Kinesis records per shard. */
  recordsPerShard: number;
  /** Data bytes of one Kinesis record. */
  recordBytes: number;
  /** User records per Kinesis record (1 on a plain stream) and their data bytes. */
  usersPerRecord: number;
  userBytes: number;
} {
  const aggregated = /^agg-(\d+)x(\d+)x(\d+)x(\d+)$/.exec(stream);
  if (aggregated !== null) {
    const usersPerRecord = Number(aggregated[3]);
    const userBytes = Number(aggregated[4]);
    const recordBytes = aggregateRing(usersPerRecord, userBytes)[0].length;
    return { shards: Number(aggregated[1]), recordsPerShard: Number(aggregated[2]), recordBytes, usersPerRecord, userBytes };
  }
  const match = /^read-(\d+)x(\d+)x(\d+)$/.exec(stream);
  if (match === null) {
    throw new Error(`--stream must be a stub read stream read-<shards>x<recordsPerShard>x<recordBytes> or agg-<shards>x<aggregatesPerShard>x<users>x<userBytes>, got ${stream}`);
  }
  const recordBytes = Number(match[3]);
  return { shards: Number(match[1]), recordsPerShard: Number(match[2]), recordBytes, usersPerRecord: 1, userBytes: recordBytes };
}

/** What a raw-read or reader case reports. */
export interface ReadCaseResult extends RunFigures {
  mode: ReadMode;
  stream: string;
  shards: number;
  recordBytes: number;
  /** Records delivered: user records for the reader (de-aggregated), Kinesis records for raw-read. */
  records: number;
  /** User records per Kinesis record of the stream (1 on a plain stream). */
  usersPerRecord: number;
  /** Data bytes read (sum of the records' data lengths). */
  bytes: number;
  /** GetRecords calls the stub answered during the measured run. */
  requests: number;
  /** Records the stub sent during the measured run (≥ records: a reader may fetch ahead). */
  recordsServed: number;
  retries: number;
  options: { maxRecordsPerCall: number; highWaterMark: number | null; pollIntervalMs: number | null; consume: string };
}

interface ReadOutcome {
  records: number;
  bytes: number;
}

/** The baseline: every shard read with GetRecords back to back, all shards at once. */
async function rawRead(client: KinesisClient, stream: string, perShardLimit: number): Promise<ReadOutcome> {
  const listed = await client.send(new ListShardsCommand({ StreamName: stream }));
  const shardIds = (listed.Shards ?? []).map((s) => s.ShardId!);
  const outcome: ReadOutcome = { records: 0, bytes: 0 };
  await Promise.all(
    shardIds.map(async (shardId) => {
      const first = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
      let iterator = first.ShardIterator;
      let read = 0;
      while (iterator !== undefined && read < perShardLimit) {
        const output = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: LIMITS.getRecordsMaxRecords }));
        const records = output.Records ?? [];
        let bytes = 0;
        for (let i = 0; i < records.length; i++) bytes += records[i].Data!.length;
        outcome.bytes += bytes;
        read += records.length;
        iterator = output.NextShardIterator;
        if (records.length === 0 || output.MillisBehindLatest === 0) break;
      }
      outcome.records += read;
    }),
  );
  return outcome;
}

/** The reader with default options (plus `overrides`), destroyed after `count` records. */
async function readerRead(
  endpoint: string,
  stream: string,
  count: number,
  consume: 'data' | 'iterator',
  overrides: Partial<KinesisReadableOptions>,
): Promise<ReadOutcome> {
  const reader = createKinesisReadable({ endpoint, region: REGION, credentials: CREDENTIALS, streamName: stream, initialPosition: 'TRIM_HORIZON', ...overrides });
  const outcome: ReadOutcome = { records: 0, bytes: 0 };
  if (consume === 'iterator') {
    for await (const record of reader as KinesisReadable) {
      outcome.bytes += record.data.length;
      if (++outcome.records === count) break;
    }
    return outcome;
  }
  await new Promise<void>((resolve, reject) => {
    reader.on('data', (record: { data: Buffer }) => {
      if (outcome.records >= count) return;
      outcome.bytes += record.data.length;
      if (++outcome.records === count) reader.destroy();
    });
    reader.once('error', reject);
    reader.once('close', () => (outcome.records === count ? resolve() : reject(new Error(`reader closed after ${outcome.records} of ${count} records`))));
  });
  return outcome;
}

export async function runReadCase(options: {
  mode: ReadMode;
  endpoint: string;
  stream: string;
  warmup: number;
  consume?: 'data' | 'iterator';
  maxRecordsPerCall?: number;
  highWaterMark?: number;
}): Promise<ReadCaseResult> {
  const { mode, endpoint, stream } = options;
  const shape = readStreamShape(stream);
  // The reader de-aggregates (default deaggregate: true): it delivers user records; the raw loop delivers Kinesis records.
  const perRecord = mode === 'reader' ? shape.usersPerRecord : 1;
  const recordBytes = mode === 'reader' ? shape.userBytes : shape.recordBytes;
  const count = shape.shards * shape.recordsPerShard * perRecord;
  const consume = options.consume ?? 'data';
  const overrides: Partial<KinesisReadableOptions> = {};
  if (options.maxRecordsPerCall !== undefined) overrides.maxRecordsPerCall = options.maxRecordsPerCall;
  if (options.highWaterMark !== undefined) overrides.highWaterMark = options.highWaterMark;
  const once = async (records: number | undefined): Promise<ReadOutcome> => {
    if (mode === 'reader') return readerRead(endpoint, stream, records ?? count, consume, overrides);
    const client = createKinesisClient({ endpoint, region: REGION, credentials: CREDENTIALS, wire: 'sdk' });
    try {
      return await rawRead(client, stream, records === undefined ? Number.POSITIVE_INFINITY : Math.ceil(records / shape.shards));
    } finally {
      client.destroy();
    }
  };

  if (options.warmup > 0) await once(options.warmup);
  const before = await stubCounters(endpoint, stream);
  await sleep(50);

  const run = await sampleRun(() => once(undefined));
  const outcome = run.value;
  const after = await stubCounters(endpoint, stream);

  if (outcome.records !== count) throw new Error(`${mode}: read ${outcome.records} record(s), expected ${count}`);
  if (outcome.bytes !== count * recordBytes) throw new Error(`${mode}: read ${outcome.bytes} data bytes, expected ${count * recordBytes}`);
  return {
    mode,
    stream,
    shards: shape.shards,
    recordBytes,
    records: count,
    usersPerRecord: shape.usersPerRecord,
    bytes: outcome.bytes,
    ...figures(run, count),
    requests: after.getRecords - before.getRecords,
    recordsServed: after.recordsServed - before.recordsServed,
    retries: 0,
    options: {
      maxRecordsPerCall: options.maxRecordsPerCall ?? READABLE_DEFAULTS.maxRecordsPerCall,
      highWaterMark: mode === 'reader' ? (options.highWaterMark ?? READABLE_DEFAULTS.highWaterMark) : null,
      pollIntervalMs: mode === 'reader' ? READABLE_DEFAULTS.pollIntervalMs : null,
      consume: mode === 'reader' ? consume : 'loop',
    },
  };
}

// ---- memory bound -------------------------------------------------------------------

export interface MemorySample {
  /** ms since the reader was created. */
  t: number;
  readableLength: number;
  heapUsedMiB: number;
  arrayBuffersMiB: number;
  rssMiB: number;
}

export interface StallResult {
  mode: StallMode;
  stream: string;
  shards: number;
  /** Data bytes of one Kinesis record (an aggregate on an aggregated stream). */
  recordBytes: number;
  /** User records per Kinesis record (1 on a plain stream). */
  usersPerRecord: number;
  /** On an aggregated stream: the bound in user records, open shards × users per aggregate + highWaterMark. */
  userBoundRecords: number | null;
  maxRecordsPerCall: number;
  highWaterMark: number;
  durationMs: number;
  consumer: string;
  /** Records the consumer took. */
  consumed: number;
  /** Records the stub served during the run. */
  served: number;
  getRecords: number;
  /** GetRecords calls beyond one per shard. */
  getRecordsAfterFirstBatch: number;
  maxReadableLength: number;
  /** Highest (served − consumed) at a stub sample: records held by the reader, an upper bound. */
  maxHeldRecords: number;
  /** open shards × maxRecordsPerCall + highWaterMark. */
  boundRecords: number;
  /** boundRecords × record size (on aggregates: userBoundRecords × user record size). */
  boundBytes: number;
  /** What the assertion allows (memoryAllowance). */
  allowedBytes: number;
  baseline: { heapUsedMiB: number; arrayBuffersMiB: number; rssMiB: number };
  /** Highest heapUsed + arrayBuffers − baseline, sampled (garbage included). */
  peakGrowthMiB: number;
  /** heapUsed + arrayBuffers − baseline after a forced GC at the end, reader still open (everything it holds, not only records). */
  retainedGrowthMiB: number | null;
  retainedBytesPerHeldRecord: number | null;
  peakRssGrowthMiB: number;
  /** Live memory (heap + arrayBuffers after a forced GC) − baseline, every 500 ms: [ms, MiB]. */
  live: Array<[number, number]>;
  liveMaxMiB: number;
  /**
   * Lowest live memory in the first and in the second half of the run (the floor: what the
   * reader keeps between answers; a sample taken while an answer is being parsed also shows
   * that answer's transient copies). Flat memory keeps the second ≈ the first.
   */
  liveFirstHalfFloorMiB: number;
  liveSecondHalfFloorMiB: number;
  /** What a reader without backpressure would have held at the end (fetched at 5 calls/s/shard − consumed). */
  unboundedHeldRecords: number;
  timeline: MemorySample[];
  violations: string[];
}

function gc(): boolean {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return false;
  collect();
  collect();
  return true;
}

function maxOf(points: Array<[number, number]>): number {
  return points.reduce((max, [, v]) => Math.max(max, v), 0);
}

function minOf(points: Array<[number, number]>): number {
  return points.length === 0 ? 0 : points.reduce((min, [, v]) => Math.min(min, v), Number.POSITIVE_INFINITY);
}

export async function runStallCase(options: {
  mode: StallMode;
  endpoint: string;
  stream: string;
  maxRecordsPerCall: number;
  highWaterMark: number;
  durationMs: number;
  consumeEvery: number;
  consumeSleepMs: number;
}): Promise<StallResult> {
  const { mode, endpoint, stream, maxRecordsPerCall, highWaterMark, durationMs } = options;
  const shape = readStreamShape(stream);
  const aggregated = shape.usersPerRecord > 1;
  // Held records are counted as served Kinesis records − consumed records: only comparable when the consumer takes none.
  if (aggregated && mode !== 'stalled') throw new Error('an aggregated stream is measured with a stalled consumer only');
  const readerOptions = {
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    streamName: stream,
    initialPosition: 'TRIM_HORIZON' as const,
    maxRecordsPerCall,
    highWaterMark,
  };

  // Warm-up: load and compile the reader, the SDK and fetch, so the baseline holds them.
  const warm = createKinesisReadable(readerOptions);
  let warmed = 0;
  for await (const record of warm) {
    warmed += record.data.length > 0 ? 1 : 0;
    if (warmed >= 2 * maxRecordsPerCall) break;
  }
  await stubCounters(endpoint, stream);
  await sleep(100);
  const hasGc = gc();
  const base = process.memoryUsage();
  const baseHeap = base.heapUsed + base.arrayBuffers;
  const start = await stubCounters(endpoint, stream);

  const t0 = performance.now();
  const reader = createKinesisReadable(readerOptions);
  const timeline: MemorySample[] = [];
  let maxReadableLength = 0;
  let peakHeap = baseHeap;
  let peakRss = base.rss;
  const sample = (): void => {
    const m = process.memoryUsage();
    maxReadableLength = Math.max(maxReadableLength, reader.readableLength);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
    peakRss = Math.max(peakRss, m.rss);
    timeline.push({
      t: Math.round(performance.now() - t0),
      readableLength: reader.readableLength,
      heapUsedMiB: (m.heapUsed - base.heapUsed) / MiB,
      arrayBuffersMiB: (m.arrayBuffers - base.arrayBuffers) / MiB,
      rssMiB: (m.rss - base.rss) / MiB,
    });
  };
  const sampler = setInterval(sample, 50);
  // Live memory: what survives a full collection. Forcing one every 500 ms slows the reader a little; no throughput is measured here.
  const live: Array<[number, number]> = [];
  const liveSampler = setInterval(() => {
    if (!gc()) return;
    const m = process.memoryUsage();
    live.push([Math.round(performance.now() - t0), (m.heapUsed + m.arrayBuffers - baseHeap) / MiB]);
  }, 500);

  let consumed = 0;
  let maxHeld = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const consumedBefore = consumed;
      const now = await stubCounters(endpoint, stream);
      maxHeld = Math.max(maxHeld, now.recordsServed - start.recordsServed - consumedBefore);
      await sleep(250);
    }
  })();

  let consumerError: unknown;
  const consumer =
    mode === 'slow'
      ? (async () => {
          try {
            // Stopping must not destroy the reader: its memory is measured after the run.
            for await (const record of reader.iterator({ destroyOnReturn: false })) {
              if (record.data.length !== shape.userBytes) throw new Error(`record of ${record.data.length} bytes`);
              if (++consumed % options.consumeEvery === 0) await sleep(options.consumeSleepMs);
              if (performance.now() - t0 >= durationMs) break;
            }
          } catch (error) {
            consumerError = error;
          }
        })()
      : sleep(durationMs).then(() => undefined);
  reader.once('error', (error) => (consumerError ??= error));
  await consumer;
  const elapsed = performance.now() - t0;
  polling = false;
  await poller;
  clearInterval(sampler);
  clearInterval(liveSampler);
  sample();
  const end = await stubCounters(endpoint, stream);
  maxHeld = Math.max(maxHeld, end.recordsServed - start.recordsServed - consumed);
  let retained: number | null = null;
  if (hasGc) {
    gc();
    const m = process.memoryUsage();
    retained = m.heapUsed + m.arrayBuffers - baseHeap;
    live.push([Math.round(performance.now() - t0), retained / MiB]);
  }
  const destroyed = reader.destroyed;
  reader.destroy();
  if (destroyed) throw new Error('the reader was destroyed before the end of the run');
  if (consumerError !== undefined) throw consumerError;

  const getRecords = end.getRecords - start.getRecords;
  const boundRecords = shape.shards * maxRecordsPerCall + highWaterMark;
  // On aggregates the bound is in user records: their data, not the aggregates'.
  const boundBytes = aggregated ? (shape.shards * shape.usersPerRecord + highWaterMark) * shape.userBytes : boundRecords * shape.recordBytes;
  const allowedBytes = aggregated
    ? aggregatedMemoryAllowance(shape.shards, maxRecordsPerCall, highWaterMark, shape.recordBytes, shape.usersPerRecord)
    : memoryAllowance(shape.shards, maxRecordsPerCall, highWaterMark, shape.recordBytes);
  const served = end.recordsServed - start.recordsServed;
  const callsPerSecond = LIMITS.shardGetRecordsCallsPerSecond;
  // In user records (the consumer's unit): answers of at most maxRecordsPerCall Kinesis records and 10 MiB.
  const perAnswer = Math.min(maxRecordsPerCall, Math.max(1, Math.floor(LIMITS.getRecordsMaxBytes / shape.recordBytes))) * shape.usersPerRecord;
  const unboundedFetched = Math.min(
    shape.shards * shape.recordsPerShard * shape.usersPerRecord,
    Math.floor((elapsed / 1000) * callsPerSecond + 1) * perAnswer * shape.shards,
  );
  const violations: string[] = [];
  if (maxReadableLength > highWaterMark) violations.push(`readableLength reached ${maxReadableLength} > highWaterMark ${highWaterMark}`);
  if (maxHeld > boundRecords) violations.push(`the reader held up to ${maxHeld} records > bound ${boundRecords} (shards × maxRecordsPerCall + highWaterMark)`);
  if (mode === 'stalled' && getRecords > shape.shards) violations.push(`a stalled reader made ${getRecords} GetRecords calls over ${shape.shards} shards (at most one per shard allowed)`);
  const liveMax = maxOf(live);
  if (liveMax * MiB > allowedBytes) {
    violations.push(`live memory reached ${liveMax.toFixed(1)} MiB after GC > allowed ${(allowedBytes / MiB).toFixed(1)} MiB`);
  }
  const result: StallResult = {
    mode,
    stream,
    shards: shape.shards,
    recordBytes: shape.recordBytes,
    usersPerRecord: shape.usersPerRecord,
    userBoundRecords: aggregated ? shape.shards * shape.usersPerRecord + highWaterMark : null,
    maxRecordsPerCall,
    highWaterMark,
    durationMs: Math.round(elapsed),
    consumer: mode === 'stalled' ? 'reads nothing' : `${options.consumeEvery} records per ${options.consumeSleepMs} ms sleep`,
    consumed,
    served,
    getRecords,
    getRecordsAfterFirstBatch: Math.max(0, getRecords - shape.shards),
    maxReadableLength,
    maxHeldRecords: maxHeld,
    boundRecords,
    boundBytes,
    allowedBytes,
    baseline: { heapUsedMiB: base.heapUsed / MiB, arrayBuffersMiB: base.arrayBuffers / MiB, rssMiB: base.rss / MiB },
    peakGrowthMiB: (peakHeap - baseHeap) / MiB,
    retainedGrowthMiB: retained === null ? null : retained / MiB,
    // Only meaningful while the reader holds a steady amount, i.e. with a stalled consumer.
    retainedBytesPerHeldRecord: retained === null || mode !== 'stalled' || served <= 0 ? null : retained / (served * shape.usersPerRecord),
    peakRssGrowthMiB: (peakRss - base.rss) / MiB,
    live: live.map(([t, v]) => [t, Number(v.toFixed(2))]),
    liveMaxMiB: liveMax,
    liveFirstHalfFloorMiB: minOf(live.filter(([t]) => t < elapsed / 2)),
    liveSecondHalfFloorMiB: minOf(live.filter(([t]) => t >= elapsed / 2)),
    unboundedHeldRecords: Math.max(0, unboundedFetched - consumed),
    timeline: timeline.filter((_, i) => i % 5 === 0),
    violations,
  };
  return result;
}
