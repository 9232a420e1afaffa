/**
 * The writer and the reader at the service's per-shard limits: a 4-shard kinesalite
 * stream behind the limits proxy (test/helpers/limits-proxy.ts), with the limits scaled
 * down so that a run takes seconds, and a source far faster than them.
 *
 * Writer: 100 B and 1 KiB records, uniform keys and a 30% hot key, rate limiter on and
 * off (off is the writer before the limiter: backoff only). Sustained throughput is read
 * off the proxy's acceptance timeline after the first second's burst, as a share of the
 * provisioned capacity of the shards concerned. Every record is then read back from
 * kinesalite itself: lost and duplicated records are counted.
 *
 * Reader: 2 shards of 1 KiB records behind the real read limits (2 MiB/s, 5 calls/s):
 * sustained bytes per second per shard against 2 MiB/s, and calls refused.
 *
 * Run alone with `npx tsx benchmarks/limits-case.ts` (replaces its section of
 * RESULTS.md), or as part of `npm run bench`.
 */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createKinesisReadable, createKinesisWritable } from '../lib/index.js';
import { hashKeyOf } from '../lib/aggregation/hash-key.js';
import { ShardMap } from '../lib/writable/shard-map.js';
import { startLimitsProxy, type ShardLimitStats } from '../test/helpers/limits-proxy.js';
import { createTestStream, localClientConfig, startKinesalite } from '../test/helpers/servers.js';
import { readStored } from '../test/helpers/streams.js';
import { writeResultsSection } from './results-section.js';

const KiB = 1024;
export const LIMITS_HEADING = '## At the per-shard limits (limits proxy)';
/** Scaled-down write limits per shard: the same shape as 1000 records/s and 1 MiB/s. */
const WRITE_LIMITS = { recordsPerSecond: 500, bytesPerSecond: 128 * KiB };
const SHARDS = 4;
const KEY_BYTES = 10;
/** Seconds of sustained writing after the first second's burst. */
const SUSTAIN_S = 4;
const TARGETS = { throughputMin: 0.95, throttledMax: 0.02, readMin: 0.95 };

export interface WriteRow {
  recordBytes: number;
  hotKey: boolean;
  limiter: boolean;
  records: number;
  /** Sustained records/s of the measured shards (all, or the cold ones with a hot key), and their capacity. */
  sustained: number;
  capacity: number;
  /** The hot shard's sustained records/s and capacity (hot key only). */
  hotSustained?: number;
  hotCapacity?: number;
  entriesSent: number;
  throttled: number;
  lost: number;
  duplicates: number;
  failed: number;
  seconds: number;
}

export interface ReadRow {
  shards: number;
  recordBytes: number;
  bytesPerShard: number;
  /** Sustained bytes/s per shard (median over shards). */
  sustained: number;
  limit: number;
  calls: number;
  throttledCalls: number;
}

/** Records/s one shard takes for records of `bytes` (data + key). */
function shardCapacity(bytes: number): number {
  return Math.min(WRITE_LIMITS.recordsPerSecond, WRITE_LIMITS.bytesPerSecond / bytes);
}

/**
 * A shard's sustained records/s: records accepted from one second after its first
 * request arrived (the writer's burst is spent by then) to its last acceptance, per
 * second of that window. The proxy's own one-second burst can only inflate this for a
 * writer that left the shard idle (the baseline), never for one that keeps it saturated.
 */
function sustainedRate(stats: ShardLimitStats): number {
  const events = stats.accepted;
  if (events.length < 2) return 0;
  const from = stats.firstAt + 1000;
  const to = events[events.length - 1][0];
  if (to <= from) return 0;
  let records = 0;
  for (const [t, n] of events) if (t > from && t <= to) records += n;
  return records / ((to - from) / 1000);
}

async function writeCase(endpoint: string, c: { recordBytes: number; hotKey: boolean; limiter: boolean }, streamName: string): Promise<WriteRow> {
  const proxy = await startLimitsProxy({ upstream: endpoint, writeRecordsPerSecond: WRITE_LIMITS.recordsPerSecond, writeBytesPerSecond: WRITE_LIMITS.bytesPerSecond });
  const client = new KinesisClient(localClientConfig(endpoint));
  try {
    await createTestStream(endpoint, streamName, SHARDS);
    const map = await ShardMap.load(client, streamName, new AbortController().signal);
    const hotKey = 'hot-key-00';
    const hotShard = map.shardFor(hashKeyOf(hotKey));
    const perShard = shardCapacity(c.recordBytes + KEY_BYTES);
    // Enough for SUSTAIN_S seconds at capacity after the first second (hot key: of the cold shards).
    const records = Math.round(c.hotKey ? (perShard * (SHARDS - 1) * (1 + SUSTAIN_S)) / 0.7 : perShard * SHARDS * (1 + SUSTAIN_S));
    const data = Buffer.alloc(c.recordBytes - 8, 'x');
    const items = function* (): Generator<{ data: Buffer; partitionKey: string }> {
      for (let n = 0; n < records; n++) {
        const id = Buffer.alloc(8);
        id.writeUInt32BE(n, 0);
        const partitionKey = c.hotKey && n % 10 < 3 ? hotKey : `k${String(n % 100_000).padStart(KEY_BYTES - 1, '0')}`;
        yield { data: Buffer.concat([id, data]), partitionKey };
      }
    };
    const writer = createKinesisWritable({
      endpoint: proxy.url,
      streamName,
      rateLimit: c.limiter ? WRITE_LIMITS : false,
      failOnError: false,
      // The hot shard's backlog waits in the buffer while the cold shards flow.
      maxBufferedRecords: records,
    });
    let failed = 0;
    writer.on('failedRecords', (list: unknown[]) => (failed += list.length));
    const started = performance.now();
    await pipeline(Readable.from(items()), writer);
    const seconds = (performance.now() - started) / 1000;
    const stats = proxy.stats().filter((s) => s.streamName === streamName);
    const cold = stats.filter((s) => !c.hotKey || s.shardId !== hotShard);
    const hot = stats.find((s) => c.hotKey && s.shardId === hotShard);
    const stored = await readStored(client, streamName);
    const seen = new Map<number, number>();
    for (const r of stored) {
      const n = Buffer.from(r.Data ?? []).readUInt32BE(0);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
    let duplicates = 0;
    for (const count of seen.values()) duplicates += count - 1;
    return {
      ...c,
      records,
      sustained: cold.reduce((sum, s) => sum + sustainedRate(s), 0),
      capacity: perShard * (c.hotKey ? SHARDS - 1 : SHARDS),
      hotSustained: hot === undefined ? undefined : sustainedRate(hot),
      hotCapacity: hot === undefined ? undefined : perShard,
      entriesSent: stats.reduce((sum, s) => sum + s.entries, 0),
      throttled: stats.reduce((sum, s) => sum + s.throttledEntries, 0),
      lost: records - seen.size - failed,
      duplicates,
      failed,
      seconds,
    };
  } finally {
    client.destroy();
    await proxy.stop();
  }
}

async function readCase(endpoint: string): Promise<ReadRow> {
  const shards = 2;
  const recordBytes = KiB;
  const bytesPerShard = 16 * 1024 * KiB;
  const streamName = 'limits-read';
  const client = new KinesisClient(localClientConfig(endpoint));
  const proxy = await startLimitsProxy({ upstream: endpoint });
  try {
    await createTestStream(endpoint, streamName, shards);
    const map = await ShardMap.load(client, streamName, new AbortController().signal);
    const perShard = Math.floor(bytesPerShard / (recordBytes + 1));
    const open = map.openShards();
    for (const shard of open) {
      for (let i = 0; i < perShard; i += 500) {
        const entries = Array.from({ length: Math.min(500, perShard - i) }, () => ({ Data: Buffer.alloc(recordBytes, 'r'), PartitionKey: 'k', ExplicitHashKey: shard.startingHashKey }));
        await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
      }
    }
    const total = perShard * open.length;
    // 1000 records (~1 MiB) per call: the byte limit (2 calls/s), not the call limit (5/s), paces the reader.
    const reader = createKinesisReadable({ endpoint: proxy.url, streamName, initialPosition: 'TRIM_HORIZON', maxRecordsPerCall: 1000 });
    let read = 0;
    for await (const _ of reader) {
      if (++read >= total) break;
    }
    reader.destroy();
    const stats = proxy.stats().filter((s) => s.streamName === streamName);
    // Sustained: bytes answered from one second after the shard's first call (its burst spent) to its last answer.
    const rates = stats.map((s) => {
      const from = s.firstAt + 1000;
      const to = s.reads[s.reads.length - 1][0];
      const bytes = s.reads.filter(([t]) => t > from && t <= to).reduce((sum, [, , b]) => sum + b, 0);
      return bytes / ((to - from) / 1000);
    });
    rates.sort((a, b) => a - b);
    return {
      shards,
      recordBytes,
      bytesPerShard,
      sustained: rates[Math.floor(rates.length / 2)],
      limit: 2 * 1024 * KiB,
      calls: stats.reduce((sum, s) => sum + s.getRecordsCalls, 0),
      throttledCalls: stats.reduce((sum, s) => sum + s.throttledCalls, 0),
    };
  } finally {
    client.destroy();
    await proxy.stop();
  }
}

export async function limitsBench(options: { log?: (line: string) => void } = {}): Promise<{ writes: WriteRow[]; read: ReadRow }> {
  const server = await startKinesalite();
  const writes: WriteRow[] = [];
  try {
    let n = 0;
    for (const recordBytes of [100, KiB]) {
      for (const hotKey of [false, true]) {
        for (const limiter of [true, false]) {
          const row = await writeCase(server.endpoint, { recordBytes, hotKey, limiter }, `limits-${n++}`);
          options.log?.(`limits: ${recordBytes} B ${hotKey ? 'hot key' : 'uniform'} limiter ${limiter ? 'on' : 'off'}: ${(row.sustained / row.capacity).toFixed(3)} of capacity, ${row.throttled}/${row.entriesSent} throttled, lost ${row.lost}, dup ${row.duplicates}`);
          writes.push(row);
        }
      }
    }
    const read = await readCase(server.endpoint);
    options.log?.(`limits: reader ${(read.sustained / read.limit).toFixed(3)} of the read limit, ${read.throttledCalls}/${read.calls} calls refused`);
    return { writes, read };
  } finally {
    await server.stop();
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function limitsMarkdown(r: { writes: WriteRow[]; read: ReadRow }): string {
  const lines = [
    LIMITS_HEADING,
    '',
    `A ${SHARDS}-shard kinesalite stream behind the limits proxy, write limits scaled to ${WRITE_LIMITS.recordsPerSecond} records/s and ${WRITE_LIMITS.bytesPerSecond / KiB} KiB/s per shard, a source far faster than that.`,
    'Sustained = records each shard accepted from one second after its first request to its last acceptance, per second, summed over the measured shards: all of them with uniform keys, the three cold ones with a 30% hot key.',
    '"off" is the writer without the rate limiter (backoff only, the writer before it). Goals: sustained ≥ 0.95 of capacity, throttled ≤ 2% of entries sent (limiter on).',
    '',
    '| record | keys | limiter | records | sustained rec/s | capacity rec/s | ratio | hot shard ratio | entries sent | throttled | lost | duplicates | failed | s | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const w of r.writes) {
    const ratio = w.sustained / w.capacity;
    const throttledShare = w.throttled / w.entriesSent;
    const verdict = !w.limiter ? 'baseline' : ratio >= TARGETS.throughputMin && throttledShare <= TARGETS.throttledMax && w.lost === 0 && w.duplicates === 0 ? 'PASS' : 'FAIL';
    lines.push(
      `| ${w.recordBytes} B | ${w.hotKey ? '30% hot' : 'uniform'} | ${w.limiter ? 'on' : 'off'} | ${w.records} | ${w.sustained.toFixed(0)} | ${w.capacity.toFixed(0)} | ${ratio.toFixed(3)} | ${w.hotSustained === undefined || w.hotCapacity === undefined ? '—' : (w.hotSustained / w.hotCapacity).toFixed(3)} | ${w.entriesSent} | ${w.throttled} (${pct(throttledShare)}) | ${w.lost} | ${w.duplicates} | ${w.failed} | ${w.seconds.toFixed(1)} | ${verdict} |`,
    );
  }
  const read = r.read;
  const readRatio = read.sustained / read.limit;
  lines.push(
    '',
    `Reader: ${read.shards} shards of ${read.bytesPerShard / (1024 * KiB)} MiB in ${read.recordBytes} B records behind the real read limits (2 MiB/s, 5 calls/s per shard), 1000 records per call; sustained = bytes answered from one second after a shard's first call to its last answer, per second (median over shards).`,
    '',
    '| sustained MiB/s per shard | limit | ratio | GetRecords calls | refused | verdict |',
    '|---|---|---|---|---|---|',
    `| ${(read.sustained / (1024 * KiB)).toFixed(2)} | 2.00 | ${readRatio.toFixed(3)} | ${read.calls} | ${read.throttledCalls} | ${readRatio >= TARGETS.readMin && read.throttledCalls === 0 ? 'PASS' : 'FAIL'} |`,
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const result = await limitsBench({ log: (line) => process.stderr.write(`${line}\n`) });
  const markdown = limitsMarkdown(result);
  process.stdout.write(markdown);
  await writeResultsSection(LIMITS_HEADING, markdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
