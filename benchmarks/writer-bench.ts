/**
 * The writer's sections of `npm run bench`: createKinesisWritable with default options
 * against the raw PutRecords loop (the main table and its targets), then, with extras, the
 * writer's cost without the SDK (benchmarks/overhead.ts), option sweeps, a paced source and
 * the partial-failure check. Every run is a fresh process (benchmarks/bench-case.ts) and is
 * checked against the stub's counters: every record and byte sent arrived, exactly once.
 */
import { fileURLToPath } from 'node:url';
import { WRITABLE_DEFAULTS } from '../lib/limits.js';
import type { CaseResult, WriteMode } from './bench-case.js';
import {
  alternate,
  log,
  PARTITION_KEY_BYTES,
  ratios,
  runJsonProcess,
  spread,
  startStub,
  stubCpuUs,
  summarize,
  type BenchConfig,
  type Ratio,
  type Spread,
  type Stub,
  type Summary,
} from './measure.js';
import { cell, fmt, judged, markdownTable, measuredCells, passFail, progress, TARGETS } from './report.js';

const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const OVERHEAD_SCRIPT = fileURLToPath(new URL('./overhead.ts', import.meta.url));

/**
 * Shards of the stub behind the writer's tables. The writer's rate limiter (default on: per
 * shard 1000 records/s and 1 MiB/s, 200 ms burst) places records by the ListShards map; 512
 * shards allow 512,000 records/s, far above what the raw loop reaches on this machine, so the
 * limits never bind and the limiter's bookkeeping is in the writer's CPU figure.
 */
export const WRITER_STUB_SHARDS = 512;

export function writerSettings(cfg: BenchConfig) {
  const { scale } = cfg;
  return {
    /** Main table: record size, records per run, warm-up records per run. */
    sizes: [
      { recordBytes: 100, count: 200_000 * scale, warmup: 20_000 * scale },
      { recordBytes: 1024, count: 100_000 * scale, warmup: 10_000 * scale },
    ],
    stubShards: WRITER_STUB_SHARDS,
    // One run per option set: the sweeps are reports, not targets, and keep `npm run bench` short.
    sweep: { recordBytes: 100, count: 50_000 * scale, warmup: 10_000 * scale, reps: 1, maxInFlight: [4, 8, 16], lingerMs: [0, 20, 50] },
    /** The same maxInFlight values against a stub that answers after this round trip. */
    latencySweep: { latencyMs: 20, count: 50_000 * scale, warmup: 10_000 * scale, reps: 1 },
    /** A source slower than the writer, where lingerMs decides the batch size. */
    paced: { rate: 5_000, count: 10_000 * scale, lingerMs: [0, 20, 50] },
    failCheck: { failRate: 0.1, count: 20_000 * scale },
    overhead: { count: 200_000 * scale, reps: cfg.quick ? 3 : 5 },
  };
}
type WriterSettings = ReturnType<typeof writerSettings>;

export interface CaseArgs {
  mode: WriteMode;
  recordBytes: number;
  count: number;
  warmup: number;
  maxInFlight?: number;
  lingerMs?: number;
  rate?: number;
  /** Turns the writer's rate limiter off (only where a case says why). */
  noRateLimit?: boolean;
}

export interface Measured extends CaseResult {
  /** Stub CPU per record received (warm-up included), µs: shows the stub is not the bottleneck. */
  stubCpuUsPerRecord: number;
}

/** Runs benchmarks/bench-case.ts in a fresh process. */
export async function runCaseProcess(endpoint: string, c: CaseArgs): Promise<CaseResult> {
  const args = ['--mode', c.mode, '--endpoint', endpoint, '--size', String(c.recordBytes), '--count', String(c.count), '--warmup', String(c.warmup)];
  if (c.maxInFlight !== undefined) args.push('--max-in-flight', String(c.maxInFlight));
  if (c.lingerMs !== undefined) args.push('--linger-ms', String(c.lingerMs));
  if (c.rate !== undefined) args.push('--rate', String(c.rate));
  if (c.noRateLimit === true) args.push('--no-rate-limit');
  return runJsonProcess<CaseResult>(CASE_SCRIPT, args);
}

/** One case, checked against the stub's counters: every record sent must have arrived, once. */
export async function measureWrite(stub: Stub, c: CaseArgs, expectFailures = false): Promise<Measured> {
  const before = await stub.stats();
  const result = await runCaseProcess(stub.endpoint, c);
  const after = await stub.stats();
  const sent = c.count + c.warmup;
  const received = after.records - before.records;
  const receivedBytes = after.bytes - before.bytes;
  const expectedBytes = sent * (c.recordBytes + PARTITION_KEY_BYTES);
  const failedEntries = after.failedEntries - before.failedEntries;
  const problems: string[] = [];
  if (received !== sent) problems.push(`stub received ${received} record(s), expected ${sent} (difference ${received - sent})`);
  if (receivedBytes !== expectedBytes) problems.push(`stub received ${receivedBytes} bytes, expected ${expectedBytes}`);
  if (result.records !== c.count || result.bytes !== c.count * (c.recordBytes + PARTITION_KEY_BYTES)) {
    problems.push(`client acknowledged ${result.bytes} bytes for ${result.records} record(s)`);
  }
  if (!expectFailures && failedEntries !== 0) problems.push(`stub rejected ${failedEntries} entries without a fail rate`);
  if (expectFailures && result.retries !== failedEntries) {
    problems.push(`client retried ${result.retries} entries, the stub rejected ${failedEntries}`);
  }
  if (problems.length > 0) {
    throw new Error(`LOST OR DUPLICATED RECORDS in ${describeCase(c)}:\n  ${problems.join('\n  ')}`);
  }
  return { ...result, stubCpuUsPerRecord: stubCpuUs(before, after) / sent };
}

function describeCase(c: CaseArgs): string {
  const extra = [
    c.maxInFlight !== undefined ? `maxInFlight ${c.maxInFlight}` : '',
    c.lingerMs !== undefined ? `lingerMs ${c.lingerMs}` : '',
    c.rate !== undefined ? `rate ${c.rate}/s` : '',
  ].filter(Boolean);
  return `${c.mode} ${c.recordBytes} B × ${c.count}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

export function writeProgress(label: string, r: Measured): void {
  progress(label, r, `${r.requests} req`);
}

export interface WriterRatio extends Ratio {
  cpuOk: boolean;
  throughputOk: boolean;
}

interface SweepRow {
  maxInFlight: number;
  lingerMs: number;
  recordsPerSec: Spread;
  cpuUsPerRecord: Spread;
  peakRssMiB: Spread;
  avgBatch: number;
}

type Figure = { median: number; min: number };

/** benchmarks/overhead.ts --json: one figure per row it ran, and writer − raw. */
interface OverheadResult {
  keys: Figure;
  raw: Figure;
  writer: Figure;
  overhead: Figure;
  [row: string]: Figure | number | undefined;
}

/** overhead.ts's rows beyond keys/raw/writer (its LABELS), for the table. */
const OVERHEAD_ROWS: Record<string, string> = {
  limitedKeyless: 'writer, rate limiter, no keys',
  unlimitedKeyed: 'writer, no limiter, 1000 keys',
  limitedKeyed: 'writer, rate limiter, 1000 keys',
  aggregatedKeyless: 'aggregated, limiter, no keys',
  aggregatedKeyed: 'aggregated, limiter, 1000 keys',
};

export interface WriterBench {
  settings: WriterSettings;
  summaries: Array<Summary<WriteMode>>;
  ratios: WriterRatio[];
  passed: boolean;
  runs: Array<Measured & { rep: number }>;
  sweep?: SweepRow[];
  latencySweep?: SweepRow[];
  paced?: Measured[];
  failCheck?: Measured & { failRate: number };
  overhead?: OverheadResult;
}

/** The writer's tables; `stub` is the main stub (WRITER_STUB_SHARDS shards), the extras start their own. */
export async function writerBench(cfg: BenchConfig, stub: Stub, stubs: Stub[]): Promise<WriterBench> {
  const settings = writerSettings(cfg);
  const summaries: Array<Summary<WriteMode>> = [];
  const ratioList: WriterRatio[] = [];
  const runs: Array<Measured & { rep: number }> = [];
  for (const size of settings.sizes) {
    log(`\n${size.recordBytes} B records, ${fmt.int(size.count)} per run (+${fmt.int(size.warmup)} warm-up), ${settings.stubShards}-shard stub, ${cfg.reps} rep(s)`);
    const byMode = await alternate(['raw', 'writer'] as const, cfg.reps, async (mode, rep) => {
      const r = await measureWrite(stub, { mode, ...size });
      runs.push({ ...r, rep });
      writeProgress(`rep ${rep + 1} ${mode}`, r);
      return r;
    });
    const raw = byMode.get('raw')!;
    const writer = byMode.get('writer')!;
    summaries.push(summarize(raw), summarize(writer));
    const ratio = ratios(raw, writer);
    ratioList.push({ ...ratio, cpuOk: ratio.cpuPerRecord <= TARGETS.cpuRatioMax, throughputOk: ratio.throughput >= TARGETS.throughputRatioMin });
  }
  const bench: WriterBench = { settings, summaries, ratios: ratioList, passed: ratioList.every((r) => r.cpuOk && r.throughputOk), runs };
  if (cfg.extras) await writerExtras(bench, stub, stubs);
  return bench;
}

async function writerExtras(bench: WriterBench, stub: Stub, stubs: Stub[]): Promise<void> {
  const s = bench.settings;
  const stubShards = ['--shards', String(s.stubShards)];
  log(`\nWriter overhead without the SDK (fake client, ${fmt.int(s.overhead.count)} records, ${s.overhead.reps} runs)`);
  // The fake stream has the main stub's shard count, so the rate-limited rows do the same bookkeeping as the main table's writer.
  const o = await runJsonProcess<OverheadResult>(OVERHEAD_SCRIPT, [
    ...['--json', '--count', String(s.overhead.count), '--reps', String(s.overhead.reps), '--shards', String(s.stubShards)],
  ]);
  bench.overhead = o;
  log(`  keys ${fmt.f2(o.keys.median)}  raw ${fmt.f2(o.raw.median)}  writer ${fmt.f2(o.writer.median)}  writer − raw ${fmt.f2(o.overhead.median)} µs/record`);

  log(`\nOption sweep (writer, ${s.sweep.recordBytes} B, ${fmt.int(s.sweep.count)} records, ${s.sweep.reps} rep(s))`);
  const grid = s.sweep.maxInFlight.flatMap((maxInFlight) => s.sweep.lingerMs.map((lingerMs) => ({ maxInFlight, lingerMs })));
  bench.sweep = await sweep(stub, grid, s.sweep, s.sweep.recordBytes, 'sweep');

  log(`\nmaxInFlight with ${s.latencySweep.latencyMs} ms stub latency (writer, ${s.sweep.recordBytes} B)`);
  const slowStub = await startStub([...stubShards, '--latency-ms', String(s.latencySweep.latencyMs)]);
  stubs.push(slowStub);
  const latencyGrid = s.sweep.maxInFlight.map((maxInFlight) => ({ maxInFlight, lingerMs: WRITABLE_DEFAULTS.lingerMs }));
  bench.latencySweep = await sweep(slowStub, latencyGrid, s.latencySweep, s.sweep.recordBytes, `+${s.latencySweep.latencyMs}ms`);

  log(`\nPaced source, ${fmt.int(s.paced.rate)} records/s (writer, ${s.sweep.recordBytes} B)`);
  bench.paced = [];
  for (const lingerMs of s.paced.lingerMs) {
    const r = await measureWrite(stub, { mode: 'writer', recordBytes: s.sweep.recordBytes, count: s.paced.count, warmup: 0, lingerMs, rate: s.paced.rate });
    bench.paced.push(r);
    writeProgress(`paced lingerMs ${lingerMs}`, r);
  }

  log(`\nFailure check: the stub rejects ${s.failCheck.failRate * 100}% of entries (seeded)`);
  const failingStub = await startStub([...stubShards, '--fail-rate', String(s.failCheck.failRate), '--seed', '42']);
  stubs.push(failingStub);
  const r = await measureWrite(failingStub, { mode: 'writer', recordBytes: s.sweep.recordBytes, count: s.failCheck.count, warmup: 0 }, true);
  bench.failCheck = { ...r, failRate: s.failCheck.failRate };
  writeProgress(`writer, ${r.retries} entries retried`, r);
}

/** Writer-only runs of several option sets; the order rotates each repetition. */
async function sweep(
  stub: Stub,
  configs: Array<{ maxInFlight: number; lingerMs: number }>,
  base: { count: number; warmup: number; reps: number },
  recordBytes: number,
  label: string,
): Promise<SweepRow[]> {
  const keys = configs.map((c) => `${c.maxInFlight}/${c.lingerMs}`);
  const byConfig = await alternate(
    keys,
    base.reps,
    async (key) => {
      const config = configs[keys.indexOf(key)];
      const r = await measureWrite(stub, { mode: 'writer', recordBytes, count: base.count, warmup: base.warmup, ...config });
      writeProgress(`${label} maxInFlight ${config.maxInFlight} lingerMs ${config.lingerMs}`, r);
      return r;
    },
    2,
  );
  return configs.map((config, i) => {
    const list = byConfig.get(keys[i])!;
    return {
      ...config,
      recordsPerSec: spread(list.map((r) => r.recordsPerSec)),
      cpuUsPerRecord: spread(list.map((r) => r.cpuUsPerRecord)),
      peakRssMiB: spread(list.map((r) => r.peakRssMiB)),
      avgBatch: spread(list.map((r) => r.records / r.requests)).median,
    };
  });
}

// ---- tables ---------------------------------------------------------------------------

export function writerMainTable(summaries: Summary[]): string {
  return markdownTable(
    ['record', 'mode', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'requests'],
    summaries.map((s) => [
      `${s.recordBytes} B`,
      s.mode,
      fmt.int(s.records),
      ...measuredCells(s),
    ]),
  );
}

export function writerRatioTable(list: WriterRatio[]): string {
  return markdownTable(
    ['record', 'CPU/record writer÷raw', 'target', 'per-rep ratios', 'records/s writer÷raw', 'target', 'per-rep ratios'],
    list.map((r) => [
      `${r.recordBytes} B`,
      judged(r.cpuPerRecord, r.cpuOk),
      `≤ ${TARGETS.cpuRatioMax}`,
      cell(r.pairedCpuPerRecord, fmt.f2),
      judged(r.throughput, r.throughputOk),
      `≥ ${TARGETS.throughputRatioMin}`,
      cell(r.pairedThroughput, fmt.f2),
    ]),
  );
}

function sweepTable(rows: SweepRow[]): string {
  return markdownTable(
    ['maxInFlight', 'lingerMs', 'records/s', 'CPU µs/record', 'peak RSS MiB', 'records/request'],
    rows.map((r) => [
      String(r.maxInFlight),
      String(r.lingerMs),
      cell(r.recordsPerSec, fmt.int),
      cell(r.cpuUsPerRecord, fmt.f2),
      cell(r.peakRssMiB, fmt.f1),
      fmt.int(r.avgBatch),
    ]),
  );
}

/** The writer's tables for the terminal. */
export function writerConsole(b: WriterBench): string {
  const out = [writerMainTable(b.summaries), '', writerRatioTable(b.ratios)];
  if (b.sweep !== undefined) out.push('', `Option sweep (writer, ${b.settings.sweep.recordBytes} B):`, sweepTable(b.sweep));
  if (b.latencySweep !== undefined) out.push('', `With ${b.settings.latencySweep.latencyMs} ms stub latency:`, sweepTable(b.latencySweep));
  return out.join('\n');
}

/** The method and the main writer section of RESULTS.md, then the extras. */
export function writerMarkdown(b: WriterBench, cfg: BenchConfig): string[] {
  const s = b.settings;
  const stubCpu = b.summaries.map((x) => `${x.recordBytes} B ${x.mode}: ${fmt.f2(x.stubCpuUsPerRecord.median)}`).join(', ');
  const out: string[] = [
    '## Writer vs raw SDK loop',
    '',
    '- A stub Kinesis server (benchmarks/stub-server.ts: HTTP/1.1, keep-alive, JSON protocol) runs in its own',
    '  process, so its CPU is not counted. Each measured run is a fresh process (benchmarks/bench-case.ts):',
    '  a warm-up of the same mode (10% of the records), then the measured run with a new client.',
    `- The stub describes a stream of ${s.stubShards} shards (even hash key ranges in ListShards) and answers each PutRecords entry`,
    '  with the shard its partition key falls on. The writer runs with **default options**, its per-shard rate limiter',
    `  included (1000 records/s and 1 MiB/s per shard, 200 ms burst): ${s.stubShards} shards allow ${fmt.int(s.stubShards * 1000)} records/s, far above`,
    "  the raw loop's rate here, so the limits never bind and the figures include only the limiter's bookkeeping",
    '  (ListShards at start, a hash and a token bucket per record).',
    "- **raw**: `KinesisClient` from `createKinesisClient({ wire: 'sdk' })` (same HTTP handler as the writer, the SDK's own",
    '  serializer and deserializer: the plain SDK a user would call; the writer has the default `wire: \'fast\'`), PutRecords of',
    `  500 entries, ${WRITABLE_DEFAULTS.maxInFlight} requests in flight (the writer's default maxInFlight), pre-built Buffers,`,
    "  random 10-character partition keys made per record by the same function as the writer's.",
    '- **writer**: `pipeline(Readable.from(generator of the same Buffers), createKinesisWritable({ streamName,',
    `  endpoint, region, credentials }))\` with default options (maxInFlight ${WRITABLE_DEFAULTS.maxInFlight}, lingerMs ${WRITABLE_DEFAULTS.lingerMs},`,
    `  maxBufferedRecords ${WRITABLE_DEFAULTS.maxBufferedRecords}, rateLimit on).`,
    '- Client CPU = `process.cpuUsage()` user + system over the measured run, per record. Peak RSS = highest',
    `  \`process.memoryUsage.rss()\` sampled every 50 ms. ${cfg.reps} repetition(s) alternate raw/writer in one run; cells are`,
    '  median (min–max). After every run the stub must have received exactly the records and bytes sent, or the benchmark fails.',
    `- Stub CPU per record (median; not part of the client figures): ${stubCpu} µs.`,
    '',
    writerMainTable(b.summaries),
    '',
    writerRatioTable(b.ratios),
    '',
    `Targets (default options): client CPU per record ≤ ${TARGETS.cpuRatioMax}× raw, throughput ≥ ${TARGETS.throughputRatioMin}× raw ` +
      `— **${passFail(b.passed)}**. Ratios are of the medians; "per-rep ratios" pair each writer run with the raw run next to it.`,
  ];
  if (b.sweep !== undefined) {
    out.push(
      '',
      `## Writer options at ${s.sweep.recordBytes} B (report only)`,
      '',
      `Writer only, ${fmt.int(s.sweep.count)} records per run, ${s.sweep.reps} run(s) per row, source as fast as the writer accepts, same ${s.stubShards}-shard stub.`,
      '',
      sweepTable(b.sweep),
    );
  }
  if (b.latencySweep !== undefined) {
    out.push(
      '',
      `With the stub answering PutRecords after ${s.latencySweep.latencyMs} ms (a nearby region's round trip), ` +
        `${fmt.int(s.latencySweep.count)} records, ${s.latencySweep.reps} run(s) per row:`,
      '',
      sweepTable(b.latencySweep),
    );
  }
  if (b.paced !== undefined) {
    out.push(
      '',
      `Source paced at ${fmt.int(s.paced.rate)} records/s (${fmt.int(s.paced.count)} records), where lingerMs decides the batch size:`,
      '',
      markdownTable(
        ['lingerMs', 'records/request', 'requests', 'CPU µs/record'],
        b.paced.map((p) => [String(p.options.lingerMs), fmt.int(p.records / p.requests), fmt.int(p.requests), fmt.f2(p.cpuUsPerRecord)]),
      ),
    );
  }
  if (b.failCheck !== undefined) {
    const f = b.failCheck;
    out.push(
      '',
      '## Partial failures',
      '',
      `The stub (${s.stubShards} shards) rejected ${f.failRate * 100}% of PutRecords entries (ProvisionedThroughputExceededException, seeded PRNG): ` +
        `the writer (default options) stored all ${fmt.int(f.records)} records exactly once, retrying ${fmt.int(f.retries)} entries ` +
        `in ${fmt.int(f.requests)} requests, in ${fmt.int(f.wallMs)} ms.`,
    );
  }
  if (b.overhead !== undefined) {
    const o = b.overhead;
    const f = (x: Figure) => `${fmt.f2(x.median)} (min ${fmt.f2(x.min)})`;
    const more = Object.entries(OVERHEAD_ROWS).filter(([row]) => typeof o[row] === 'object');
    out.push(
      '',
      '## Writer overhead without the SDK',
      '',
      'benchmarks/overhead.ts: the same raw loop and writer against a fake client that answers at once (no SDK,',
      `no HTTP), in one process, ${fmt.int(s.overhead.count)} records × ${s.overhead.reps} runs at ${s.sweep.recordBytes} B; client CPU µs per record, median (min).`,
      'Steadier than the end-to-end figures; "writer − raw" is what the writer adds per record ("writer" here without the rate',
      `limiter; the limiter's rows, on a fake stream of ${s.stubShards} shards whose limits are never reached, show what it adds).`,
      '',
      markdownTable(
        ['randomPartitionKey alone', 'raw loop', 'writer', 'writer − raw (medians; minima)'],
        [[f(o.keys), f(o.raw), f(o.writer), `${fmt.f2(o.overhead.median)}; ${fmt.f2(o.overhead.min)}`]],
      ),
    );
    if (more.length > 0) out.push('', markdownTable(['row', 'CPU µs/record'], more.map(([row, label]) => [label, f(o[row] as Figure)])));
  }
  return out;
}
