/**
 * One measured benchmark case, run in a fresh process by benchmarks/run.ts so that peak
 * RSS and CPU belong to this case alone:
 *
 *   node --import tsx benchmarks/bench-case.ts --mode raw|writer --endpoint URL \
 *     --size 100 --count 200000 [--warmup 20000] [--max-in-flight 8] [--linger-ms 50] [--max-buffered 10000] [--rate 20000] [--no-rate-limit]
 *   (--mode agg-writer | agg-writer-keys: the writer with aggregation: true, random keys | 1000 partition keys)
 *   node --import tsx benchmarks/bench-case.ts --mode raw-read|reader --endpoint URL --stream read-4x100000x100 \
 *     [--warmup 40000] [--consume data|iterator] [--max-records-per-call N] [--high-water-mark N]
 *   node --expose-gc --import tsx benchmarks/bench-case.ts --mode stalled|slow --endpoint URL --stream read-4x200000x1024 \
 *     [--max-records-per-call 1000] [--high-water-mark 1000] [--duration-ms 5000] [--consume-every 100 --consume-sleep-ms 1]
 *
 * The read modes are in benchmarks/read-case.ts (see there); the rest of this comment is
 * about the writer's.
 *
 * `raw` is the baseline: the AWS SDK's PutRecords in a loop, 500 entries per request,
 * `maxInFlight` requests at a time. `writer` pipes the same Buffers through
 * createKinesisWritable with default options (unless overridden; the per-shard rate limiter
 * included, so the stub must describe shards enough for the load, or the case passes
 * --no-rate-limit and says why). Both use the client of
 * lib/client.ts, so the HTTP handler is identical. A warm-up of the same mode runs first
 * (JIT, lazy SDK initialisation), then the measured run with a new client. `--rate`
 * (writer only) paces the source to that many records/s instead of as fast as the
 * writer takes them, to show what lingerMs does to batch sizes. Prints one JSON line
 * (CaseResult) to stdout.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKinesisClient } from '../lib/client.js';
import { LIMITS, WRITABLE_DEFAULTS } from '../lib/limits.js';
import { randomPartitionKey } from '../lib/writable/partition-key.js';
import { createKinesisWritable, type KinesisWritableOptions } from '../lib/writable/kinesis-writable.js';
import { buildPayloads } from './payloads.js';
import { CREDENTIALS, figures, REGION, sampleRun, type RunFigures } from './measure.js';
import { runReadCase, runStallCase, type ReadMode, type StallMode } from './read-case.js';

export { buildPayloads };

/**
 * `agg-writer`: the writer with `aggregation: true` and no partition key (one random key per
 * aggregate); `agg-writer-keys`: the same with `partitionKey: item => …`, 1000 distinct keys.
 */
export type AggWriteMode = 'agg-writer' | 'agg-writer-keys';
export type WriteMode = 'raw' | 'writer' | AggWriteMode;
/** Distinct partition keys of `agg-writer-keys`. */
export const AGG_DISTINCT_KEYS = 1000;
export type Mode = WriteMode | ReadMode;

/** What one case reports. */
export interface CaseResult extends RunFigures {
  mode: WriteMode;
  recordBytes: number;
  records: number;
  /** PutRecords requests sent (including retries). */
  requests: number;
  /** Entries sent again after a failure. */
  retries: number;
  /** Bytes acknowledged: data + partition keys. */
  bytes: number;
  options: { maxInFlight: number; lingerMs: number | null; maxBufferedRecords: number | null; rate: number | null; aggregation: boolean; rateLimit: boolean | null };
}

const STREAM_NAME = 'bench';

interface RunOutcome {
  requests: number;
  retries: number;
  stored: number;
  bytes: number;
}

/** The baseline: PutRecords of up to 500 entries, `concurrency` requests at a time, failed entries re-sent. */
async function runRaw(client: KinesisClient, payloads: Buffer[], count: number, concurrency: number): Promise<RunOutcome> {
  const batchSize = LIMITS.putRecordsMaxEntries;
  const mask = payloads.length - 1;
  const outcome: RunOutcome = { requests: 0, retries: 0, stored: 0, bytes: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const start = next;
      const end = Math.min(count, start + batchSize);
      next = end;
      let entries: PutRecordsRequestEntry[] = new Array<PutRecordsRequestEntry>(end - start);
      for (let i = start; i < end; i++) entries[i - start] = { Data: payloads[i & mask], PartitionKey: randomPartitionKey() };
      for (let attempt = 1; entries.length > 0; attempt++) {
        const output = await client.send(new PutRecordsCommand({ StreamName: STREAM_NAME, Records: entries }));
        outcome.requests++;
        const failed = output.FailedRecordCount ? entries.filter((_, i) => output.Records?.[i]?.ErrorCode !== undefined) : [];
        const stored = entries.length - failed.length;
        outcome.stored += stored;
        if (failed.length === 0) {
          for (const entry of entries) outcome.bytes += (entry.Data as Uint8Array).byteLength + (entry.PartitionKey as string).length;
        } else {
          const failedSet = new Set(failed);
          for (const entry of entries) {
            if (!failedSet.has(entry)) outcome.bytes += (entry.Data as Uint8Array).byteLength + (entry.PartitionKey as string).length;
          }
          outcome.retries += failed.length;
          if (attempt >= 50) throw new Error(`raw: ${failed.length} entries still failing after ${attempt} attempts`);
          await sleep(Math.min(1000, 10 * attempt));
        }
        entries = failed;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcome;
}

/** Source ticks of a paced run. */
const PACE_TICK_MS = 10;

async function runWriter(
  endpoint: string,
  payloads: Buffer[],
  count: number,
  overrides: Partial<KinesisWritableOptions<Buffer>>,
  rate: number | undefined,
): Promise<RunOutcome> {
  const mask = payloads.length - 1;
  function* items(): Generator<Buffer> {
    for (let i = 0; i < count; i++) yield payloads[i & mask];
  }
  async function* pacedItems(perSecond: number): AsyncGenerator<Buffer> {
    const perTick = Math.max(1, Math.round((perSecond * PACE_TICK_MS) / 1000));
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      if (i % perTick === 0) {
        const due = start + (i / perTick) * PACE_TICK_MS;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      yield payloads[i & mask];
    }
  }
  const writer = createKinesisWritable<Buffer>({ streamName: STREAM_NAME, endpoint, region: REGION, credentials: CREDENTIALS, ...overrides });
  await pipeline(Readable.from(rate === undefined ? items() : pacedItems(rate)), writer);
  const stats = writer.stats();
  if (stats.failed !== 0) throw new Error(`writer: ${stats.failed} record(s) failed`);
  return { requests: stats.requests, retries: stats.retries, stored: stats.recordsWritten, bytes: stats.bytesWritten };
}

/** Runs one mode once with a new client (the writer creates and destroys its own). */
async function runOnce(
  mode: WriteMode,
  endpoint: string,
  payloads: Buffer[],
  count: number,
  maxInFlight: number,
  overrides: Partial<KinesisWritableOptions<Buffer>>,
  rate?: number,
): Promise<RunOutcome> {
  if (mode === 'writer' || mode === 'agg-writer' || mode === 'agg-writer-keys') return runWriter(endpoint, payloads, count, overrides, rate);
  if (rate !== undefined) throw new Error('--rate is for the writer only');
  const client = createKinesisClient({ endpoint, region: REGION, credentials: CREDENTIALS, wire: 'sdk' });
  try {
    return await runRaw(client, payloads, count, maxInFlight);
  } finally {
    client.destroy();
  }
}

export async function runCase(options: {
  mode: WriteMode;
  endpoint: string;
  recordBytes: number;
  count: number;
  warmup: number;
  maxInFlight?: number;
  lingerMs?: number;
  maxBufferedRecords?: number;
  rate?: number;
  /** Turns the writer's per-shard rate limiter off (default: on, as in the library). */
  noRateLimit?: boolean;
}): Promise<CaseResult> {
  const { mode, endpoint, recordBytes, count } = options;
  const maxInFlight = options.maxInFlight ?? WRITABLE_DEFAULTS.maxInFlight;
  const overrides: Partial<KinesisWritableOptions<Buffer>> = {};
  if (options.maxInFlight !== undefined) overrides.maxInFlight = options.maxInFlight;
  if (options.lingerMs !== undefined) overrides.lingerMs = options.lingerMs;
  if (options.maxBufferedRecords !== undefined) overrides.maxBufferedRecords = options.maxBufferedRecords;
  if (options.noRateLimit === true) overrides.rateLimit = false;
  const payloads = buildPayloads(recordBytes);
  if (mode === 'agg-writer' || mode === 'agg-writer-keys') overrides.aggregation = true;
  if (mode === 'agg-writer-keys') {
    // Payload i of the ring has key i mod 1000: the writer's partitionKey function is a Map lookup.
    const keys = new Map<Buffer, string>(payloads.map((p, i) => [p, `user-${String(i % AGG_DISTINCT_KEYS).padStart(4, '0')}`]));
    overrides.partitionKey = (item: Buffer) => keys.get(item)!;
  }

  if (options.warmup > 0) await runOnce(mode, endpoint, payloads, options.warmup, maxInFlight, overrides);
  // Let the warm-up's sockets close and its garbage settle before measuring.
  await sleep(50);

  const run = await sampleRun(() => runOnce(mode, endpoint, payloads, count, maxInFlight, overrides, options.rate));
  const outcome = run.value;
  if (outcome.stored !== count) throw new Error(`${mode}: ${outcome.stored} record(s) acknowledged, expected ${count}`);
  return {
    mode,
    recordBytes,
    records: count,
    ...figures(run, count),
    requests: outcome.requests,
    retries: outcome.retries,
    bytes: outcome.bytes,
    options: {
      maxInFlight,
      lingerMs: mode !== 'raw' ? (options.lingerMs ?? WRITABLE_DEFAULTS.lingerMs) : null,
      maxBufferedRecords: mode !== 'raw' ? (options.maxBufferedRecords ?? WRITABLE_DEFAULTS.maxBufferedRecords) : null,
      rate: options.rate ?? null,
      aggregation: overrides.aggregation === true,
      rateLimit: mode !== 'raw' ? options.noRateLimit !== true : null,
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string' },
      endpoint: { type: 'string' },
      size: { type: 'string', default: '100' },
      count: { type: 'string', default: '100000' },
      warmup: { type: 'string', default: '20000' },
      'max-in-flight': { type: 'string' },
      'linger-ms': { type: 'string' },
      'max-buffered': { type: 'string' },
      rate: { type: 'string' },
      'no-rate-limit': { type: 'boolean', default: false },
      stream: { type: 'string' },
      consume: { type: 'string', default: 'data' },
      'max-records-per-call': { type: 'string' },
      'high-water-mark': { type: 'string' },
      'duration-ms': { type: 'string', default: '5000' },
      'consume-every': { type: 'string', default: '100' },
      'consume-sleep-ms': { type: 'string', default: '1' },
    },
  });
  if (values.endpoint === undefined) throw new Error('--endpoint is required');
  const optionalNumber = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  if (values.mode === 'raw-read' || values.mode === 'reader') {
    if (values.stream === undefined) throw new Error('--stream is required');
    if (values.consume !== 'data' && values.consume !== 'iterator') throw new Error('--consume must be data or iterator');
    const result = await runReadCase({
      mode: values.mode,
      endpoint: values.endpoint,
      stream: values.stream,
      warmup: Number(values.warmup),
      consume: values.consume,
      maxRecordsPerCall: optionalNumber(values['max-records-per-call']),
      highWaterMark: optionalNumber(values['high-water-mark']),
    });
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  if (values.mode === 'stalled' || values.mode === 'slow') {
    if (values.stream === undefined) throw new Error('--stream is required');
    const result = await runStallCase({
      mode: values.mode as StallMode,
      endpoint: values.endpoint,
      stream: values.stream,
      maxRecordsPerCall: optionalNumber(values['max-records-per-call']) ?? 1000,
      highWaterMark: optionalNumber(values['high-water-mark']) ?? 1000,
      durationMs: Number(values['duration-ms']),
      consumeEvery: Number(values['consume-every']),
      consumeSleepMs: Number(values['consume-sleep-ms']),
    });
    process.stdout.write(JSON.stringify(result) + '\n');
    if (result.violations.length > 0) {
      process.stderr.write(`MEMORY BOUND EXCEEDED (${result.mode}, ${result.stream}):\n  ${result.violations.join('\n  ')}\n`);
      process.exitCode = 2;
    }
    return;
  }
  if (values.mode !== 'raw' && values.mode !== 'writer' && values.mode !== 'agg-writer' && values.mode !== 'agg-writer-keys') {
    throw new Error('--mode must be raw, writer, agg-writer, agg-writer-keys, raw-read, reader, stalled or slow');
  }
  const result = await runCase({
    mode: values.mode,
    endpoint: values.endpoint,
    recordBytes: Number(values.size),
    count: Number(values.count),
    warmup: Number(values.warmup),
    maxInFlight: values['max-in-flight'] === undefined ? undefined : Number(values['max-in-flight']),
    lingerMs: values['linger-ms'] === undefined ? undefined : Number(values['linger-ms']),
    maxBufferedRecords: values['max-buffered'] === undefined ? undefined : Number(values['max-buffered']),
    rate: values.rate === undefined ? undefined : Number(values.rate),
    noRateLimit: values['no-rate-limit'],
  });
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
