/**
 * KPL aggregation sections of `npm run bench`: the writer with `aggregation: true` (random
 * keys; 1000 partition keys) against the raw PutRecords loop on a stub that counts the user
 * records inside aggregates, and the de-aggregating reader on a stub stream of aggregates
 * (benchmarks/stub-read.ts `agg-…`) against the raw GetRecords loop of the plain 100 B stream.
 */
import { READABLE_DEFAULTS } from '../lib/limits.js';
import { alternate, log, ratios, spread, stubCpuUs, summarize, type BenchConfig, type Spread, type Stub, type Summary } from './measure.js';
import { aggStreamName, readStreamName, readStreamShape } from './read-case.js';
import { measureRead, pacingFloor, readProgress, type ReadMeasured, type ReaderBench, type ReadSummary } from './reader-bench.js';
import { AGG_TARGETS, cell, fmt, judged, markdownTable, measuredCells, mib, passFail } from './report.js';
import { runCaseProcess, writeProgress, type Measured } from './writer-bench.js';

export function aggregationSettings(cfg: BenchConfig) {
  const { scale, reps } = cfg;
  return {
    /**
     * Writer side: 100 B records against a 4-shard stub that decodes every entry and counts the
     * user records inside. The writer runs with `rateLimit: false` here, and only here: at 4
     * shards its rate limiter would hold the stream to 4 MiB/s, below what the aggregated writer
     * sends, and with the shards enough for the limits (the main table's 512) the 1000 keys would
     * spread over so many shards that per-shard aggregates stay small. The limiter's cost is in
     * the main writer table.
     */
    write: { recordBytes: 100, count: 200_000 * scale, warmup: 20_000 * scale, reps, shards: 4 },
    /**
     * Reader side: a stub stream whose records are aggregates of `users` records of `userBytes`
     * (47,492 B each). 40 per shard are 1.8 MiB: one answer within the full 2 MiB/s read bucket,
     * so the reader's read limits do not bind (at 4 shards × 600 they would hold it to ~14 s).
     */
    read: { shards: 32, aggregatesPerShard: 40 * scale, users: 400, userBytes: 100, reps },
    /** The raw-read row of the reader table the de-aggregating reader is compared with. */
    reference: { shards: 4, recordBytes: 100 },
  };
}
type AggregationSettings = ReturnType<typeof aggregationSettings>;

type AggWriteMode = 'raw' | 'agg-writer' | 'agg-writer-keys';
const AGG_WRITE_MODES: AggWriteMode[] = ['raw', 'agg-writer', 'agg-writer-keys'];
type AggMeasured = Measured & { rep: number; kinesisRecords: number; aggregates: number };

export interface AggWriteBench {
  summaries: Array<Summary & { kinesisRecords: number; aggregates: number }>;
  ratios: Array<{ mode: AggWriteMode; throughput: number; pairedThroughput: Spread; cpuPerRecord: number; ok: boolean; stretchOk: boolean }>;
  runs: AggMeasured[];
}

export interface AggReadBench {
  stream: string;
  /** The reader's shortest possible run under the read limits (reader-bench.ts pacingFloor). */
  pacingFloorMs: number;
  summaries: Array<ReadSummary & { userRecords: number }>;
  /** Reader user records/s over the plain 100 B raw-read's records/s (same run). */
  throughput: number;
  pairedThroughput: Spread;
  /** Reader user records/s over raw-read's Kinesis records/s on the aggregated stream. */
  overAggregatedRaw: number;
  rawReference: { stream: string; recordsPerSec: number; cpuUsPerRecord: number } | undefined;
  ok: boolean;
  runs: ReadMeasured[];
}

/** One aggregation-section run: the stub must have received exactly the user records (and data bytes) sent. */
async function measureAgg(stub: Stub, c: AggregationSettings['write'], mode: AggWriteMode, rep: number): Promise<AggMeasured> {
  const before = await stub.stats();
  const result = await runCaseProcess(stub.endpoint, { mode, recordBytes: c.recordBytes, count: c.count, warmup: c.warmup, noRateLimit: mode !== 'raw' });
  const after = await stub.stats();
  const sent = c.count + c.warmup;
  const users = after.userRecords - before.userRecords;
  const dataBytes = after.userDataBytes - before.userDataBytes;
  const problems: string[] = [];
  if (users !== sent) problems.push(`stub received ${users} user record(s), expected ${sent} (difference ${users - sent})`);
  if (dataBytes !== sent * c.recordBytes) problems.push(`stub received ${dataBytes} user data bytes, expected ${sent * c.recordBytes}`);
  if (after.corruptAggregates !== before.corruptAggregates) problems.push(`${after.corruptAggregates - before.corruptAggregates} corrupt aggregate(s)`);
  if (after.failedEntries !== before.failedEntries) problems.push('the stub rejected entries without a fail rate');
  if (result.records !== c.count) problems.push(`client acknowledged ${result.records} record(s), expected ${c.count}`);
  if (problems.length > 0) throw new Error(`LOST OR DUPLICATED RECORDS in ${mode} ${c.recordBytes} B × ${c.count}:\n  ${problems.join('\n  ')}`);
  return { ...result, stubCpuUsPerRecord: stubCpuUs(before, after) / sent, rep, kinesisRecords: after.records - before.records, aggregates: after.aggregates - before.aggregates };
}

export async function aggWriteBench(cfg: BenchConfig, stub: Stub): Promise<AggWriteBench> {
  const c = aggregationSettings(cfg).write;
  log(`\nKPL aggregation, writer: ${c.recordBytes} B records, ${fmt.int(c.count)} per run (+${fmt.int(c.warmup)} warm-up), ${c.shards}-shard stub, ${c.reps} rep(s)`);
  const runs: AggMeasured[] = [];
  const byMode = await alternate(AGG_WRITE_MODES, c.reps, async (mode, rep) => {
    const r = await measureAgg(stub, c, mode, rep);
    runs.push(r);
    writeProgress(`rep ${rep + 1} ${mode}`, r);
    return r;
  });
  const raw = byMode.get('raw')!;
  const summaries = AGG_WRITE_MODES.map((m) => {
    const list = byMode.get(m)!;
    return { ...summarize(list), kinesisRecords: spread(list.map((r) => r.kinesisRecords)).median, aggregates: spread(list.map((r) => r.aggregates)).median };
  });
  const ratioList = (['agg-writer', 'agg-writer-keys'] as const).map((mode) => {
    const r = ratios(raw, byMode.get(mode)!);
    return {
      mode,
      throughput: r.throughput,
      pairedThroughput: r.pairedThroughput,
      cpuPerRecord: r.cpuPerRecord,
      ok: r.throughput >= AGG_TARGETS.writerThroughputMin,
      stretchOk: r.throughput >= AGG_TARGETS.writerThroughputStretch,
    };
  });
  return { summaries, ratios: ratioList, runs };
}

export async function aggReadBench(cfg: BenchConfig, stub: Stub, plain: ReaderBench): Promise<AggReadBench> {
  const { read: c, reference: ref } = aggregationSettings(cfg);
  const stream = aggStreamName(c);
  const floor = pacingFloor({ recordsPerShard: c.aggregatesPerShard, recordBytes: readStreamShape(stream).recordBytes });
  const kinesisRecords = c.shards * c.aggregatesPerShard;
  log(
    `\nKPL aggregation, reader: ${stream} (${c.shards} shards × ${fmt.int(c.aggregatesPerShard)} aggregates × ${c.users} records of ${c.userBytes} B), ${c.reps} rep(s); ` +
      `pacing floor ${fmt.int(floor.floorMs)} ms (${floor.calls} call(s) per shard)`,
  );
  await stub.prime(stream, READABLE_DEFAULTS.maxRecordsPerCall);
  const runs: ReadMeasured[] = [];
  const byMode = await alternate(['raw-read', 'reader'] as const, c.reps, async (mode, rep) => {
    const r = await measureRead(stub, mode, stream, rep);
    runs.push(r);
    readProgress(`rep ${rep + 1} ${mode}${mode === 'reader' ? ' (user records)' : ' (Kinesis records)'}`, r);
    return r;
  });
  const raw = byMode.get('raw-read')!;
  const reader = byMode.get('reader')!;
  const rawSummary = { ...summarize(raw), shards: c.shards, userRecords: kinesisRecords };
  const readerSummary = { ...summarize(reader), shards: c.shards, userRecords: kinesisRecords * c.users };
  const reference = plain.summaries.find((s) => s.mode === 'raw-read' && s.recordBytes === ref.recordBytes && s.shards === ref.shards);
  const referenceRuns = plain.runs.filter((r) => r.mode === 'raw-read' && r.recordBytes === ref.recordBytes && r.shards === ref.shards);
  const throughput = referenceRuns.length > 0 ? ratios(referenceRuns, reader) : undefined;
  const ratio = throughput?.throughput ?? Number.NaN;
  return {
    stream,
    pacingFloorMs: floor.floorMs,
    summaries: [rawSummary, readerSummary],
    throughput: ratio,
    pairedThroughput: throughput?.pairedThroughput ?? { median: Number.NaN, min: Number.NaN, max: Number.NaN },
    overAggregatedRaw: readerSummary.recordsPerSec.median / rawSummary.recordsPerSec.median,
    rawReference:
      reference === undefined
        ? undefined
        : {
            stream: readStreamName({ shards: reference.shards, recordsPerShard: reference.records / reference.shards, recordBytes: reference.recordBytes }),
            recordsPerSec: reference.recordsPerSec.median,
            cpuUsPerRecord: reference.cpuUsPerRecord.median,
          },
    ok: ratio >= AGG_TARGETS.readerThroughputMin,
    runs,
  };
}

// ---- tables ---------------------------------------------------------------------------

function aggWriteTable(b: AggWriteBench): string {
  const main = markdownTable(
    ['mode', 'user records', 'Kinesis records stored (warm-up incl.)', 'wall ms', 'user records/s', 'client CPU µs/user record', 'peak RSS MiB', 'PutRecords'],
    b.summaries.map((s) => [
      s.mode === 'raw' ? 'raw SDK loop' : s.mode === 'agg-writer' ? 'writer, aggregation, random keys' : 'writer, aggregation, 1000 keys',
      fmt.int(s.records),
      fmt.int(s.kinesisRecords),
      ...measuredCells(s),
    ]),
  );
  const ratioTable = markdownTable(
    ['mode', 'user records/s ÷ raw', 'target', `stretch ≥ ${AGG_TARGETS.writerThroughputStretch}`, 'per-rep ratios', 'CPU/user record ÷ raw'],
    b.ratios.map((r) => [
      r.mode === 'agg-writer' ? 'aggregation, random keys' : 'aggregation, 1000 keys',
      judged(r.throughput, r.ok),
      `≥ ${AGG_TARGETS.writerThroughputMin}`,
      passFail(r.stretchOk),
      cell(r.pairedThroughput, fmt.f2),
      fmt.f2(r.cpuPerRecord),
    ]),
  );
  return `${main}\n\n${ratioTable}`;
}

function aggReadTable(b: AggReadBench): string {
  const rows = b.summaries.map((s) => [
    s.mode === 'raw-read' ? 'raw GetRecords loop (no de-aggregation)' : 'reader, deaggregate (default)',
    s.mode === 'raw-read' ? 'Kinesis records' : 'user records',
    fmt.int(s.records),
    ...measuredCells(s),
  ]);
  if (b.rawReference !== undefined) {
    rows.push([`raw GetRecords loop, plain stream ${b.rawReference.stream} (reference)`, 'records', '–', '–', fmt.int(b.rawReference.recordsPerSec), fmt.f2(b.rawReference.cpuUsPerRecord), '–', '–']);
  }
  const main = markdownTable(['mode', 'counts', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'GetRecords'], rows);
  const ratio = markdownTable(
    ['reader user records/s ÷ raw-read records/s (plain 100 B stream)', 'target', 'per-rep ratios', 'reader user records/s ÷ raw-read Kinesis records/s (same aggregated stream)'],
    [[judged(b.throughput, b.ok), `≥ ${AGG_TARGETS.readerThroughputMin}`, cell(b.pairedThroughput, fmt.f2), fmt.f1(b.overAggregatedRaw)]],
  );
  return `${main}\n\n${ratio}`;
}

export function aggregationConsole(w: AggWriteBench | undefined, r: AggReadBench | undefined): string {
  const out: string[] = [];
  if (w !== undefined) out.push('KPL aggregation, writer:', aggWriteTable(w), '');
  if (r !== undefined) out.push('KPL aggregation, reader:', aggReadTable(r), '');
  return out.join('\n');
}

export function aggregationMarkdown(cfg: BenchConfig, w: AggWriteBench | undefined, r: AggReadBench | undefined): string[] {
  const s = aggregationSettings(cfg);
  const out = ['## KPL aggregation', ''];
  if (w !== undefined) {
    const c = s.write;
    out.push(
      '### Aggregating writer vs raw SDK loop',
      '',
      `- ${fmt.int(c.count)} records of ${c.recordBytes} B per run (+${fmt.int(c.warmup)} warm-up), ${c.reps} runs per mode, the order rotating each repetition,`,
      `  against a stub of ${c.shards} shards (even hash key ranges in ListShards; PutRecords answers each entry with the shard its`,
      '  ExplicitHashKey or partition key MD5 falls on, so the writer sees no misplaced aggregate) that decodes every entry with',
      "  the library's `deaggregateRecord` and counts the user records inside: after every run it must have received exactly the",
      '  user records and user data bytes sent (and no corrupt aggregate), or the benchmark fails.',
      '- **raw**: the raw loop of the main table (PutRecords of 500 plain records, 8 in flight, random keys).',
      '- **writer, aggregation, random keys**: `createKinesisWritable({ …, aggregation: true, rateLimit: false })`, otherwise default',
      '  options and no partitionKey (the writer gives each aggregate one random key). **1000 keys**: the same with `partitionKey: item => key`',
      '  (a Map lookup; 1000 distinct keys), so aggregates are packed per shard from the ListShards map.',
      `- \`rateLimit: false\` here only: at ${c.shards} shards the limiter would hold the stream to ${c.shards} MiB/s, below what the aggregated writer`,
      '  sends, and a stub with shards enough for the limits would spread the 1000 keys so thin that per-shard aggregates stay small.',
      "  The limiter's own cost is in the main writer table (default options, 512 shards).",
      '- records/s and CPU are per **user** record; "Kinesis records" is what the stub stored (aggregates).',
      '',
      aggWriteTable(w),
      '',
      `Target: aggregated writer user records/s ≥ ${AGG_TARGETS.writerThroughputMin}× the raw loop's records/s — **${passFail(w.ratios.every((x) => x.ok))}**; ` +
        `stretch ≥ ${AGG_TARGETS.writerThroughputStretch}× — **${passFail(w.ratios.every((x) => x.stretchOk))}**.`,
      '',
    );
  }
  if (r !== undefined) {
    const c = s.read;
    out.push(
      '### De-aggregating reader vs raw SDK loop',
      '',
      `- Stub stream \`${r.stream}\`: ${c.shards} shards × ${fmt.int(c.aggregatesPerShard)} Kinesis records, each a KPL aggregate (built with the library's`,
      `  \`aggregate()\`) of ${c.users} user records of ${c.userBytes} B with distinct 10-character partition keys. GetRecords answers stop`,
      `  at 10 MiB of data, as Kinesis does. Each shard holds ${mib(c.aggregatesPerShard * readStreamShape(r.stream).recordBytes)} MiB: one answer within the full 2 MiB/s read bucket, so`,
      `  the read limits do not bind (pacing floor ${fmt.int(r.pacingFloorMs)} ms); a few shards of many aggregates would be paced at 2 MiB/s per shard.`,
      '- **reader**: `createKinesisReadable` with default options (`deaggregate` true), counting the **user** records it',
      '  delivers (each one checked: count and data bytes). **raw**: the raw GetRecords loop of the reader table over the same',
      '  stream, counting Kinesis records (it does not de-aggregate, so its user records/s are its Kinesis records/s).',
      `- Target: reader user records/s ≥ ${AGG_TARGETS.readerThroughputMin}× the raw loop's records/s on the plain ${s.reference.recordBytes} B/${s.reference.shards}-shard stream of the reader table (same run).`,
      '',
      aggReadTable(r),
      '',
      `Target — **${passFail(r.ok)}**.`,
      '',
    );
  }
  return out;
}
