/**
 * `npm run bench`: the writer (createKinesisWritable, default options) against a raw AWS
 * SDK v3 PutRecords loop, and the reader (createKinesisReadable, default options) against a
 * raw GetRecords loop, all talking to a stub Kinesis server in its own process; then the
 * reader's memory bound with a stalled and with slow consumers.
 *
 * Every measured run is a fresh process (benchmarks/bench-case.ts), so its CPU time and
 * peak RSS are its own; repetitions alternate raw/writer to cancel drift. After each run
 * the stub's counters must have grown by exactly the records (and bytes) sent, or the
 * benchmark fails. Writes benchmarks/RESULTS.md and benchmarks/results.json.
 *
 * Reader runs read a whole in-memory stream of the stub (benchmarks/stub-read.ts) and must
 * deliver exactly its records; the memory-bound runs fail the benchmark when the reader
 * holds more than (open shards × maxRecordsPerCall) + highWaterMark records.
 *
 * KPL aggregation: the writer with `aggregation: true` (random keys; 1000 partition keys) vs
 * the raw loop on a 4-shard stub that counts the user records inside aggregates, and the
 * de-aggregating reader on a stream of aggregates (benchmarks/stub-read.ts `agg-…`). Peers
 * (benchmarks/peer-case.ts; aws-kinesis-writable, kinesis-streams, lifion-kinesis) come from
 * benchmarks/package.json, installed into benchmarks/node_modules first when missing. Also
 * writes benchmarks/chart.svg (benchmarks/chart.ts).
 *
 * Options: --reps N (3), --quick (smaller counts, fewer reps, for a smoke test),
 * --no-extras (skip the writer's option sweeps and the failure check), --no-write (print
 * only), --only writer|reader (one side only; with --no-write, for work on one side).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { READABLE_DEFAULTS, WRITABLE_DEFAULTS } from '../lib/limits.js';
import type { CaseResult, Mode, WriteMode } from './bench-case.js';
import { renderChart, type ChartBar } from './chart.js';
import { PEERS, type Peer, type PeerResult } from './peer-case.js';
import { metricsOverhead, overheadMarkdown, writeOverheadSection } from './metrics-case.js';
import { limitsBench, limitsMarkdown, LIMITS_HEADING } from './limits-case.js';
import { writeResultsSection } from './results-section.js';
import { FIXED_SLACK_BYTES, PARSE_COPIES, RECORD_OBJECT_ALLOWANCE_BYTES, type ReadCaseResult, type StallResult } from './read-case.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const STUB_SCRIPT = fileURLToPath(new URL('./stub-server.ts', import.meta.url));
const OVERHEAD_SCRIPT = fileURLToPath(new URL('./overhead.ts', import.meta.url));
const READ_OVERHEAD_SCRIPT = fileURLToPath(new URL('./read-overhead.ts', import.meta.url));
const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const RESULTS_JSON = fileURLToPath(new URL('./results.json', import.meta.url));
const CHART_SVG = fileURLToPath(new URL('./chart.svg', import.meta.url));
const PEER_SCRIPT = fileURLToPath(new URL('./peer-case.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
/** The writer's random partition keys are 10 characters; the raw loop uses the same function. */
const PARTITION_KEY_BYTES = 10;
const TARGETS = { cpuRatioMax: 1.15, throughputRatioMin: 0.9 };
/** Aggregated writer: user records/s ≥ 4× the raw loop's; de-aggregating reader: ≥ 3× raw-read records/s of a plain 100 B stream. */
const AGG_TARGETS = { writerThroughputMin: 4, readerThroughputMin: 3 };

const { values: cli } = parseArgs({
  options: {
    reps: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-extras': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
if (cli.only !== undefined && cli.only !== 'writer' && cli.only !== 'reader') throw new Error('--only must be writer or reader');
const runWriter = cli.only !== 'reader';
const runReader = cli.only !== 'writer';
const quick = cli.quick === true;
// Three runs per mode (median, min–max) keep the full `npm run bench` under 5 minutes with every section.
const reps = cli.reps !== undefined ? Number(cli.reps) : quick ? 2 : 3;
const scale = quick ? 0.25 : 1;

/** Main table: record size, records per run, warm-up records per run. */
const SIZES = [
  { recordBytes: 100, count: 200_000 * scale, warmup: 20_000 * scale },
  { recordBytes: 1024, count: 100_000 * scale, warmup: 10_000 * scale },
];
const SWEEP = {
  recordBytes: 100,
  count: 100_000 * scale,
  warmup: 10_000 * scale,
  // Two runs per option set (three before the reader joined) keep `npm run bench` near 4 minutes.
  // One run per option set keeps `npm run bench` under 5 minutes with the aggregation and peer sections.
  reps: 1,
  maxInFlight: [4, 8, 16],
  lingerMs: [0, 20, 50],
};
/** The same maxInFlight values against a stub that answers after this round trip. */
const LATENCY_SWEEP = { latencyMs: 20, count: 100_000 * scale, warmup: 10_000 * scale, reps: 1 };
/** A source slower than the writer, where lingerMs decides the batch size. */
const PACED = { rate: 5_000, count: 10_000 * scale, lingerMs: [0, 20, 50] };
const FAIL_CHECK = { failRate: 0.1, count: 20_000 * scale };
const OVERHEAD = { count: 200_000 * scale, reps: quick ? 3 : 5 };
/**
 * KPL aggregation, writer side: raw PutRecords loop vs the writer with `aggregation: true`
 * (random keys: one per aggregate) and with 1000 distinct partition keys, 100 B records,
 * against a 4-shard stub that decodes every entry and counts the user records inside.
 */
const AGG_WRITE = { recordBytes: 100, count: 400_000 * scale, warmup: 40_000 * scale, reps, shards: 4 };
/** KPL aggregation, reader side: a stub stream whose records are aggregates of `users` records of `userBytes`. */
const AGG_READ = { shards: 4, aggregatesPerShard: 600 * scale, users: 400, userBytes: 100, reps };
/** Peer libraries (benchmarks/package.json) on the writer's 100 B workload against the main stub. */
const PEER_BENCH = { count: 100_000 * scale, warmup: 10_000 * scale, reps: quick ? 1 : 3 };

/**
 * Reader vs raw: stub read streams (every shard open, all records there from the start),
 * read whole from TRIM_HORIZON; warm-up 10% of the records. The reader calls GetRecords at
 * most 5 times/s per shard (the service limit) and the raw loop back to back, so a stream
 * of S shards caps the reader at S × 10000 × 5 records/s: 4 shards are a realistic
 * stream; 16 shards lift the cap far above what one core parses, so CPU decides; 1 shard
 * shows the cap alone.
 */
const READ_CASES = [
  { shards: 4, recordsPerShard: 80_000 * scale, recordBytes: 100, reps },
  { shards: 4, recordsPerShard: 20_000 * scale, recordBytes: 1024, reps },
  { shards: 16, recordsPerShard: 20_000 * scale, recordBytes: 100, reps: quick ? 1 : 3 },
  { shards: 1, recordsPerShard: 50_000 * scale, recordBytes: 100, reps: quick ? 1 : 2 },
];
/** The memory bound: a consumer that reads nothing, then slow ones, each for durationMs. */
const STALL = {
  shards: 4,
  recordsPerShard: 200_000,
  recordBytes: 1024,
  durationMs: quick ? 2_000 : 5_000,
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
};
/** The reader's own cost per record against a fake client (benchmarks/read-overhead.ts). */
const READ_OVERHEAD = { shards: 4, rounds: quick ? 3 : 10, reps: quick ? 3 : 7, recordBytes: 100 };
/** 5 GetRecords per second per shard: the reader's minimum spacing of calls to one shard. */
const MIN_CALL_INTERVAL_MS = 200;
interface OverheadResult {
  keys: { median: number; min: number };
  raw: { median: number; min: number };
  writer: { median: number; min: number };
  overhead: { median: number; min: number };
}

interface StubStats {
  records: number;
  bytes: number;
  failedEntries: number;
  putRecordsRequests: number;
  userRecords: number;
  userDataBytes: number;
  aggregates: number;
  corruptAggregates: number;
  requests: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  readStreams: Record<string, { getRecords: number; recordsServed: number; pagesBuilt: number }>;
}

interface Stub {
  endpoint: string;
  stats(stream?: string): Promise<StubStats>;
  /** Builds the stub's GetRecords answers for reads of `stream` from TRIM_HORIZON in steps of `limit`. */
  prime(stream: string, limit: number): Promise<void>;
  close(): void;
}

/** Starts benchmarks/stub-server.ts in a child process and waits for its port. */
async function startStub(args: string[] = []): Promise<Stub> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', STUB_SCRIPT, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout! });
  const timeout = AbortSignal.timeout(15_000);
  let port: number;
  try {
    const [firstLine] = (await Promise.race([
      once(lines, 'line', { signal: timeout }),
      once(child, 'exit').then(([code]) => {
        throw new Error(`stub server exited with code ${code}: ${stderr}`);
      }),
    ])) as [string];
    port = (JSON.parse(firstLine) as { port: number }).port;
  } catch (error) {
    child.kill();
    throw error;
  }
  lines.close();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    async stats(stream?: string) {
      const response = await fetch(`${endpoint}/stats${stream === undefined ? '' : `?stream=${encodeURIComponent(stream)}`}`);
      if (!response.ok) throw new Error(`stub /stats answered ${response.status}`);
      return (await response.json()) as StubStats;
    },
    async prime(stream: string, limit: number) {
      const response = await fetch(`${endpoint}/prime?stream=${encodeURIComponent(stream)}&limit=${limit}`);
      if (!response.ok) throw new Error(`stub /prime answered ${response.status}`);
    },
    close() {
      if (child.connected) child.disconnect();
      child.kill();
    },
  };
}

interface CaseArgs {
  mode: WriteMode;
  recordBytes: number;
  count: number;
  warmup: number;
  maxInFlight?: number;
  lingerMs?: number;
  rate?: number;
}

/** Runs a TypeScript script in a fresh process; its last stdout line is its JSON result. */
async function runJsonProcess<R>(script: string, scriptArgs: string[], nodeFlags: string[] = []): Promise<R> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...scriptArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${path.basename(script)} ${scriptArgs.join(' ')} failed (exit ${code}):\n${withoutSdkNotice(stderr).trim()}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as R;
}

/** stderr without the AWS SDK's Node-version notice, which every process prints. */
function withoutSdkNotice(stderr: string): string {
  return stderr.replace(/\(node:\d+\) NodeVersionSupportWarning:[\s\S]*?--trace-warnings \.\.\.` to show where the warning was created\)\n?/g, '');
}

/** Runs benchmarks/bench-case.ts in a fresh process. */
async function runCaseProcess(endpoint: string, c: CaseArgs): Promise<CaseResult> {
  const args = [
    '--mode',
    c.mode,
    '--endpoint',
    endpoint,
    '--size',
    String(c.recordBytes),
    '--count',
    String(c.count),
    '--warmup',
    String(c.warmup),
  ];
  if (c.maxInFlight !== undefined) args.push('--max-in-flight', String(c.maxInFlight));
  if (c.lingerMs !== undefined) args.push('--linger-ms', String(c.lingerMs));
  if (c.rate !== undefined) args.push('--rate', String(c.rate));
  return runJsonProcess<CaseResult>(CASE_SCRIPT, args);
}

interface Measured extends CaseResult {
  /** Stub CPU per record received (warm-up included), µs: shows the stub is not the bottleneck. */
  stubCpuUsPerRecord: number;
}

/** One case, checked against the stub's counters: every record sent must have arrived, once. */
async function measure(stub: Stub, c: CaseArgs, expectFailures = false): Promise<Measured> {
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
  const stubCpuUs = after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
  return { ...result, stubCpuUsPerRecord: stubCpuUs / sent };
}

function describeCase(c: CaseArgs): string {
  const extra = [
    c.maxInFlight !== undefined ? `maxInFlight ${c.maxInFlight}` : '',
    c.lingerMs !== undefined ? `lingerMs ${c.lingerMs}` : '',
    c.rate !== undefined ? `rate ${c.rate}/s` : '',
  ].filter(Boolean);
  return `${c.mode} ${c.recordBytes} B × ${c.count}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

interface Summary {
  mode: Mode;
  recordBytes: number;
  records: number;
  runs: number;
  wallMs: Spread;
  recordsPerSec: Spread;
  cpuUsPerRecord: Spread;
  peakRssMiB: Spread;
  requests: number;
  stubCpuUsPerRecord: Spread;
}

/** What summarize() needs of a run: a writer case or a reader case. */
interface Run {
  mode: Mode;
  recordBytes: number;
  records: number;
  wallMs: number;
  recordsPerSec: number;
  cpuUsPerRecord: number;
  peakRssMiB: number;
  requests: number;
  stubCpuUsPerRecord: number;
}

function summarize(results: Run[]): Summary {
  const first = results[0];
  return {
    mode: first.mode,
    recordBytes: first.recordBytes,
    records: first.records,
    runs: results.length,
    wallMs: spread(results.map((r) => r.wallMs)),
    recordsPerSec: spread(results.map((r) => r.recordsPerSec)),
    cpuUsPerRecord: spread(results.map((r) => r.cpuUsPerRecord)),
    peakRssMiB: spread(results.map((r) => r.peakRssMiB)),
    requests: spread(results.map((r) => r.requests)).median,
    stubCpuUsPerRecord: spread(results.map((r) => r.stubCpuUsPerRecord)),
  };
}

const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  f1: (n: number) => n.toFixed(1),
  f2: (n: number) => n.toFixed(2),
};

function cell(s: Spread, f: (n: number) => string): string {
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function mainTable(summaries: Summary[]): string {
  return markdownTable(
    ['record', 'mode', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'requests'],
    summaries.map((s) => [
      `${s.recordBytes} B`,
      s.mode,
      fmt.int(s.records),
      cell(s.wallMs, fmt.int),
      cell(s.recordsPerSec, fmt.int),
      cell(s.cpuUsPerRecord, fmt.f2),
      cell(s.peakRssMiB, fmt.f1),
      fmt.int(s.requests),
    ]),
  );
}

interface Ratio {
  recordBytes: number;
  /** writer / raw of the medians. */
  cpuPerRecord: number;
  throughput: number;
  /** Medians and ranges of the per-repetition ratios (adjacent runs share the machine's mood). */
  pairedCpuPerRecord: Spread;
  pairedThroughput: Spread;
  cpuOk: boolean;
  throughputOk: boolean;
}

function ratios(raw: Run[], writer: Run[], rawSummary: Summary, writerSummary: Summary): Ratio {
  const cpuPerRecord = writerSummary.cpuUsPerRecord.median / rawSummary.cpuUsPerRecord.median;
  const throughput = writerSummary.recordsPerSec.median / rawSummary.recordsPerSec.median;
  return {
    recordBytes: rawSummary.recordBytes,
    cpuPerRecord,
    throughput,
    pairedCpuPerRecord: spread(raw.map((r, i) => writer[i].cpuUsPerRecord / r.cpuUsPerRecord)),
    pairedThroughput: spread(raw.map((r, i) => writer[i].recordsPerSec / r.recordsPerSec)),
    cpuOk: cpuPerRecord <= TARGETS.cpuRatioMax,
    throughputOk: throughput >= TARGETS.throughputRatioMin,
  };
}

function ratioTable(list: Ratio[]): string {
  return markdownTable(
    ['record', 'CPU/record writer÷raw', 'target', 'per-rep ratios', 'records/s writer÷raw', 'target', 'per-rep ratios'],
    list.map((r) => [
      `${r.recordBytes} B`,
      `**${fmt.f2(r.cpuPerRecord)}** ${r.cpuOk ? 'PASS' : 'FAIL'}`,
      `≤ ${TARGETS.cpuRatioMax}`,
      cell(r.pairedCpuPerRecord, fmt.f2),
      `**${fmt.f2(r.throughput)}** ${r.throughputOk ? 'PASS' : 'FAIL'}`,
      `≥ ${TARGETS.throughputRatioMin}`,
      cell(r.pairedThroughput, fmt.f2),
    ]),
  );
}

function log(message: string): void {
  process.stderr.write(message + '\n');
}

function progress(label: string, r: Measured): void {
  log(
    `  ${label.padEnd(44)} ${fmt.int(r.recordsPerSec).padStart(8)} rec/s  ${fmt.f2(r.cpuUsPerRecord).padStart(6)} µs/rec  ` +
      `${fmt.f1(r.peakRssMiB).padStart(6)} MiB  ${r.requests} req`,
  );
}

interface SweepRow {
  maxInFlight: number;
  lingerMs: number;
  recordsPerSec: Spread;
  cpuUsPerRecord: Spread;
  peakRssMiB: Spread;
  avgBatch: number;
}

/** Writer-only runs of several option sets; the order rotates each repetition. */
async function sweep(
  stub: Stub,
  configs: Array<{ maxInFlight: number; lingerMs: number }>,
  base: { count: number; warmup: number; reps: number },
  label: string,
): Promise<{ rows: SweepRow[]; runs: Measured[] }> {
  const byConfig = new Map<string, Measured[]>(configs.map((c) => [`${c.maxInFlight}/${c.lingerMs}`, []]));
  const runs: Measured[] = [];
  for (let rep = 0; rep < base.reps; rep++) {
    for (let k = 0; k < configs.length; k++) {
      const config = configs[(k + rep * 2) % configs.length];
      const c: CaseArgs = { mode: 'writer', recordBytes: SWEEP.recordBytes, count: base.count, warmup: base.warmup, ...config };
      const r = await measure(stub, c);
      runs.push(r);
      byConfig.get(`${config.maxInFlight}/${config.lingerMs}`)!.push(r);
      progress(`${label} maxInFlight ${config.maxInFlight} lingerMs ${config.lingerMs}`, r);
    }
  }
  const rows = configs.map((config) => {
    const list = byConfig.get(`${config.maxInFlight}/${config.lingerMs}`)!;
    return {
      ...config,
      recordsPerSec: spread(list.map((r) => r.recordsPerSec)),
      cpuUsPerRecord: spread(list.map((r) => r.cpuUsPerRecord)),
      peakRssMiB: spread(list.map((r) => r.peakRssMiB)),
      avgBatch: spread(list.map((r) => r.records / r.requests)).median,
    };
  });
  return { rows, runs };
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

function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    loadAvg1m: Number(os.loadavg()[0].toFixed(2)),
    commit: git(['rev-parse', '--short', 'HEAD']),
    libChanges: git(['status', '--porcelain', '--', 'lib']) === '' ? 'none' : 'uncommitted changes in lib/',
  };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  log(`kinesis-node-streams benchmark: node ${machine.node}, ${machine.cpuCount} × ${machine.cpuModel}, ${reps} repetition(s)`);
  const stubs: Stub[] = [];
  const peerInstall = ensureBenchDependencies();
  try {
    const stub = await startStub();
    stubs.push(stub);

    // Main table: raw vs writer, alternating which goes first.
    const summaries: Summary[] = [];
    const ratioList: Ratio[] = [];
    const allRuns: Array<Measured & { rep: number }> = [];
    for (const size of runWriter ? SIZES : []) {
      log(`\n${size.recordBytes} B records, ${fmt.int(size.count)} per run (+${fmt.int(size.warmup)} warm-up)`);
      const raw: Measured[] = [];
      const writer: Measured[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const order: WriteMode[] = rep % 2 === 0 ? ['raw', 'writer'] : ['writer', 'raw'];
        for (const mode of order) {
          const r = await measure(stub, { mode, ...size });
          (mode === 'raw' ? raw : writer).push(r);
          allRuns.push({ ...r, rep });
          progress(`rep ${rep + 1} ${mode}`, r);
        }
      }
      const rawSummary = summarize(raw);
      const writerSummary = summarize(writer);
      summaries.push(rawSummary, writerSummary);
      ratioList.push(ratios(raw, writer, rawSummary, writerSummary));
    }

    let sweepResult: { rows: SweepRow[]; runs: Measured[] } | undefined;
    let latencyResult: { rows: SweepRow[]; runs: Measured[] } | undefined;
    let pacedRuns: Measured[] | undefined;
    let failCheck: (Measured & { failRate: number }) | undefined;
    let overhead: OverheadResult | undefined;
    if (cli['no-extras'] !== true && runWriter) {
      log(`\nWriter overhead without the SDK (fake client, ${fmt.int(OVERHEAD.count)} records, ${OVERHEAD.reps} runs)`);
      overhead = await runJsonProcess<OverheadResult>(OVERHEAD_SCRIPT, ['--json', '--count', String(OVERHEAD.count), '--reps', String(OVERHEAD.reps)]);
      log(
        `  keys ${fmt.f2(overhead.keys.median)}  raw ${fmt.f2(overhead.raw.median)}  writer ${fmt.f2(overhead.writer.median)}  ` +
          `writer − raw ${fmt.f2(overhead.overhead.median)} µs/record`,
      );

      log(`\nOption sweep (writer, ${SWEEP.recordBytes} B, ${fmt.int(SWEEP.count)} records, ${SWEEP.reps} rep(s))`);
      const grid = SWEEP.maxInFlight.flatMap((maxInFlight) => SWEEP.lingerMs.map((lingerMs) => ({ maxInFlight, lingerMs })));
      sweepResult = await sweep(stub, grid, SWEEP, 'sweep');

      log(`\nmaxInFlight with ${LATENCY_SWEEP.latencyMs} ms stub latency (writer, ${SWEEP.recordBytes} B)`);
      const slowStub = await startStub(['--latency-ms', String(LATENCY_SWEEP.latencyMs)]);
      stubs.push(slowStub);
      latencyResult = await sweep(
        slowStub,
        SWEEP.maxInFlight.map((maxInFlight) => ({ maxInFlight, lingerMs: WRITABLE_DEFAULTS.lingerMs })),
        LATENCY_SWEEP,
        `+${LATENCY_SWEEP.latencyMs}ms`,
      );

      log(`\nPaced source, ${fmt.int(PACED.rate)} records/s (writer, ${SWEEP.recordBytes} B)`);
      pacedRuns = [];
      for (const lingerMs of PACED.lingerMs) {
        const r = await measure(stub, { mode: 'writer', recordBytes: SWEEP.recordBytes, count: PACED.count, warmup: 0, lingerMs, rate: PACED.rate });
        pacedRuns.push(r);
        progress(`paced lingerMs ${lingerMs}`, r);
      }

      log(`\nFailure check: the stub rejects ${FAIL_CHECK.failRate * 100}% of entries (seeded)`);
      const failingStub = await startStub(['--fail-rate', String(FAIL_CHECK.failRate), '--seed', '42']);
      stubs.push(failingStub);
      const r = await measure(failingStub, { mode: 'writer', recordBytes: SWEEP.recordBytes, count: FAIL_CHECK.count, warmup: 0 }, true);
      failCheck = { ...r, failRate: FAIL_CHECK.failRate };
      progress(`writer, ${r.retries} entries retried`, r);
    }

    let aggWrite: AggWriteBench | undefined;
    let peers: PeerBench | undefined;
    if (runWriter) {
      const aggStub = await startStub(['--shards', String(AGG_WRITE.shards), '--count-user-records']);
      stubs.push(aggStub);
      aggWrite = await aggWriteBench(aggStub);
      peers = await peerBench(stub, peerInstall);
    }

    let reader: ReaderBench | undefined;
    let aggRead: AggReadBench | undefined;
    if (runReader) {
      const readStub = await startStub();
      stubs.push(readStub);
      reader = await readerBench(readStub);
      aggRead = await aggReadBench(readStub, reader);
    }

    const elapsedS = (performance.now() - started) / 1000;
    machine.loadAvg1mEnd = Number(os.loadavg()[0].toFixed(2));
    const passed = ratioList.every((r) => r.cpuOk && r.throughputOk);
    const readerPassed = reader === undefined ? undefined : reader.ratios.every((r) => r.cpuOk && r.throughputOk);
    const report = renderMarkdown({ machine, summaries, ratioList, sweepResult, latencyResult, pacedRuns, failCheck, overhead, reader, elapsedS, passed, aggWrite, aggRead, peers });
    const chart = chartOf(summaries, aggWrite, peers, reader, aggRead);
    process.stdout.write(`\n${mainTable(summaries)}\n\n${ratioTable(ratioList)}\n`);
    if (sweepResult !== undefined) process.stdout.write(`\nOption sweep (writer, ${SWEEP.recordBytes} B):\n${sweepTable(sweepResult.rows)}\n`);
    if (latencyResult !== undefined) {
      process.stdout.write(`\nWith ${LATENCY_SWEEP.latencyMs} ms stub latency:\n${sweepTable(latencyResult.rows)}\n`);
    }
    if (reader !== undefined) {
      process.stdout.write(`\nReader vs raw GetRecords loop:\n${readMainTable(reader.summaries)}\n\n${readRatioTable(reader.ratios)}\n`);
      process.stdout.write(`\nMemory bound (${STALL.recordBytes} B records, ${STALL.shards} shards):\n${stallTable(reader.stalls)}\n`);
    }
    if (aggWrite !== undefined) process.stdout.write(`\nKPL aggregation, writer:\n${aggWriteTable(aggWrite)}\n`);
    if (aggRead !== undefined) process.stdout.write(`\nKPL aggregation, reader:\n${aggReadTable(aggRead)}\n`);
    if (peers !== undefined) process.stdout.write(`\nPeers:\n${peerTable(peers)}\n`);
    process.stdout.write(`\nWriter vs raw targets: ${runWriter ? (passed ? 'PASS' : 'FAIL') : 'not run'}`);
    if (aggWrite !== undefined) process.stdout.write(`; aggregated writer ≥ ${AGG_TARGETS.writerThroughputMin}× raw: ${aggWrite.ratios.every((r) => r.ok) ? 'PASS' : 'FAIL'}`);
    if (aggRead !== undefined) process.stdout.write(`; de-aggregating reader ≥ ${AGG_TARGETS.readerThroughputMin}× raw-read: ${aggRead.ok ? 'PASS' : 'FAIL'}`);
    process.stdout.write(`; reader vs raw targets: ${readerPassed === undefined ? 'not run' : readerPassed ? 'PASS' : 'FAIL'}`);
    process.stdout.write(`${reader === undefined ? '' : '; reader memory bound: PASS'} (${elapsedS.toFixed(0)} s)\n`);
    if (cli['no-write'] !== true) {
      await writeFile(RESULTS_MD, report);
      await writeFile(CHART_SVG, chart);
      const json = {
        machine,
        settings: {
          reps,
          quick,
          sizes: SIZES,
          sweep: SWEEP,
          latencySweep: LATENCY_SWEEP,
          paced: PACED,
          failCheck: FAIL_CHECK,
          overhead: OVERHEAD,
          writerDefaults: WRITABLE_DEFAULTS,
          readCases: READ_CASES,
          stall: STALL,
          readOverhead: READ_OVERHEAD,
          readerDefaults: READABLE_DEFAULTS,
          aggWrite: AGG_WRITE,
          aggRead: AGG_READ,
          aggTargets: AGG_TARGETS,
          peers: PEER_BENCH,
        },
        targets: TARGETS,
        passed,
        readerPassed,
        summaries,
        ratios: ratioList,
        sweep: sweepResult?.rows,
        latencySweep: latencyResult?.rows,
        paced: pacedRuns,
        failCheck,
        overhead,
        runs: allRuns,
        reader:
          reader === undefined
            ? undefined
            : { summaries: reader.summaries, ratios: reader.ratios, overhead: reader.overhead, stalls: reader.stalls, runs: reader.runs },
        aggregation: { writer: aggWrite, reader: aggRead },
        peers,
        elapsedSeconds: elapsedS,
      };
      await writeFile(RESULTS_JSON, JSON.stringify(json, null, 2) + '\n');
      log(`wrote ${RESULTS_MD}, ${RESULTS_JSON} and ${CHART_SVG}`);
      if (cli['no-extras'] !== true) {
        // The metrics adapter's CPU cost (benchmarks/metrics-case.ts: its own stub and processes), as a section of RESULTS.md.
        const metricsReps = quick ? 2 : 7;
        await writeOverheadSection(overheadMarkdown(await metricsOverhead({ reps: metricsReps, quick, log }), metricsReps));
        // The writer and reader at the per-shard limits (benchmarks/limits-case.ts: kinesalite behind the limits proxy).
        await writeResultsSection(LIMITS_HEADING, limitsMarkdown(await limitsBench({ log })));
      }
    }
  } finally {
    for (const s of stubs) s.close();
  }
}

function renderMarkdown(r: {
  machine: Record<string, string | number>;
  summaries: Summary[];
  ratioList: Ratio[];
  sweepResult?: { rows: SweepRow[] };
  latencyResult?: { rows: SweepRow[] };
  pacedRuns?: Measured[];
  failCheck?: Measured & { failRate: number };
  overhead?: OverheadResult;
  reader?: ReaderBench;
  elapsedS: number;
  passed: boolean;
  aggWrite?: AggWriteBench;
  aggRead?: AggReadBench;
  peers?: PeerBench;
}): string {
  const m = r.machine;
  const stubCpu = r.summaries.map((s) => `${s.recordBytes} B ${s.mode}: ${fmt.f2(s.stubCpuUsPerRecord.median)}`).join(', ');
  const out: string[] = [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (benchmarks/run.ts). Do not edit by hand.',
    '',
    '![records/s and CPU per record: raw SDK, kinesis-node-streams (plain, aggregated, reader, de-aggregating) and peers](chart.svg)',
    '',
    '## Machine',
    '',
    `- Date: ${m.date}`,
    `- Node ${m.node} (V8 ${m.v8}), ${m.os}`,
    `- CPU: ${m.cpuCount} × ${m.cpuModel} (available parallelism ${m.availableParallelism}); load average at start ${m.loadAvg1m}, at end ${m.loadAvg1mEnd}`,
    `- Memory: ${m.totalMemGiB} GiB`,
    `- Code: commit ${m.commit}, ${m.libChanges === 'none' ? 'lib/ as committed' : m.libChanges}`,
    '',
    '## Method',
    '',
    '- A stub Kinesis server (benchmarks/stub-server.ts: HTTP/1.1, keep-alive, JSON protocol) runs in its own',
    '  process, so its CPU is not counted. Each measured run is a fresh process (benchmarks/bench-case.ts):',
    '  a warm-up of the same mode (10% of the records), then the measured run with a new client.',
    '- **raw**: `KinesisClient` from `createKinesisClient` (same HTTP handler as the writer), PutRecords of',
    `  500 entries, ${WRITABLE_DEFAULTS.maxInFlight} requests in flight (the writer's default maxInFlight), pre-built Buffers,`,
    '  random 10-character partition keys made per record by the same function as the writer\'s.',
    '- **writer**: `pipeline(Readable.from(generator of the same Buffers), createKinesisWritable({ streamName,',
    `  endpoint, region, credentials }))\` with default options (maxInFlight ${WRITABLE_DEFAULTS.maxInFlight}, lingerMs ${WRITABLE_DEFAULTS.lingerMs},`,
    `  maxBufferedRecords ${WRITABLE_DEFAULTS.maxBufferedRecords}).`,
    '- Client CPU = `process.cpuUsage()` user + system over the measured run, per record. Peak RSS = highest',
    '  `process.memoryUsage.rss()` sampled every 50 ms. Repetitions alternate raw/writer; cells are',
    '  median (min–max). After every run the stub must have received exactly the records and bytes sent.',
    `- Stub CPU per record (median; not part of the client figures): ${stubCpu} µs.`,
    '',
    '## Writer vs raw SDK loop',
    '',
    mainTable(r.summaries),
    '',
    ratioTable(r.ratioList),
    '',
    `Targets (default options): client CPU per record ≤ ${TARGETS.cpuRatioMax}× raw, throughput ≥ ${TARGETS.throughputRatioMin}× raw ` +
      `— **${r.passed ? 'PASS' : 'FAIL'}**. Ratios are of the medians; "per-rep ratios" pair each writer run with the raw run next to it.`,
  ];
  if (r.sweepResult !== undefined) {
    out.push(
      '',
      `## Writer options at ${SWEEP.recordBytes} B (report only)`,
      '',
      `Writer only, ${fmt.int(SWEEP.count)} records per run, ${SWEEP.reps} run(s) per row, source as fast as the writer accepts.`,
      '',
      sweepTable(r.sweepResult.rows),
    );
  }
  if (r.latencyResult !== undefined) {
    out.push(
      '',
      `With the stub answering PutRecords after ${LATENCY_SWEEP.latencyMs} ms (a nearby region's round trip), ` +
        `${fmt.int(LATENCY_SWEEP.count)} records, ${LATENCY_SWEEP.reps} run(s) per row:`,
      '',
      sweepTable(r.latencyResult.rows),
    );
  }
  if (r.pacedRuns !== undefined) {
    out.push(
      '',
      `Source paced at ${fmt.int(PACED.rate)} records/s (${fmt.int(PACED.count)} records), where lingerMs decides the batch size:`,
      '',
      markdownTable(
        ['lingerMs', 'records/request', 'requests', 'CPU µs/record'],
        r.pacedRuns.map((p) => [String(p.options.lingerMs), fmt.int(p.records / p.requests), fmt.int(p.requests), fmt.f2(p.cpuUsPerRecord)]),
      ),
    );
  }
  if (r.failCheck !== undefined) {
    const f = r.failCheck;
    out.push(
      '',
      '## Partial failures',
      '',
      `The stub rejected ${f.failRate * 100}% of PutRecords entries (ProvisionedThroughputExceededException, seeded PRNG): ` +
        `the writer (default options) stored all ${fmt.int(f.records)} records exactly once, retrying ${fmt.int(f.retries)} entries ` +
        `in ${fmt.int(f.requests)} requests, in ${fmt.int(f.wallMs)} ms.`,
    );
  }
  if (r.overhead !== undefined) {
    const o = r.overhead;
    const f = (s: { median: number; min: number }) => `${fmt.f2(s.median)} (min ${fmt.f2(s.min)})`;
    out.push(
      '',
      '## Writer overhead without the SDK',
      '',
      'benchmarks/overhead.ts: the same raw loop and writer against a fake client that answers at once (no SDK,',
      `no HTTP), in one process, ${fmt.int(OVERHEAD.count)} records × ${OVERHEAD.reps} runs at ${SWEEP.recordBytes} B; client CPU µs per record, median (min).`,
      'Steadier than the end-to-end figures; "writer − raw" is what the writer adds per record.',
      '',
      markdownTable(
        ['randomPartitionKey alone', 'raw loop', 'writer', 'writer − raw (medians; minima)'],
        [[f(o.keys), f(o.raw), f(o.writer), `${fmt.f2(o.overhead.median)}; ${fmt.f2(o.overhead.min)}`]],
      ),
    );
  }
  if (r.reader !== undefined) out.push('', ...readerMarkdown(r.reader));
  out.push('', ...aggregationMarkdown(r.aggWrite, r.aggRead));
  if (r.peers !== undefined) out.push('', ...peerMarkdown(r.peers, r.summaries));
  out.push('', `Total benchmark time: ${r.elapsedS.toFixed(0)} s.`, '');
  return out.join('\n');
}

// ---- reader ---------------------------------------------------------------------------

interface ReadMeasured extends ReadCaseResult {
  stubCpuUsPerRecord: number;
  rep: number;
}

interface ReadSummary extends Summary {
  shards: number;
}

interface ReadRatio extends Ratio {
  shards: number;
  rawWallMs: number;
  readerWallMs: number;
  /** Shortest time the reader can take: (GetRecords calls per shard − 1) × 200 ms. */
  pacingFloorMs: number;
  /** The reader's median wall time over the pacing floor: near 1 means the call pacing decides. */
  wallOverFloor: number;
  limit: string;
}

interface ReadOverheadResult {
  count: number;
  raw: { median: number; min: number };
  reader: { median: number; min: number };
  overhead: { median: number; min: number };
}

interface ReaderBench {
  summaries: ReadSummary[];
  ratios: ReadRatio[];
  overhead: ReadOverheadResult;
  stalls: StallResult[];
  runs: ReadMeasured[];
}

function readStreamName(c: { shards: number; recordsPerShard: number; recordBytes: number }): string {
  return `read-${c.shards}x${c.recordsPerShard}x${c.recordBytes}`;
}

/** One reader or raw-read run, checked against the stub: it must have served every record read. */
async function measureRead(stub: Stub, mode: 'raw-read' | 'reader', stream: string, count: number, warmup: number, rep: number): Promise<ReadMeasured> {
  const before = await stub.stats(stream);
  const result = await runJsonProcess<ReadCaseResult>(CASE_SCRIPT, ['--mode', mode, '--endpoint', stub.endpoint, '--stream', stream, '--warmup', String(warmup)]);
  const after = await stub.stats(stream);
  const served = after.readStreams[stream].recordsServed - (before.readStreams[stream]?.recordsServed ?? 0);
  if (result.records !== count || result.recordsServed < count || served < count + warmup) {
    throw new Error(`LOST RECORDS in ${mode} ${stream}: read ${result.records} of ${count}, the stub served ${result.recordsServed} in the measured run`);
  }
  const stubCpuUs = after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
  return { ...result, stubCpuUsPerRecord: stubCpuUs / served, rep };
}

function readProgress(label: string, r: ReadMeasured): void {
  log(
    `  ${label.padEnd(44)} ${fmt.int(r.recordsPerSec).padStart(8)} rec/s  ${fmt.f2(r.cpuUsPerRecord).padStart(6)} µs/rec  ` +
      `${fmt.f1(r.peakRssMiB).padStart(6)} MiB  ${r.requests} GetRecords  ${fmt.int(r.wallMs)} ms`,
  );
}

async function readerBench(stub: Stub): Promise<ReaderBench> {
  const summaries: ReadSummary[] = [];
  const ratioList: ReadRatio[] = [];
  const runs: ReadMeasured[] = [];
  for (const c of READ_CASES) {
    const stream = readStreamName(c);
    const count = c.shards * c.recordsPerShard;
    const warmup = Math.round(count / 10);
    log(`\nReader: ${c.recordBytes} B records, ${c.shards} shard(s) × ${fmt.int(c.recordsPerShard)} (+${fmt.int(warmup)} warm-up), ${c.reps} rep(s)`);
    // Serialise the stub's answers now, so no measured run pays for the stub building them.
    await stub.prime(stream, READABLE_DEFAULTS.maxRecordsPerCall);
    const raw: ReadMeasured[] = [];
    const reader: ReadMeasured[] = [];
    for (let rep = 0; rep < c.reps; rep++) {
      const order = rep % 2 === 0 ? (['raw-read', 'reader'] as const) : (['reader', 'raw-read'] as const);
      for (const mode of order) {
        const r = await measureRead(stub, mode, stream, count, warmup, rep);
        (mode === 'raw-read' ? raw : reader).push(r);
        runs.push(r);
        readProgress(`rep ${rep + 1} ${mode}`, r);
      }
    }
    const rawSummary: ReadSummary = { ...summarize(raw), shards: c.shards };
    const readerSummary: ReadSummary = { ...summarize(reader), shards: c.shards };
    summaries.push(rawSummary, readerSummary);
    const callsPerShard = Math.ceil(c.recordsPerShard / READABLE_DEFAULTS.maxRecordsPerCall);
    const pacingFloorMs = (callsPerShard - 1) * MIN_CALL_INTERVAL_MS;
    const wallOverFloor = pacingFloorMs > 0 ? readerSummary.wallMs.median / pacingFloorMs : Number.POSITIVE_INFINITY;
    ratioList.push({
      ...ratios(raw, reader, rawSummary, readerSummary),
      shards: c.shards,
      rawWallMs: rawSummary.wallMs.median,
      readerWallMs: readerSummary.wallMs.median,
      pacingFloorMs,
      wallOverFloor,
      // Within 25% of the floor the reader mostly waits for its next allowed call; beyond, it is busy parsing.
      limit: wallOverFloor <= 1.25 ? 'pacing (5 GetRecords/s/shard)' : 'client CPU',
    });
  }

  const o = READ_OVERHEAD;
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
  log(`  raw ${fmt.f2(overhead.raw.median)}  reader ${fmt.f2(overhead.reader.median)}  reader − raw ${fmt.f2(overhead.overhead.median)} µs/record`);

  const stream = readStreamName(STALL);
  log(`\nReader memory bound: ${stream}, ${STALL.durationMs} ms per case`);
  const stalls: StallResult[] = [];
  for (const s of STALL.cases) {
    const args = ['--mode', s.mode, '--endpoint', stub.endpoint, '--stream', stream, '--duration-ms', String(STALL.durationMs)];
    args.push('--max-records-per-call', String(s.maxRecordsPerCall), '--high-water-mark', String(s.highWaterMark));
    if (s.mode === 'slow') args.push('--consume-every', String(s.consumeEvery), '--consume-sleep-ms', String(s.consumeSleepMs));
    // bench-case exits non-zero when the bound is exceeded: runJsonProcess then throws and the benchmark fails.
    const r = await runJsonProcess<StallResult>(CASE_SCRIPT, args, ['--expose-gc']);
    if (r.violations.length > 0) throw new Error(`MEMORY BOUND EXCEEDED: ${r.violations.join('; ')}`);
    if (r.retainedGrowthMiB === null) throw new Error('the memory-bound case ran without --expose-gc');
    stalls.push(r);
    log(
      `  ${`${r.mode} (${r.consumer}), maxRecordsPerCall ${r.maxRecordsPerCall}`.padEnd(60)} max readableLength ${r.maxReadableLength}, ` +
        `held ≤ ${fmt.int(r.maxHeldRecords)} of bound ${fmt.int(r.boundRecords)}, ${r.getRecords} GetRecords, live ≤ ${fmt.f1(r.liveMaxMiB)} MiB`,
    );
  }
  return { summaries, ratios: ratioList, overhead, stalls, runs };
}

function readMainTable(summaries: ReadSummary[]): string {
  return markdownTable(
    ['record', 'shards', 'mode', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'GetRecords'],
    summaries.map((s) => [
      `${s.recordBytes} B`,
      String(s.shards),
      s.mode,
      fmt.int(s.records),
      cell(s.wallMs, fmt.int),
      cell(s.recordsPerSec, fmt.int),
      cell(s.cpuUsPerRecord, fmt.f2),
      cell(s.peakRssMiB, fmt.f1),
      fmt.int(s.requests),
    ]),
  );
}

function readRatioTable(list: ReadRatio[]): string {
  return markdownTable(
    ['record', 'shards', 'CPU/record reader÷raw', 'target', 'per-rep ratios', 'records/s reader÷raw', 'target', 'per-rep ratios', 'pacing floor ms', 'reader wall ÷ floor', 'reader limited by'],
    list.map((r) => [
      `${r.recordBytes} B`,
      String(r.shards),
      `**${fmt.f2(r.cpuPerRecord)}** ${r.cpuOk ? 'PASS' : 'FAIL'}`,
      `≤ ${TARGETS.cpuRatioMax}`,
      cell(r.pairedCpuPerRecord, fmt.f2),
      `**${fmt.f2(r.throughput)}** ${r.throughputOk ? 'PASS' : 'FAIL'}`,
      `≥ ${TARGETS.throughputRatioMin}`,
      cell(r.pairedThroughput, fmt.f2),
      fmt.int(r.pacingFloorMs),
      Number.isFinite(r.wallOverFloor) ? fmt.f2(r.wallOverFloor) : '–',
      r.limit,
    ]),
  );
}

function stallTable(stalls: StallResult[]): string {
  const mib = (bytes: number) => fmt.f1(bytes / (1024 * 1024));
  return markdownTable(
    [
      'consumer',
      'maxRecordsPerCall / highWaterMark',
      'run ms',
      'consumed',
      'GetRecords',
      'max readableLength',
      'max records held',
      'bound (records)',
      'bound × record size MiB',
      'live after GC MiB: max (allowed)',
      'live floor (min) 1st / 2nd half MiB',
      'live ÷ records held at end',
      'peak sampled growth MiB (garbage included)',
      'without backpressure: records held',
    ],
    stalls.map((r) => [
      r.consumer,
      `${fmt.int(r.maxRecordsPerCall)} / ${fmt.int(r.highWaterMark)}`,
      fmt.int(r.durationMs),
      fmt.int(r.consumed),
      `${r.getRecords}${r.mode === 'stalled' ? ` (≤ ${r.shards})` : ''}`,
      `${fmt.int(r.maxReadableLength)} (≤ ${fmt.int(r.highWaterMark)})`,
      fmt.int(r.maxHeldRecords),
      fmt.int(r.boundRecords),
      mib(r.boundBytes),
      `${fmt.f1(r.liveMaxMiB)} (${mib(r.allowedBytes)})`,
      `${fmt.f1(r.liveFirstHalfFloorMiB)} / ${fmt.f1(r.liveSecondHalfFloorMiB)}`,
      r.retainedBytesPerHeldRecord === null ? '–' : fmt.int(r.retainedBytesPerHeldRecord),
      fmt.f1(r.peakGrowthMiB),
      fmt.int(r.unboundedHeldRecords),
    ]),
  );
}

function readerMarkdown(b: ReaderBench): string[] {
  const stubCpu = b.summaries.map((s) => `${s.recordBytes} B/${s.shards} ${s.mode}: ${fmt.f2(s.stubCpuUsPerRecord.median)}`).join(', ');
  const failing = b.ratios.filter((r) => !r.cpuOk || !r.throughputOk);
  const stalled = b.stalls.find((s) => s.mode === 'stalled');
  const d = READABLE_DEFAULTS;
  const o = b.overhead;
  const f = (x: { median: number; min: number }) => `${fmt.f2(x.median)} (min ${fmt.f2(x.min)})`;
  const raw100 = b.summaries.find((s) => s.mode === 'raw-read' && s.recordBytes === READ_OVERHEAD.recordBytes);
  const out = [
    '## Reader vs raw SDK loop',
    '',
    '- The stub serves in-memory streams (benchmarks/stub-read.ts): every shard open, all records there from the start,',
    '  GetRecords answers serialised once and cached (primed before the runs), `MillisBehindLatest` > 0 until a page',
    '  reaches the end of its shard. Each run reads the whole stream from TRIM_HORIZON after a warm-up of 10% of it.',
    '- **raw-read**: `KinesisClient` from `createKinesisClient`, ListShards, one TRIM_HORIZON GetShardIterator per shard,',
    '  then per shard GetRecords (Limit 10000) back to back until MillisBehindLatest is 0, all shards concurrently;',
    "  no pacing (the stub has no limits). Each record's `Data.length` is read.",
    `- **reader**: \`createKinesisReadable({ streamName, endpoint, region, credentials, initialPosition: 'TRIM_HORIZON' })\``,
    `  with default options (maxRecordsPerCall ${d.maxRecordsPerCall}, highWaterMark ${d.highWaterMark}, pollIntervalMs ${d.pollIntervalMs}),`,
    "  consumed with a 'data' listener that reads each record's `data.length`, destroyed after the stream's last record.",
    "- Both must read exactly the stream's records and data bytes, or the benchmark fails. Client CPU, peak RSS and",
    '  repetitions (alternating raw/reader) as for the writer; "GetRecords" counts the calls the stub answered during',
    '  the measured run (the reader may make a few empty calls on shards it has finished while it still delivers).',
    `- The reader keeps the service limit of 5 GetRecords/s per shard (calls to a shard ≥ ${MIN_CALL_INTERVAL_MS} ms apart) and the raw loop`,
    `  does not, so a stream of S shards caps the reader at S × ${fmt.int(d.maxRecordsPerCall)} × 5 records/s. "Pacing floor" is the`,
    '  shortest possible reader run, (calls per shard − 1) × 200 ms; a reader wall time near it means the pacing, not',
    '  the client, set the pace ("reader limited by": within 25% of the floor → pacing, else client CPU). 16 shards',
    '  lift the cap far above what one core parses, so there CPU alone decides; 1 shard shows the cap alone.',
    `- Stub CPU per record served (median; not part of the client figures): ${stubCpu} µs.`,
    '',
    readMainTable(b.summaries),
    '',
    readRatioTable(b.ratios),
    '',
    `Targets (default options): client CPU per record ≤ ${TARGETS.cpuRatioMax}× raw, throughput ≥ ${TARGETS.throughputRatioMin}× raw — ` +
      (failing.length === 0
        ? '**PASS** on every row.'
        : `**FAIL** on ${failing
            .map(
              (r) =>
                `${r.recordBytes} B/${r.shards} shard${r.shards === 1 ? '' : 's'} (${[!r.cpuOk ? 'CPU' : '', !r.throughputOk ? `throughput, limited by ${r.limit}` : '']
                  .filter(Boolean)
                  .join(', ')})`,
            )
            .join('; ')}.`),
    'Ratios are of the medians; "per-rep ratios" pair each reader run with the raw run next to it.',
    '',
    '### Reader overhead without the SDK',
    '',
    'benchmarks/read-overhead.ts: the reader (default options, `client` option) against a fake client that answers at',
    `once from pre-built SDK-shaped pages (${READ_OVERHEAD.shards} shards × 10,000 records of ${READ_OVERHEAD.recordBytes} B, so the call pacing never applies),`,
    `${fmt.int(o.count)} records per run × ${READ_OVERHEAD.reps} runs, against a loop over the same pages; client CPU µs per record, median (min).`,
    'Steadier than the end-to-end figures: "reader − raw" is what the reader adds per record on top of the SDK.',
    '',
    markdownTable(['raw loop', 'reader', 'reader − raw (medians; minima)'], [[f(o.raw), f(o.reader), `${fmt.f2(o.overhead.median)}; ${fmt.f2(o.overhead.min)}`]]),
  ];
  if (raw100 !== undefined) {
    const budget = raw100.cpuUsPerRecord.median * (TARGETS.cpuRatioMax - 1);
    out.push(
      '',
      `With the SDK's own ${fmt.f2(raw100.cpuUsPerRecord.median)} µs per ${READ_OVERHEAD.recordBytes} B record (raw-read, ${raw100.shards} shard${raw100.shards === 1 ? '' : 's'}), ` +
        `the CPU target leaves the reader ${fmt.f2(budget)} µs per record; it uses ${fmt.f2(o.overhead.median)} µs here, before the extra garbage ` +
        'collection its batches cause end to end (they live until the consumer has read them, so more of them survive into the old generation).',
    );
  }
  out.push(
    '',
    '## Reader memory bound: stalled and slow consumers',
    '',
    `A reader of \`${readStreamName(STALL)}\` (${STALL.shards} shards × ${fmt.int(STALL.recordsPerShard)} records of ${STALL.recordBytes} B), in its own process`,
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
    '- Peak sampled growth (every 50 ms, no forced GC) includes garbage: the SDK turns every GetRecords answer into',
    '  several copies (body chunks, the joined body, its string, the parsed JSON, decoded Data) before any is collected.',
    '- The run fails when readableLength exceeds highWaterMark, held records exceed the bound, live memory exceeds',
    '  its allowance, or a stalled reader calls GetRecords more than once per shard. "Without backpressure" is what a',
    '  reader fetching at 5 calls/s per shard would hold by the end of the run.',
    '',
    stallTable(b.stalls),
  );
  if (stalled !== undefined) {
    out.push(
      '',
      `Stalled: after the first batch of every shard (${stalled.getRecords} GetRecords for ${stalled.shards} shards) the reader made no further call; ` +
        `it held ${fmt.int(stalled.maxHeldRecords)} records (${fmt.int(stalled.maxReadableLength)} in the Readable's buffer, the rest in ` +
        `shard batches waiting to be pushed) of the ${fmt.int(stalled.boundRecords)} allowed, and retained ${fmt.f1(stalled.retainedGrowthMiB ?? Number.NaN)} MiB at the end ` +
        `against ${fmt.f1(stalled.boundBytes / (1024 * 1024))} MiB of record data in the bound (${fmt.int(stalled.retainedBytesPerHeldRecord ?? Number.NaN)} bytes per held ` +
        `${stalled.recordBytes} B record, fixed costs included). Without backpressure it would have held ${fmt.int(stalled.unboundedHeldRecords)} records.`,
    );
  }
  return out;
}

// ---- KPL aggregation and peers ---------------------------------------------------------

interface PeerInstall {
  ok: boolean;
  detail: string;
}

/** The peers live in benchmarks/package.json: install them into benchmarks/node_modules when missing. */
function ensureBenchDependencies(): PeerInstall {
  const missing = ['aws-sdk', ...PEERS].filter((name) => !existsSync(path.join(BENCH_DIR, 'node_modules', name, 'package.json')));
  if (missing.length === 0) return { ok: true, detail: 'already installed' };
  log(`installing the benchmarks' own dependencies (missing: ${missing.join(', ')}): npm install --prefix benchmarks`);
  try {
    execFileSync('npm', ['install', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    return { ok: true, detail: `installed (${missing.join(', ')} were missing)` };
  } catch (error) {
    return { ok: false, detail: `npm install --prefix benchmarks failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

type AggWriteMode = 'raw' | 'agg-writer' | 'agg-writer-keys';
const AGG_WRITE_MODES: AggWriteMode[] = ['raw', 'agg-writer', 'agg-writer-keys'];

interface AggWriteBench {
  summaries: Array<Summary & { kinesisRecords: number; aggregates: number }>;
  ratios: Array<{ mode: AggWriteMode; throughput: number; pairedThroughput: Spread; cpuPerRecord: number; ok: boolean }>;
  runs: Array<Measured & { rep: number; kinesisRecords: number; aggregates: number }>;
}

/** One aggregation-section run: the stub must have received exactly the user records (and data bytes) sent. */
async function measureAgg(stub: Stub, mode: AggWriteMode, rep: number): Promise<Measured & { rep: number; kinesisRecords: number; aggregates: number }> {
  const c = AGG_WRITE;
  const before = await stub.stats();
  const result = await runCaseProcess(stub.endpoint, { mode, recordBytes: c.recordBytes, count: c.count, warmup: c.warmup });
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
  const stubCpuUs = after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
  return { ...result, stubCpuUsPerRecord: stubCpuUs / sent, rep, kinesisRecords: after.records - before.records, aggregates: after.aggregates - before.aggregates };
}

async function aggWriteBench(stub: Stub): Promise<AggWriteBench> {
  const c = AGG_WRITE;
  log(`\nKPL aggregation, writer: ${c.recordBytes} B records, ${fmt.int(c.count)} per run (+${fmt.int(c.warmup)} warm-up), ${c.shards}-shard stub, ${c.reps} rep(s)`);
  const byMode = new Map<AggWriteMode, Array<Measured & { rep: number; kinesisRecords: number; aggregates: number }>>(AGG_WRITE_MODES.map((m) => [m, []]));
  const runs: AggWriteBench['runs'] = [];
  for (let rep = 0; rep < c.reps; rep++) {
    for (let k = 0; k < AGG_WRITE_MODES.length; k++) {
      const mode = AGG_WRITE_MODES[(k + rep) % AGG_WRITE_MODES.length];
      const r = await measureAgg(stub, mode, rep);
      byMode.get(mode)!.push(r);
      runs.push(r);
      progress(`rep ${rep + 1} ${mode}`, r);
    }
  }
  const raw = byMode.get('raw')!;
  const rawSummary = summarize(raw);
  const summaries = AGG_WRITE_MODES.map((m) => {
    const list = byMode.get(m)!;
    return { ...summarize(list), kinesisRecords: spread(list.map((r) => r.kinesisRecords)).median, aggregates: spread(list.map((r) => r.aggregates)).median };
  });
  const ratioList = (['agg-writer', 'agg-writer-keys'] as const).map((mode) => {
    const list = byMode.get(mode)!;
    const summary = summarize(list);
    const throughput = summary.recordsPerSec.median / rawSummary.recordsPerSec.median;
    return {
      mode,
      throughput,
      pairedThroughput: spread(list.map((r, i) => r.recordsPerSec / raw[i].recordsPerSec)),
      cpuPerRecord: summary.cpuUsPerRecord.median / rawSummary.cpuUsPerRecord.median,
      ok: throughput >= AGG_TARGETS.writerThroughputMin,
    };
  });
  return { summaries, ratios: ratioList, runs };
}

function aggWriteTable(b: AggWriteBench): string {
  const main = markdownTable(
    ['mode', 'user records', 'Kinesis records stored (warm-up incl.)', 'wall ms', 'user records/s', 'client CPU µs/user record', 'peak RSS MiB', 'PutRecords'],
    b.summaries.map((s) => [
      s.mode === 'raw' ? 'raw SDK loop' : s.mode === 'agg-writer' ? 'writer, aggregation, random keys' : 'writer, aggregation, 1000 keys',
      fmt.int(s.records),
      fmt.int(s.kinesisRecords),
      cell(s.wallMs, fmt.int),
      cell(s.recordsPerSec, fmt.int),
      cell(s.cpuUsPerRecord, fmt.f2),
      cell(s.peakRssMiB, fmt.f1),
      fmt.int(s.requests),
    ]),
  );
  const ratios = markdownTable(
    ['mode', 'user records/s ÷ raw', 'target', 'per-rep ratios', 'CPU/user record ÷ raw'],
    b.ratios.map((r) => [
      r.mode === 'agg-writer' ? 'aggregation, random keys' : 'aggregation, 1000 keys',
      `**${fmt.f2(r.throughput)}** ${r.ok ? 'PASS' : 'FAIL'}`,
      `≥ ${AGG_TARGETS.writerThroughputMin}`,
      cell(r.pairedThroughput, fmt.f2),
      fmt.f2(r.cpuPerRecord),
    ]),
  );
  return `${main}\n\n${ratios}`;
}

interface AggReadBench {
  stream: string;
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

function aggReadStreamName(): string {
  const c = AGG_READ;
  return `agg-${c.shards}x${c.aggregatesPerShard}x${c.users}x${c.userBytes}`;
}

async function aggReadBench(stub: Stub, plain: ReaderBench): Promise<AggReadBench> {
  const c = AGG_READ;
  const stream = aggReadStreamName();
  const kinesisRecords = c.shards * c.aggregatesPerShard;
  const userRecords = kinesisRecords * c.users;
  log(`\nKPL aggregation, reader: ${stream} (${c.shards} shards × ${fmt.int(c.aggregatesPerShard)} aggregates × ${c.users} records of ${c.userBytes} B), ${c.reps} rep(s)`);
  await stub.prime(stream, READABLE_DEFAULTS.maxRecordsPerCall);
  const raw: ReadMeasured[] = [];
  const reader: ReadMeasured[] = [];
  const runs: ReadMeasured[] = [];
  for (let rep = 0; rep < c.reps; rep++) {
    const order = rep % 2 === 0 ? (['raw-read', 'reader'] as const) : (['reader', 'raw-read'] as const);
    for (const mode of order) {
      const expected = mode === 'reader' ? userRecords : kinesisRecords;
      const warmup = Math.round(expected / 10);
      const before = await stub.stats(stream);
      const result = await runJsonProcess<ReadCaseResult>(CASE_SCRIPT, ['--mode', mode, '--endpoint', stub.endpoint, '--stream', stream, '--warmup', String(warmup)]);
      const after = await stub.stats(stream);
      const served = after.readStreams[stream].recordsServed - (before.readStreams[stream]?.recordsServed ?? 0);
      if (result.records !== expected || result.recordsServed < kinesisRecords || served < kinesisRecords) {
        throw new Error(`LOST RECORDS in ${mode} ${stream}: read ${result.records} of ${expected}, the stub served ${result.recordsServed} Kinesis records in the measured run`);
      }
      const stubCpuUs = after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
      const r: ReadMeasured = { ...result, stubCpuUsPerRecord: stubCpuUs / served, rep };
      (mode === 'raw-read' ? raw : reader).push(r);
      runs.push(r);
      readProgress(`rep ${rep + 1} ${mode}${mode === 'reader' ? ' (user records)' : ' (Kinesis records)'}`, r);
    }
  }
  const rawSummary = { ...summarize(raw), shards: c.shards, userRecords: kinesisRecords };
  const readerSummary = { ...summarize(reader), shards: c.shards, userRecords };
  const reference = plain.summaries.find((s) => s.mode === 'raw-read' && s.recordBytes === c.userBytes && s.shards === c.shards);
  const referenceRuns = plain.runs.filter((r) => r.mode === 'raw-read' && r.recordBytes === c.userBytes && r.shards === c.shards);
  const refRate = reference?.recordsPerSec.median ?? Number.NaN;
  const throughput = readerSummary.recordsPerSec.median / refRate;
  return {
    stream,
    summaries: [rawSummary, readerSummary],
    throughput,
    pairedThroughput: spread(reader.map((r, i) => r.recordsPerSec / (referenceRuns[i] ?? referenceRuns[0]).recordsPerSec)),
    overAggregatedRaw: readerSummary.recordsPerSec.median / rawSummary.recordsPerSec.median,
    rawReference:
      reference === undefined
        ? undefined
        : { stream: readStreamName({ shards: reference.shards, recordsPerShard: reference.records / reference.shards, recordBytes: reference.recordBytes }), recordsPerSec: refRate, cpuUsPerRecord: reference.cpuUsPerRecord.median },
    ok: throughput >= AGG_TARGETS.readerThroughputMin,
    runs,
  };
}

function aggReadTable(b: AggReadBench): string {
  const rows = b.summaries.map((s) => [
    s.mode === 'raw-read' ? 'raw GetRecords loop (no de-aggregation)' : 'reader, deaggregate (default)',
    s.mode === 'raw-read' ? 'Kinesis records' : 'user records',
    fmt.int(s.records),
    cell(s.wallMs, fmt.int),
    cell(s.recordsPerSec, fmt.int),
    cell(s.cpuUsPerRecord, fmt.f2),
    cell(s.peakRssMiB, fmt.f1),
    fmt.int(s.requests),
  ]);
  if (b.rawReference !== undefined) {
    rows.push([`raw GetRecords loop, plain stream ${b.rawReference.stream} (reference)`, 'records', '–', '–', fmt.int(b.rawReference.recordsPerSec), fmt.f2(b.rawReference.cpuUsPerRecord), '–', '–']);
  }
  const main = markdownTable(['mode', 'counts', 'records', 'wall ms', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'GetRecords'], rows);
  const ratio = markdownTable(
    ['reader user records/s ÷ raw-read records/s (plain 100 B stream)', 'target', 'per-rep ratios', 'reader user records/s ÷ raw-read Kinesis records/s (same aggregated stream)'],
    [[`**${fmt.f2(b.throughput)}** ${b.ok ? 'PASS' : 'FAIL'}`, `≥ ${AGG_TARGETS.readerThroughputMin}`, cell(b.pairedThroughput, fmt.f2), fmt.f1(b.overAggregatedRaw)]],
  );
  return `${main}\n\n${ratio}`;
}

function aggregationMarkdown(w: AggWriteBench | undefined, r: AggReadBench | undefined): string[] {
  const out = ['## KPL aggregation', ''];
  if (w !== undefined) {
    out.push(
      '### Aggregating writer vs raw SDK loop',
      '',
      `- ${fmt.int(AGG_WRITE.count)} records of ${AGG_WRITE.recordBytes} B per run (+${fmt.int(AGG_WRITE.warmup)} warm-up), ${AGG_WRITE.reps} runs per mode, the order rotating each repetition,`,
      `  against a stub of ${AGG_WRITE.shards} shards (even hash key ranges in ListShards; PutRecords answers each entry with the shard its`,
      '  ExplicitHashKey or partition key MD5 falls on, so the writer sees no misplaced aggregate) that decodes every entry with',
      "  the library's `deaggregateRecord` and counts the user records inside: after every run it must have received exactly the",
      '  user records and user data bytes sent (and no corrupt aggregate), or the benchmark fails.',
      '- **raw**: the raw loop of the main table (PutRecords of 500 plain records, 8 in flight, random keys).',
      '- **writer, aggregation, random keys**: `createKinesisWritable({ …, aggregation: true })` with default options and no',
      '  partitionKey (the writer gives each aggregate one random key). **1000 keys**: the same with `partitionKey: item => key`',
      '  (a Map lookup; 1000 distinct keys), so aggregates are packed per shard from the ListShards map.',
      '- records/s and CPU are per **user** record; "Kinesis records" is what the stub stored (aggregates).',
      '',
      aggWriteTable(w),
      '',
      `Target: aggregated writer user records/s ≥ ${AGG_TARGETS.writerThroughputMin}× the raw loop's records/s — **${w.ratios.every((x) => x.ok) ? 'PASS' : 'FAIL'}**.`,
      '',
    );
  }
  if (r !== undefined) {
    out.push(
      '### De-aggregating reader vs raw SDK loop',
      '',
      `- Stub stream \`${r.stream}\`: ${AGG_READ.shards} shards × ${fmt.int(AGG_READ.aggregatesPerShard)} Kinesis records, each a KPL aggregate (built with the library's`,
      `  \`aggregate()\`) of ${AGG_READ.users} user records of ${AGG_READ.userBytes} B with distinct 10-character partition keys. GetRecords answers stop`,
      '  at 10 MiB of data, as Kinesis does.',
      '- **reader**: `createKinesisReadable` with default options (`deaggregate` true), counting the **user** records it',
      '  delivers (each one checked: count and data bytes). **raw**: the raw GetRecords loop of the reader table over the same',
      '  stream, counting Kinesis records (it does not de-aggregate, so its user records/s are its Kinesis records/s).',
      `- Target: reader user records/s ≥ ${AGG_TARGETS.readerThroughputMin}× the raw loop's records/s on the plain 100 B stream of the reader table (same run).`,
      '',
      aggReadTable(r),
      '',
      `Target — **${r.ok ? 'PASS' : 'FAIL'}**.`,
      '',
    );
  }
  return out;
}

interface PeerSummary {
  peer: Peer;
  version: string;
  runs: number;
  records: number;
  stored: { min: number; max: number };
  recordsPerSec: Spread;
  cpuUsPerRecord: Spread;
  peakRssMiB: Spread;
  requests: number;
  errors: string[];
}

interface PeerBench {
  install: PeerInstall;
  summaries: PeerSummary[];
  failures: Array<{ peer: Peer; error: string }>;
  runs: PeerResult[];
}

async function peerBench(stub: Stub, install: PeerInstall): Promise<PeerBench> {
  const c = PEER_BENCH;
  const bench: PeerBench = { install, summaries: [], failures: [], runs: [] };
  if (!install.ok) {
    log(`\nPeers skipped: ${install.detail}`);
    for (const peer of PEERS) bench.failures.push({ peer, error: install.detail });
    return bench;
  }
  log(`\nPeers: ${fmt.int(c.count)} records of 100 B (+${fmt.int(c.warmup)} warm-up), ${c.reps} rep(s), main stub`);
  for (const peer of PEERS) {
    const runs: PeerResult[] = [];
    try {
      for (let rep = 0; rep < c.reps; rep++) {
        const before = await stub.stats();
        const r = await runJsonProcess<PeerResult>(PEER_SCRIPT, ['--peer', peer, '--endpoint', stub.endpoint, '--count', String(c.count), '--warmup', String(c.warmup)]);
        const after = await stub.stats();
        const stored = after.records - before.records;
        if (stored < r.stored) throw new Error(`${peer}: the peer's count of stored records (${r.stored}) exceeds the stub's (${stored})`);
        runs.push(r);
        log(
          `  ${`${peer} ${r.version} rep ${rep + 1}`.padEnd(44)} ${fmt.int(r.recordsPerSec).padStart(8)} rec/s  ${fmt.f2(r.cpuUsPerRecord).padStart(6)} µs/rec  ` +
            `${fmt.f1(r.peakRssMiB).padStart(6)} MiB  stored ${fmt.int(r.stored)}/${fmt.int(r.records)}${r.error === null ? '' : `  error: ${r.error}`}`,
        );
      }
    } catch (error) {
      const message = withoutSdkNotice(error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ');
      bench.failures.push({ peer, error: message });
      log(`  ${peer}: FAILED ${message}`);
    }
    if (runs.length === 0) continue;
    bench.runs.push(...runs);
    bench.summaries.push({
      peer,
      version: runs[0].version,
      runs: runs.length,
      records: runs[0].records,
      stored: { min: Math.min(...runs.map((r) => r.stored)), max: Math.max(...runs.map((r) => r.stored)) },
      recordsPerSec: spread(runs.map((r) => r.recordsPerSec)),
      cpuUsPerRecord: spread(runs.map((r) => r.cpuUsPerRecord)),
      peakRssMiB: spread(runs.map((r) => r.peakRssMiB)),
      requests: spread(runs.map((r) => r.requests)).median,
      errors: [...new Set(runs.map((r) => r.error).filter((e): e is string => e !== null))],
    });
  }
  return bench;
}

function peerTable(b: PeerBench, summaries: Summary[] = []): string {
  const raw = summaries.find((s) => s.mode === 'raw' && s.recordBytes === 100);
  const writer = summaries.find((s) => s.mode === 'writer' && s.recordBytes === 100);
  const rows: string[][] = [];
  const ours = (label: string, s: Summary) => [label, '', fmt.int(s.records), `${fmt.int(s.records)} (all)`, cell(s.recordsPerSec, fmt.int), cell(s.cpuUsPerRecord, fmt.f2), cell(s.peakRssMiB, fmt.f1), fmt.int(s.requests), '–'];
  if (raw !== undefined) rows.push(ours('raw AWS SDK v3 loop (main table)', raw));
  if (writer !== undefined) rows.push(ours('kinesis-node-streams writer (main table)', writer));
  for (const s of b.summaries) {
    const stored = s.stored.min === s.stored.max ? fmt.int(s.stored.min) : `${fmt.int(s.stored.min)}–${fmt.int(s.stored.max)}`;
    rows.push([
      s.peer,
      s.version,
      fmt.int(s.records),
      `${stored}${s.stored.min === s.records && s.stored.max === s.records ? ' (all)' : ' (LOST RECORDS)'}`,
      cell(s.recordsPerSec, fmt.int),
      cell(s.cpuUsPerRecord, fmt.f2),
      cell(s.peakRssMiB, fmt.f1),
      fmt.int(s.requests),
      s.errors.length === 0 ? '–' : s.errors.join('; '),
    ]);
  }
  for (const f of b.failures) rows.push([f.peer, '', '–', '–', '–', '–', '–', '–', `did not run: ${f.error}`]);
  return markdownTable(['library', 'version', 'records', 'stored (stub count)', 'records/s', 'client CPU µs/record', 'peak RSS MiB', 'PutRecords', 'errors'], rows);
}

function peerMarkdown(b: PeerBench, summaries: Summary[]): string[] {
  return [
    '## Peer libraries (writer, 100 B records)',
    '',
    '- benchmarks/package.json holds the peers (and the AWS SDK v2 they use); `npm run bench` installs them into',
    `  benchmarks/node_modules when missing (${b.install.detail}). Each run is a fresh process (benchmarks/peer-case.ts)`,
    `  writing ${fmt.int(PEER_BENCH.count)} records (+${fmt.int(PEER_BENCH.warmup)} warm-up) of 100 B (an object whose JSON is 100 B: every peer JSON-encodes its input)`,
    '  with random 10-character partition keys to the main stub, through the AWS SDK v2 pointed at it (`endpoint`, http).',
    '- **aws-kinesis-writable**: its Writable, `buffer: { length: 500, timeout: 0.05 }`. Its `_write` never waits for a request',
    "  (no backpressure: every batch is sent at once) and it has no `_final`, so 'finish' does not mean delivered; it ignores",
    '  `FailedRecordCount` (partially failed batches are lost silently).',
    '- **kinesis-streams**: its Writable (`highWaterMark: 500`, `wait: 50`), `getPartitionKey` overridden; one PutRecords at a time.',
    '- **lifion-kinesis**: a client, not a Writable: `putRecords({ records })` of 500, 8 in flight (as the raw loop), `createStreamIfNeeded: false`',
    '  (it checks the stream with DescribeStream, which the stub answers).',
    '- Records stored are counted by the stub; the run ends when the last record arrived (the peer-case polls the stub).',
    `  Cells: median (min–max) of ${PEER_BENCH.reps} runs. The first two rows are this run's main table (200,000 records, Buffers, SDK v3).`,
    '',
    peerTable(b, summaries),
  ];
}

/** The chart's bars: writer and reader sides, raw / library / peers. */
function chartOf(summaries: Summary[], aggWrite: AggWriteBench | undefined, peers: PeerBench | undefined, reader: ReaderBench | undefined, aggRead: AggReadBench | undefined): string {
  const bars: ChartBar[] = [];
  const bar = (group: string, label: string, kind: ChartBar['kind'], s: { recordsPerSec: Spread; cpuUsPerRecord: Spread }) =>
    bars.push({ group, label, kind, recordsPerSec: s.recordsPerSec, cpuUsPerRecord: s.cpuUsPerRecord.median });
  const write = 'Write, 100 B records';
  const raw = summaries.find((s) => s.mode === 'raw' && s.recordBytes === 100);
  const writer = summaries.find((s) => s.mode === 'writer' && s.recordBytes === 100);
  if (raw !== undefined) bar(write, 'raw SDK v3 PutRecords loop', 'raw', raw);
  if (writer !== undefined) bar(write, 'writer', 'library', writer);
  for (const s of aggWrite?.summaries ?? []) {
    if (s.mode === 'agg-writer') bar(write, 'writer, aggregation (random keys)', 'library', s);
    if (s.mode === 'agg-writer-keys') bar(write, 'writer, aggregation (1000 keys)', 'library', s);
  }
  for (const p of peers?.summaries ?? []) bar(write, `${p.peer} ${p.version}`, 'peer', p);
  const read = 'Read, 100 B records, 4 shards';
  const rawRead = reader?.summaries.find((s) => s.mode === 'raw-read' && s.recordBytes === 100 && s.shards === 4);
  const plainReader = reader?.summaries.find((s) => s.mode === 'reader' && s.recordBytes === 100 && s.shards === 4);
  if (rawRead !== undefined) bar(read, 'raw SDK v3 GetRecords loop', 'raw', rawRead);
  if (plainReader !== undefined) bar(read, 'reader', 'library', plainReader);
  const aggRaw = aggRead?.summaries.find((s) => s.mode === 'raw-read');
  const aggReader = aggRead?.summaries.find((s) => s.mode === 'reader');
  if (aggRaw !== undefined) bar(read, `raw loop, aggregated stream (Kinesis rec.)`, 'raw', aggRaw);
  if (aggReader !== undefined) bar(read, `reader, de-aggregating (user records)`, 'library', aggReader);
  const m = os.cpus()[0]?.model ?? 'unknown CPU';
  return renderChart(bars, 'kinesis-node-streams benchmark (npm run bench)', `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.cpus().length} × ${m}; stub Kinesis server on localhost`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nBENCHMARK FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
