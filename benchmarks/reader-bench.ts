/**
 * The reader's sections of `npm run bench`: createKinesisReadable with default options
 * against a raw GetRecords loop on the stub's in-memory streams (the main table, its targets
 * and the pacing floor each case is judged against), the reader's cost without the SDK
 * (benchmarks/read-overhead.ts), and the memory bound with stalled and slow consumers, on
 * plain records and on KPL aggregates. Every run is a fresh process (benchmarks/bench-case.ts
 * → read-case.ts) that must read exactly the stream's records and bytes.
 */
import { fileURLToPath } from 'node:url';
import { LIMITS, READABLE_DEFAULTS } from '../lib/limits.js';
import { alternate, log, PARTITION_KEY_BYTES, ratios, runJsonProcess, stubCpuUs, summarize, type BenchConfig, type Ratio, type Stub, type Summary } from './measure.js';
import {
  aggStreamName,
  FIXED_SLACK_BYTES,
  PARSE_COPIES,
  readStreamName,
  readStreamShape,
  RECORD_OBJECT_ALLOWANCE_BYTES,
  type ReadCaseResult,
  type ReadMode,
  type StallResult,
} from './read-case.js';
import { cell, fmt, judged, markdownTable, measuredCells, mib, passFail, progress, TARGETS } from './report.js';

const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const READ_OVERHEAD_SCRIPT = fileURLToPath(new URL('./read-overhead.ts', import.meta.url));
/** 5 GetRecords per second per shard: the reader's minimum spacing of calls to one shard. */
const MIN_CALL_INTERVAL_MS = 1000 / LIMITS.shardGetRecordsCallsPerSecond;
/** A reader within this factor of its pacing floor mostly waits for its next allowed call. */
const NEAR_FLOOR = 1.25;

interface ReadCase {
  shards: number;
  recordsPerShard: number;
  recordBytes: number;
  reps: number;
  /** One of issue 14's CPU target cases; the other rows report their CPU ratio only. */
  cpuTarget: boolean;
}

export function readerSettings(cfg: BenchConfig) {
  const { scale, reps } = cfg;
  const cases: ReadCase[] = [
    // A realistic stream, byte-paced at full size (8.4 MiB per shard against 2 MiB/s): kept for its CPU ratio.
    { shards: 4, recordsPerShard: 80_000 * scale, recordBytes: 100, reps, cpuTarget: true },
    // 20 MB per shard: entirely paced by the 2 MiB/s read limit; kept for its CPU ratio.
    { shards: 4, recordsPerShard: 20_000 * scale, recordBytes: 1024, reps, cpuTarget: true },
    // Two calls per shard, 2.2 MB per shard: neither limit binds, CPU decides.
    { shards: 16, recordsPerShard: 20_000 * scale, recordBytes: 100, reps, cpuTarget: true },
    // 1 KiB where the byte limit does not bind: each shard's 1.3 MB is one answer, within the full 2 MiB bucket.
    { shards: 64, recordsPerShard: 1_250, recordBytes: 1024, reps, cpuTarget: false },
    // The pacing alone.
    { shards: 1, recordsPerShard: 50_000 * scale, recordBytes: 100, reps: cfg.quick ? 1 : 2, cpuTarget: false },
  ];
  return {
    cases,
    /** The memory bound: a consumer that reads nothing, then slow ones, each for durationMs. */
    stall: {
      shards: 4,
      recordsPerShard: 200_000,
      recordBytes: 1024,
      durationMs: cfg.quick ? 2_000 : 4_000,
      cases: [
        { mode: 'stalled' as const, maxRecordsPerCall: 1000, highWaterMark: 1000, consumeEvery: 0, consumeSleepMs: 0 },
        { mode: 'slow' as const, maxRecordsPerCall: 1000, highWaterMark: 1000, consumeEvery: 100, consumeSleepMs: 10 },
        {
          mode: 'slow' as const,
          maxRecordsPerCall: READABLE_DEFAULTS.maxRecordsPerCall,
          highWaterMark: READABLE_DEFAULTS.highWaterMark,
          consumeEvery: 100,
          consumeSleepMs: 1,
        },
      ],
    },
    /**
     * The memory bound in user records: a stalled consumer on a stream of aggregates, default
     * options. Small user records (20 B; 15,492 B per aggregate of 400) make the user record
     * objects, not the answer's bytes, what a reader holds when it expands a whole answer
     * (676 aggregates, 270,400 user records per shard), so the case tells the two apart;
     * with 100 B records the answer's parse-copy allowance alone would cover the objects.
     */
    aggStall: { shards: 4, aggregatesPerShard: 1000, users: 400, userBytes: 20 },
    /** The reader's own cost per record against a fake client (benchmarks/read-overhead.ts). */
    overhead: { shards: 4, rounds: cfg.quick ? 3 : 10, reps: cfg.quick ? 3 : 7, recordBytes: 100 },
  };
}
type ReaderSettings = ReturnType<typeof readerSettings>;

export interface ReadMeasured extends ReadCaseResult {
  stubCpuUsPerRecord: number;
  rep: number;
}

export interface ReadSummary extends Summary<ReadMode> {
  shards: number;
}

/**
 * The shortest time a reader with default options can take over a stub stream: the time of
 * its last GetRecords call per shard with instant answers. Simulates the reader's pacing
 * (lib/readable/shard-reader.ts) over the answers the stub gives (benchmarks/stub-read.ts:
 * ≤ maxRecordsPerCall records and ≤ 10 MiB of data each): calls ≥ 200 ms apart, and a byte
 * bucket of 2 MiB/s × readShare (capacity one second, starting full) from which each
 * answer's data + partition key bytes are taken, into debt, before the next call may go.
 */
export function pacingFloor(c: { recordsPerShard: number; recordBytes: number }): { floorMs: number; callsOnlyMs: number; calls: number; limit: PacingLimit } {
  const rate = LIMITS.shardReadBytesPerSecond * READABLE_DEFAULTS.readShare;
  const interval = MIN_CALL_INTERVAL_MS / READABLE_DEFAULTS.readShare;
  const perAnswer = Math.min(READABLE_DEFAULTS.maxRecordsPerCall, Math.max(1, Math.floor(LIMITS.getRecordsMaxBytes / c.recordBytes)));
  let tokens = rate;
  let t = 0;
  let calls = 0;
  for (let offset = 0; ; ) {
    calls++;
    const n = Math.min(perAnswer, c.recordsPerShard - offset);
    offset += n;
    tokens -= n * (c.recordBytes + PARTITION_KEY_BYTES);
    if (offset >= c.recordsPerShard) break;
    const next = Math.max(t + interval, tokens >= 0 ? t : t + (-tokens * 1000) / rate);
    tokens = Math.min(rate, tokens + ((next - t) * rate) / 1000);
    t = next;
  }
  const callsOnlyMs = (calls - 1) * interval;
  const limit = calls === 1 ? 'none (one call per shard)' : t > callsOnlyMs + 1 ? 'pacing: 2 MiB/s read limit' : 'pacing: 5 calls/s';
  return { floorMs: t, callsOnlyMs, calls, limit };
}
type PacingLimit = 'pacing: 5 calls/s' | 'pacing: 2 MiB/s read limit' | 'none (one call per shard)';

export interface ReadRatio extends Ratio {
  shards: number;
  rawWallMs: number;
  readerWallMs: number;
  /** Shortest possible reader run under the read limits (pacingFloor). */
  pacingFloorMs: number;
  /** GetRecords calls per shard the floor assumes. */
  callsPerShard: number;
  /** Which limit sets the floor. */
  floorLimit: PacingLimit;
  /** The reader's median wall time over the pacing floor: near 1 means the pacing, not the client, set the pace. */
  wallOverFloor: number;
  /** What limited the reader in this run: the floor's limit when within 25% of it, else the client's CPU. */
  limit: Exclude<PacingLimit, 'none (one call per shard)'> | 'client CPU';
  cpuTarget: boolean;
  cpuOk: boolean;
  /** False where even a reader at its pacing floor could not reach the throughput target: reported as n/a (pacing). */
  throughputApplies: boolean;
  throughputOk: boolean;
}

interface ReadOverheadResult {
  count: number;
  raw: { median: number; min: number };
  reader: { median: number; min: number };
  overhead: { median: number; min: number };
}

export interface ReaderBench {
  settings: ReaderSettings;
  summaries: ReadSummary[];
  ratios: ReadRatio[];
  passed: boolean;
  overhead?: ReadOverheadResult;
  stalls: StallResult[];
  /** Every memory-bound case within its bounds; false fails the benchmark (exit code 1) after the report is written. */
  memoryOk: boolean;
  runs: ReadMeasured[];
}

/** One reader or raw-read run, checked against the stub: it must have served every Kinesis record read. */
export async function measureRead(stub: Stub, mode: ReadMode, stream: string, rep: number): Promise<ReadMeasured> {
  const shape = readStreamShape(stream);
  const kinesisRecords = shape.shards * shape.recordsPerShard;
  const perRecord = mode === 'reader' ? shape.usersPerRecord : 1;
  const expected = kinesisRecords * perRecord;
  const warmup = Math.round(expected / 10);
  const before = await stub.stats(stream);
  const result = await runJsonProcess<ReadCaseResult>(CASE_SCRIPT, ['--mode', mode, '--endpoint', stub.endpoint, '--stream', stream, '--warmup', String(warmup)]);
  const after = await stub.stats(stream);
  const served = after.readStreams[stream].recordsServed - (before.readStreams[stream]?.recordsServed ?? 0);
  if (result.records !== expected || result.recordsServed < kinesisRecords || served < kinesisRecords + Math.floor(warmup / perRecord)) {
    throw new Error(`LOST RECORDS in ${mode} ${stream}: read ${result.records} of ${expected}, the stub served ${result.recordsServed} Kinesis records in the measured run`);
  }
  return { ...result, stubCpuUsPerRecord: stubCpuUs(before, after) / served, rep };
}

export function readProgress(label: string, r: ReadMeasured): void {
  progress(label, r, `${r.requests} GetRecords  ${fmt.int(r.wallMs)} ms`);
}

export async function readerBench(cfg: BenchConfig, stub: Stub): Promise<ReaderBench> {
  const settings = readerSettings(cfg);
  const summaries: ReadSummary[] = [];
  const ratioList: ReadRatio[] = [];
  const runs: ReadMeasured[] = [];
  for (const c of settings.cases) {
    const stream = readStreamName(c);
    const floor = pacingFloor(c);
    log(
      `\nReader: ${c.recordBytes} B records, ${c.shards} shard(s) × ${fmt.int(c.recordsPerShard)} (+10% warm-up), ${c.reps} rep(s); ` +
        `pacing floor ${fmt.int(floor.floorMs)} ms (${floor.calls} call(s) per shard, ${floor.limit})`,
    );
    // Serialise the stub's answers now, so no measured run pays for the stub building them.
    await stub.prime(stream, READABLE_DEFAULTS.maxRecordsPerCall);
    const byMode = await alternate(['raw-read', 'reader'] as const, c.reps, async (mode, rep) => {
      const r = await measureRead(stub, mode, stream, rep);
      runs.push(r);
      readProgress(`rep ${rep + 1} ${mode}`, r);
      return r;
    });
    const raw = byMode.get('raw-read')!;
    const reader = byMode.get('reader')!;
    const rawSummary: ReadSummary = { ...summarize(raw), shards: c.shards };
    const readerSummary: ReadSummary = { ...summarize(reader), shards: c.shards };
    summaries.push(rawSummary, readerSummary);
    const ratio = ratios(raw, reader);
    const wallOverFloor = floor.floorMs > 0 ? readerSummary.wallMs.median / floor.floorMs : Number.POSITIVE_INFINITY;
    // The target applies unless the floor itself forbids it: a reader at its floor would be below 0.95× the raw loop.
    const throughputApplies = floor.floorMs <= 0 || rawSummary.wallMs.median / floor.floorMs >= TARGETS.throughputRatioMin;
    ratioList.push({
      ...ratio,
      shards: c.shards,
      rawWallMs: rawSummary.wallMs.median,
      readerWallMs: readerSummary.wallMs.median,
      pacingFloorMs: floor.floorMs,
      callsPerShard: floor.calls,
      floorLimit: floor.limit,
      wallOverFloor,
      limit: wallOverFloor <= NEAR_FLOOR && floor.limit !== 'none (one call per shard)' ? floor.limit : 'client CPU',
      cpuTarget: c.cpuTarget,
      cpuOk: ratio.cpuPerRecord <= TARGETS.cpuRatioMax,
      throughputApplies,
      throughputOk: ratio.throughput >= TARGETS.throughputRatioMin,
    });
  }
  const passed = ratioList.every((r) => (!r.cpuTarget || r.cpuOk) && (!r.throughputApplies || r.throughputOk));
  const bench: ReaderBench = { settings, summaries, ratios: ratioList, passed, stalls: [], memoryOk: true, runs };

  if (cfg.extras) {
    const o = settings.overhead;
    log(`\nReader overhead without the SDK (fake client, ${o.shards} shards × 10,000 records × ${o.rounds} rounds, ${o.reps} runs)`);
    const overhead = await runJsonProcess<ReadOverheadResult>(READ_OVERHEAD_SCRIPT, [
      '--json',
      '--shards',
      String(o.shards),
      '--rounds',
      String(o.rounds),
      '--reps',
      String(o.reps),
      '--size',
      String(o.recordBytes),
    ]);
    bench.overhead = overhead;
    log(`  raw ${fmt.f2(overhead.raw.median)}  reader ${fmt.f2(overhead.reader.median)}  reader − raw ${fmt.f2(overhead.overhead.median)} µs/record`);
  }

  bench.stalls = await stallBench(settings, stub);
  bench.memoryOk = bench.stalls.every((x) => x.violations.length === 0);
  return bench;
}

/** The memory-bound cases; each fails the benchmark when its bound is exceeded. */
async function stallBench(settings: ReaderSettings, stub: Stub): Promise<StallResult[]> {
  const { stall } = settings;
  const stalls: StallResult[] = [];
  const runStall = async (args: string[]): Promise<void> => {
    // bench-case exits 2 with its result when a bound is exceeded: the violation is reported (FAIL) and fails the benchmark at the end.
    const r = await runJsonProcess<StallResult>(CASE_SCRIPT, args, ['--expose-gc'], [0, 2]);
    if (r.retainedGrowthMiB === null) throw new Error('the memory-bound case ran without --expose-gc');
    stalls.push(r);
    log(
      `  ${`${r.mode} (${r.consumer}), maxRecordsPerCall ${r.maxRecordsPerCall}`.padEnd(60)} max readableLength ${r.maxReadableLength}, ` +
        `held ≤ ${fmt.int(r.maxHeldRecords)} of bound ${fmt.int(r.boundRecords)}, ${r.getRecords} GetRecords, live ≤ ${fmt.f1(r.liveMaxMiB)} of ${mib(r.allowedBytes)} MiB` +
        (r.violations.length > 0 ? `\n  MEMORY BOUND EXCEEDED: ${r.violations.join('; ')}` : ''),
    );
  };
  const stream = readStreamName(stall);
  log(`\nReader memory bound: ${stream}, ${stall.durationMs} ms per case`);
  for (const s of stall.cases) {
    const args = ['--mode', s.mode, '--endpoint', stub.endpoint, '--stream', stream, '--duration-ms', String(stall.durationMs)];
    args.push('--max-records-per-call', String(s.maxRecordsPerCall), '--high-water-mark', String(s.highWaterMark));
    if (s.mode === 'slow') args.push('--consume-every', String(s.consumeEvery), '--consume-sleep-ms', String(s.consumeSleepMs));
    await runStall(args);
  }
  const aggStream = aggStreamName(settings.aggStall);
  log(`\nReader memory bound in user records: ${aggStream} (stalled consumer, default options)`);
  await runStall([
    ...['--mode', 'stalled', '--endpoint', stub.endpoint, '--stream', aggStream, '--duration-ms', String(stall.durationMs)],
    ...['--max-records-per-call', String(READABLE_DEFAULTS.maxRecordsPerCall), '--high-water-mark', String(READABLE_DEFAULTS.highWaterMark)],
  ]);
  return stalls;
}

// ---- tables ---------------------------------------------------------------------------

export function readMainTable(summaries: ReadSummary[]): string {
  return markdownTable(
    ['record', 'shards', 'mode', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'GetRecords'],
    summaries.map((s) => [
      `${s.recordBytes} B`,
      String(s.shards),
      s.mode,
      fmt.int(s.records),
      ...measuredCells(s),
    ]),
  );
}

export function readRatioTable(list: ReadRatio[]): string {
  const wallOverFloor = (r: ReadRatio) => (Number.isFinite(r.wallOverFloor) ? fmt.f2(r.wallOverFloor) : '–');
  return markdownTable(
    [
      'record',
      'shards',
      'CPU/record reader÷raw',
      'target',
      'per-rep ratios',
      'records/s reader÷raw',
      'target',
      'per-rep ratios',
      'pacing floor ms (calls/shard)',
      'floor set by',
      'reader wall ÷ floor',
      'reader limited by',
    ],
    list.map((r) => [
      `${r.recordBytes} B`,
      String(r.shards),
      r.cpuTarget ? judged(r.cpuPerRecord, r.cpuOk) : `${fmt.f2(r.cpuPerRecord)} (report only)`,
      r.cpuTarget ? `≤ ${TARGETS.cpuRatioMax}` : '–',
      cell(r.pairedCpuPerRecord, fmt.f2),
      r.throughputApplies ? judged(r.throughput, r.throughputOk) : `${fmt.f2(r.throughput)} n/a (pacing; wall ÷ floor ${wallOverFloor(r)})`,
      r.throughputApplies ? `≥ ${TARGETS.throughputRatioMin}` : '–',
      cell(r.pairedThroughput, fmt.f2),
      `${fmt.int(r.pacingFloorMs)} (${r.callsPerShard})`,
      r.floorLimit,
      wallOverFloor(r),
      r.limit,
    ]),
  );
}

function stallTable(stalls: StallResult[]): string {
  return markdownTable(
    [
      'stream',
      'consumer',
      'maxRecordsPerCall / highWaterMark',
      'run ms',
      'consumed',
      'GetRecords',
      'max readableLength',
      'max Kinesis records held',
      'bound (records)',
      'bound × record size MiB',
      'live after GC MiB: max (allowed)',
      'live floor (min) 1st / 2nd half MiB',
      'live ÷ user records held at end',
      'peak sampled growth MiB (garbage included)',
      'without backpressure: records held',
      'bounds',
    ],
    stalls.map((r) => [
      r.stream,
      r.consumer,
      `${fmt.int(r.maxRecordsPerCall)} / ${fmt.int(r.highWaterMark)}`,
      fmt.int(r.durationMs),
      fmt.int(r.consumed),
      `${r.getRecords}${r.mode === 'stalled' ? ` (≤ ${r.shards})` : ''}`,
      `${fmt.int(r.maxReadableLength)} (≤ ${fmt.int(r.highWaterMark)})`,
      fmt.int(r.maxHeldRecords),
      r.userBoundRecords === null ? fmt.int(r.boundRecords) : `${fmt.int(r.userBoundRecords)} user records`,
      mib(r.boundBytes),
      `${fmt.f1(r.liveMaxMiB)} (${mib(r.allowedBytes)})`,
      `${fmt.f1(r.liveFirstHalfFloorMiB)} / ${fmt.f1(r.liveSecondHalfFloorMiB)}`,
      r.retainedBytesPerHeldRecord === null ? '–' : fmt.int(r.retainedBytesPerHeldRecord),
      fmt.f1(r.peakGrowthMiB),
      fmt.int(r.unboundedHeldRecords),
      r.violations.length === 0 ? 'PASS' : `**FAIL**: ${r.violations.join('; ')}`,
    ]),
  );
}

/** The reader's tables for the terminal. */
export function readerConsole(b: ReaderBench): string {
  return [
    'Reader vs raw GetRecords loop:',
    readMainTable(b.summaries),
    '',
    readRatioTable(b.ratios),
    '',
    `Memory bound (${b.settings.stall.recordBytes} B records, ${b.settings.stall.shards} shards; and ${aggStreamName(b.settings.aggStall)}):`,
    stallTable(b.stalls),
  ].join('\n');
}

export function readerMarkdown(b: ReaderBench, cfg: BenchConfig): string[] {
  const s = b.settings;
  const stubCpu = b.summaries.map((x) => `${x.recordBytes} B/${x.shards} ${x.mode}: ${fmt.f2(x.stubCpuUsPerRecord.median)}`).join(', ');
  const failing = b.ratios.filter((r) => (r.cpuTarget && !r.cpuOk) || (r.throughputApplies && !r.throughputOk));
  const d = READABLE_DEFAULTS;
  const readMiBps = (LIMITS.shardReadBytesPerSecond * d.readShare) / (1024 * 1024);
  const out = [
    '## Reader vs raw SDK loop',
    '',
    '- The stub serves in-memory streams (benchmarks/stub-read.ts): every shard open, all records there from the start,',
    '  GetRecords answers serialised once and cached (primed before the runs), `MillisBehindLatest` > 0 until a page',
    '  reaches the end of its shard. Each run reads the whole stream from TRIM_HORIZON after a warm-up of 10% of it.',
    "- **raw-read**: `KinesisClient` from `createKinesisClient({ wire: 'sdk' })` (the SDK's own deserializer: the plain SDK a",
    "  user would call; the reader has the default `wire: 'fast'`), ListShards, one TRIM_HORIZON GetShardIterator per shard,",
    '  then per shard GetRecords (Limit 10000) back to back until MillisBehindLatest is 0, all shards concurrently;',
    "  no pacing (the stub has no limits). Each record's `Data.length` is read.",
    `- **reader**: \`createKinesisReadable({ streamName, endpoint, region, credentials, initialPosition: 'TRIM_HORIZON' })\``,
    `  with default options (maxRecordsPerCall ${d.maxRecordsPerCall}, highWaterMark ${d.highWaterMark}, pollIntervalMs ${d.pollIntervalMs}, readShare ${d.readShare}),`,
    "  consumed with a 'data' listener that reads each record's `data.length`, destroyed after the stream's last record.",
    "- Both must read exactly the stream's records and data bytes, or the benchmark fails. Client CPU, peak RSS and",
    `  ${cfg.reps} repetition(s) (alternating raw/reader, one run) as for the writer; "GetRecords" counts the calls the stub answered`,
    '  during the measured run (the reader may make a few empty calls on shards it has finished while it still delivers).',
    '- **Pacing floor.** The reader keeps both per-shard read limits of the service and the raw loop keeps none: calls to a',
    `  shard ≥ ${MIN_CALL_INTERVAL_MS} ms apart (5 GetRecords/s), and ${readMiBps} MiB/s of data + partition keys: a token bucket of one second's bytes,`,
    "  starting full, from which each answer's bytes are taken (into debt) before the next call may go. The floor is the",
    "  shortest possible reader run: the time of each shard's last call when answers are instant, simulated over the answers",
    '  the stub gives (≤ 10,000 records and ≤ 10 MiB each). "Floor set by" names the limit that sets it (the byte limit when',
    '  it delays any call beyond the 200 ms spacing); "reader limited by" is that limit when the reader ran within 25% of its',
    '  floor, else the client CPU.',
    `- **Targets.** CPU/record ≤ ${TARGETS.cpuRatioMax}× raw at 100 B/4, 1 KiB/4 and 100 B/16 shards (issue 14; the other rows report their ratio).`,
    `  Records/s ≥ ${TARGETS.throughputRatioMin}× raw wherever pacing is not the limit: where even a reader at its floor would be below`,
    `  ${TARGETS.throughputRatioMin}× the raw loop (raw wall ÷ floor < ${TARGETS.throughputRatioMin}), the row says "n/a (pacing)" with the reader's wall ÷ floor, never PASS.`,
    '  At full size, 100 B/4 (8.4 MiB per shard) and 1 KiB/4 (20 MB per shard) are paced by the 2 MiB/s limit: they are kept',
    '  for their CPU ratio. 16 shards × 20,000 × 100 B (2.2 MB per shard, two calls) and 64 shards × 1,250 × 1 KiB (1.3 MB per',
    '  shard: one answer, within the full bucket) are not paced, so they carry the records/s comparison at 100 B and 1 KiB.',
    '  1 shard shows the pacing alone.',
    `- Stub CPU per record served (median; not part of the client figures): ${stubCpu} µs.`,
    '',
    readMainTable(b.summaries),
    '',
    readRatioTable(b.ratios),
    '',
    `Targets (default options): **${passFail(b.passed)}**` +
      (failing.length === 0
        ? ' on every judged cell.'
        : `: missed on ${failing
            .map(
              (r) =>
                `${r.recordBytes} B/${r.shards} shard${r.shards === 1 ? '' : 's'} (${[r.cpuTarget && !r.cpuOk ? 'CPU' : '', r.throughputApplies && !r.throughputOk ? `throughput, limited by ${r.limit}` : '']
                  .filter(Boolean)
                  .join(', ')})`,
            )
            .join('; ')}.`),
    'Ratios are of the medians; "per-rep ratios" pair each reader run with the raw run next to it.',
  ];
  if (b.overhead !== undefined) {
    const o = b.overhead;
    const f = (x: { median: number; min: number }) => `${fmt.f2(x.median)} (min ${fmt.f2(x.min)})`;
    out.push(
      '',
      '### Reader overhead without the SDK',
      '',
      'benchmarks/read-overhead.ts: the reader (default options, `client` option) against a fake client that answers at',
      `once from pre-built SDK-shaped pages (${s.overhead.shards} shards × 10,000 records of ${s.overhead.recordBytes} B, so the call pacing never applies),`,
      `${fmt.int(o.count)} records per run × ${s.overhead.reps} runs, against a loop over the same pages; client CPU µs per record, median (min).`,
      'Steadier than the end-to-end figures: "reader − raw" is what the reader adds per record on top of the SDK.',
      '',
      markdownTable(['raw loop', 'reader', 'reader − raw (medians; minima)'], [[f(o.raw), f(o.reader), `${fmt.f2(o.overhead.median)}; ${fmt.f2(o.overhead.min)}`]]),
    );
    const raw100 = b.summaries.find((x) => x.mode === 'raw-read' && x.recordBytes === s.overhead.recordBytes);
    if (raw100 !== undefined) {
      const budget = raw100.cpuUsPerRecord.median * (TARGETS.cpuRatioMax - 1);
      out.push(
        '',
        `With the SDK's own ${fmt.f2(raw100.cpuUsPerRecord.median)} µs per ${s.overhead.recordBytes} B record (raw-read, ${raw100.shards} shard${raw100.shards === 1 ? '' : 's'}), ` +
          `the CPU target leaves the reader ${fmt.f2(budget)} µs per record; it uses ${fmt.f2(o.overhead.median)} µs here, before the extra garbage ` +
          'collection its batches cause end to end (they live until the consumer has read them, so more of them survive into the old generation).',
      );
    }
  }
  out.push('', ...stallMarkdown(b));
  return out;
}

function stallMarkdown(b: ReaderBench): string[] {
  const s = b.settings;
  const a = s.aggStall;
  const aggStream = aggStreamName(a);
  const aggBytes = readStreamShape(aggStream).recordBytes;
  const perAnswer = Math.min(READABLE_DEFAULTS.maxRecordsPerCall, Math.floor(LIMITS.getRecordsMaxBytes / aggBytes));
  const out = [
    '## Reader memory bound: stalled and slow consumers',
    '',
    `A reader of \`${readStreamName(s.stall)}\` (${s.stall.shards} shards × ${fmt.int(s.stall.recordsPerShard)} records of ${s.stall.recordBytes} B), in its own process`,
    'with `--expose-gc`. The consumer reads nothing ("stalled") or sleeps after every 100 records ("slow") for the run;',
    "readableLength, heap and array buffers are sampled every 50 ms and the stub's GetRecords counters every 250 ms.",
    '- Records held = records the stub served − records the consumer took (answers still in flight count as held, so it',
    '  is an upper bound). The bound is open shards × maxRecordsPerCall + highWaterMark records.',
    '- Live = heap used + array buffers right after a forced GC, every 500 ms and at the end (reader still open,',
    '  consumer stopped), minus the same before the reader was created: everything the reader holds, its client and',
    `  sockets included. It may never exceed bound × (record size + ${RECORD_OBJECT_ALLOWANCE_BYTES} B for the record objects) + one GetRecords`,
    `  answer being parsed per shard (maxRecordsPerCall × base64 record size × ${PARSE_COPIES} copies: body, string, parsed JSON)`,
    `  + ${FIXED_SLACK_BYTES / (1024 * 1024)} MiB. A sample taken while an answer is being parsed includes that answer's`,
    '  transient copies, so the floor (lowest sample) of each half shows what the reader keeps: flat memory keeps the',
    "  second half's floor at the first half's. Every sample is in results.json (`reader.stalls[].live`).",
    `- **In user records** (issue 14): a stalled consumer of \`${aggStream}\` (${a.shards} shards of KPL aggregates of ${a.users} user records`,
    `  of ${a.userBytes} B, ${fmt.int(aggBytes)} B each), default options (maxRecordsPerCall ${READABLE_DEFAULTS.maxRecordsPerCall}, highWaterMark ${READABLE_DEFAULTS.highWaterMark}). Its live memory may never exceed`,
    `  shards × min(10 MiB, maxRecordsPerCall × aggregate bytes) × ${PARSE_COPIES} (one answer per shard, raw bytes, with its parse copies)`,
    `  + (shards × ${a.users} users per aggregate + highWaterMark) × ${RECORD_OBJECT_ALLOWANCE_BYTES} B + ${FIXED_SLACK_BYTES / (1024 * 1024)} MiB: the bound in user records,`,
    "  one aggregate expanded per shard plus the Readable's buffer. A reader that expands a whole answer of aggregates into",
    `  user record objects at once (${perAnswer} aggregates, ${fmt.int(perAnswer * a.users)} user records per shard here) holds far more than that: small user`,
    '  records are chosen so that their objects, not the answer bytes (allowed with their parse copies), dominate.',
    '- Peak sampled growth (every 50 ms, no forced GC) includes garbage: the SDK turns every GetRecords answer into',
    '  several copies (body chunks, the joined body, its string, the parsed JSON, decoded Data) before any is collected.',
    '- The run fails when readableLength exceeds highWaterMark, held records exceed the bound, live memory exceeds',
    '  its allowance, or a stalled reader calls GetRecords more than once per shard. "Without backpressure" is what a',
    '  reader fetching at 5 calls/s per shard would hold by the end of the run.',
    '',
    stallTable(b.stalls),
  ];
  const stalled = b.stalls.find((x) => x.mode === 'stalled' && x.usersPerRecord === 1);
  if (stalled !== undefined) {
    out.push(
      '',
      `Stalled: after the first batch of every shard (${stalled.getRecords} GetRecords for ${stalled.shards} shards) the reader made no further call; ` +
        `it held ${fmt.int(stalled.maxHeldRecords)} records (${fmt.int(stalled.maxReadableLength)} in the Readable's buffer, the rest in ` +
        `shard batches waiting to be pushed) of the ${fmt.int(stalled.boundRecords)} allowed, and retained ${fmt.f1(stalled.retainedGrowthMiB ?? Number.NaN)} MiB at the end ` +
        `against ${mib(stalled.boundBytes)} MiB of record data in the bound (${fmt.int(stalled.retainedBytesPerHeldRecord ?? Number.NaN)} bytes per held ` +
        `${stalled.recordBytes} B record, fixed costs included). Without backpressure it would have held ${fmt.int(stalled.unboundedHeldRecords)} records.`,
    );
  }
  const agg = b.stalls.find((x) => x.usersPerRecord > 1);
  if (agg !== undefined) {
    out.push(
      '',
      `Stalled on aggregates: ${agg.getRecords} GetRecords for ${agg.shards} shards (${fmt.int(agg.maxHeldRecords)} aggregates of ${fmt.int(agg.recordBytes)} B served), ` +
        `live memory ≤ ${fmt.f1(agg.liveMaxMiB)} MiB against ${mib(agg.allowedBytes)} MiB allowed (${fmt.int(agg.userBoundRecords ?? 0)} user records in the bound) — ` +
        `**${passFail(agg.violations.length === 0)}**.`,
    );
  }
  return out;
}
