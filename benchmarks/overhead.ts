/**
 * The writer's own cost per record, without the SDK, HTTP or the stub server:
 *
 *   npx tsx benchmarks/overhead.ts [--count 200000] [--reps 5] [--size 100] [--shards 4] [--only raw,writer,...] [--json]
 *
 * Both sides talk to a fake client whose `send` answers at once, so what remains is the
 * work each side does per record: the raw loop builds `{ Data, PartitionKey }` entries
 * (with the writer's randomPartitionKey) in batches of 500, 8 at a time; the writer goes
 * through `pipeline(Readable.from(...), createKinesisWritable(...))` with default options.
 * "writer − raw" is the overhead the writer adds on top of the SDK's own cost, measured
 * far more steadily than the end-to-end benchmark can on a busy machine. "keys" is the
 * cost of randomPartitionKey alone, which both sides pay. "writer, rate limiter" runs the
 * writer with the per-shard rate limiter on (limits too high to ever wait), for
 * records without a key (placed round robin) and with 1,000 repeating keys (MD5, cached):
 * the limiter's bookkeeping per record. "aggregated" rows run `aggregation: true` the same
 * way. `--shards` sets the fake stream's shard count (the stub benchmark's has 512);
 * `--only` runs some rows, e.g. under `node --cpu-prof`.
 */
import type { KinesisClient, PutRecordsCommand, PutRecordsOutput, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { LIMITS, WRITABLE_DEFAULTS } from '../lib/limits.js';
import { randomPartitionKey } from '../lib/writable/partition-key.js';
import { createKinesisWritable } from '../lib/writable/kinesis-writable.js';
import { cpuPerRecordRuns, spread } from './measure.js';
import { buildPayloads } from './payloads.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200000' },
    reps: { type: 'string', default: '5' },
    size: { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
    /** Comma-separated rows to run (default all): for a CPU profile of one row. */
    only: { type: 'string' },
    shards: { type: 'string', default: '4' },
  },
});
const count = Number(values.count);
const reps = Number(values.reps);
const payloads = buildPayloads(Number(values.size));
const mask = payloads.length - 1;

const SHARDS = Number(values.shards);
const SPAN = (1n << 128n) / BigInt(SHARDS);
const SHARD_LIST = {
  Shards: Array.from({ length: SHARDS }, (_, i) => ({
    ShardId: `shardId-${String(i).padStart(12, '0')}`,
    HashKeyRange: { StartingHashKey: (SPAN * BigInt(i)).toString(), EndingHashKey: (i === SHARDS - 1 ? (1n << 128n) - 1n : SPAN * BigInt(i + 1) - 1n).toString() },
    SequenceNumberRange: { StartingSequenceNumber: '0' },
  })),
};

/** Answers every PutRecords at once, every entry stored; ListShards with SHARDS even shards. */
const fakeClient = {
  async send(command: PutRecordsCommand): Promise<PutRecordsOutput> {
    if (command.constructor.name === 'ListShardsCommand') return SHARD_LIST as unknown as PutRecordsOutput;
    const records = command.input.Records ?? [];
    // No ShardId: the rate-limited writer would take a fixed one for a stale shard map.
    return { FailedRecordCount: 0, Records: records.map(() => ({ SequenceNumber: '1' })) };
  },
  destroy(): void {},
} as unknown as KinesisClient;

async function raw(n: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const start = next;
      const end = Math.min(n, start + LIMITS.putRecordsMaxEntries);
      next = end;
      const entries = new Array<PutRecordsRequestEntry>(end - start);
      for (let i = start; i < end; i++) entries[i - start] = { Data: payloads[i & mask], PartitionKey: randomPartitionKey() };
      await fakeClient.send({ input: { StreamName: 'bench', Records: entries } } as PutRecordsCommand);
    }
  };
  await Promise.all(Array.from({ length: WRITABLE_DEFAULTS.maxInFlight }, worker));
}

async function writer(n: number): Promise<void> {
  function* items(): Generator<Buffer> {
    for (let i = 0; i < n; i++) yield payloads[i & mask];
  }
  // The fake client has no shard map: the rate limiter (on by default) is off here.
  const w = createKinesisWritable<Buffer>({ streamName: 'bench', client: fakeClient, rateLimit: false });
  await pipeline(Readable.from(items()), w);
  if (w.stats().recordsWritten !== n) throw new Error(`writer acknowledged ${w.stats().recordsWritten} of ${n}`);
}

/** Limits no run reaches: the limiter's bookkeeping without its waits. */
const NEVER_WAITS = { recordsPerSecond: 1e12, bytesPerSecond: 1e15 };

async function limited(n: number, keyed: boolean, on = true): Promise<void> {
  function* items(): Generator<Buffer | { data: Buffer; partitionKey: string }> {
    for (let i = 0; i < n; i++) yield keyed ? { data: payloads[i & mask], partitionKey: `user-${i % 1000}` } : payloads[i & mask];
  }
  const w = createKinesisWritable<Buffer | { data: Buffer; partitionKey: string }>({ streamName: 'bench', client: fakeClient, rateLimit: on ? NEVER_WAITS : false });
  await pipeline(Readable.from(items()), w);
  if (w.stats().recordsWritten !== n) throw new Error(`writer acknowledged ${w.stats().recordsWritten} of ${n}`);
}

/** The aggregating writer (default options otherwise: rate limiter on, never waiting): random keys, or 1,000 repeating ones. */
async function aggregated(n: number, keyed: boolean): Promise<void> {
  function* items(): Generator<Buffer | { data: Buffer; partitionKey: string }> {
    for (let i = 0; i < n; i++) yield keyed ? { data: payloads[i & mask], partitionKey: `user-${i % 1000}` } : payloads[i & mask];
  }
  const w = createKinesisWritable<Buffer | { data: Buffer; partitionKey: string }>({ streamName: 'bench', client: fakeClient, aggregation: true, rateLimit: NEVER_WAITS });
  await pipeline(Readable.from(items()), w);
  if (w.stats().recordsWritten !== n) throw new Error(`writer acknowledged ${w.stats().recordsWritten} of ${n}`);
}

async function keys(n: number): Promise<void> {
  let length = 0;
  for (let i = 0; i < n; i++) length += randomPartitionKey().length;
  if (length !== n * 10) throw new Error('unexpected key length');
}

/** Median µs per record over `reps` runs, after a warm-up run. */
async function measure(fn: (n: number) => Promise<void>): Promise<{ median: number; min: number }> {
  await fn(count);
  const { median, min } = spread(await cpuPerRecordRuns(() => fn(count), reps, count));
  return { median, min };
}

const ROWS = {
  keys,
  raw,
  writer,
  limitedKeyless: (n: number) => limited(n, false),
  unlimitedKeyed: (n: number) => limited(n, true, false),
  limitedKeyed: (n: number) => limited(n, true),
  aggregatedKeyless: (n: number) => aggregated(n, false),
  aggregatedKeyed: (n: number) => aggregated(n, true),
};
const LABELS: Record<keyof typeof ROWS, string> = {
  keys: 'randomPartitionKey only',
  raw: 'raw loop, fake client',
  writer: 'writer, fake client',
  limitedKeyless: 'writer, rate limiter, no keys',
  unlimitedKeyed: 'writer, no limiter, 1000 keys',
  limitedKeyed: 'writer, rate limiter, 1000 keys',
  aggregatedKeyless: 'aggregated, limiter, no keys',
  aggregatedKeyed: 'aggregated, limiter, 1000 keys',
};
type Row = keyof typeof ROWS;
const selected = (values.only?.split(',') ?? Object.keys(ROWS)) as Row[];
for (const row of selected) if (!(row in ROWS)) throw new Error(`unknown row ${row}: one of ${Object.keys(ROWS).join(', ')}`);

const result: Partial<Record<Row, { median: number; min: number }>> = {};
for (const row of selected) result[row] = await measure(ROWS[row]);
const overhead =
  result.writer !== undefined && result.raw !== undefined
    ? { median: result.writer.median - result.raw.median, min: result.writer.min - result.raw.min }
    : undefined;
if (values.json === true) {
  process.stdout.write(JSON.stringify({ count, reps, ...result, overhead }) + '\n');
} else {
  const f = (s: { median: number; min: number }) => `${s.median.toFixed(3)} µs/record (min ${s.min.toFixed(3)})`;
  let text = '';
  for (const row of selected) {
    text += `${(LABELS[row] + ':').padEnd(36)}${f(result[row] as { median: number; min: number })}\n`;
    if (row === 'writer' && overhead !== undefined) text += `${'writer − raw:'.padEnd(36)}${f(overhead)}\n`;
  }
  process.stdout.write(text);
}
