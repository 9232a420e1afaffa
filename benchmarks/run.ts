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
 * Options: --reps N (5), --quick (smaller counts, fewer reps, for a smoke test),
 * --no-extras (skip the writer's option sweeps and the failure check), --no-write (print
 * only), --only writer|reader (one side only; with --no-write, for work on one side).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { READABLE_DEFAULTS, WRITABLE_DEFAULTS } from '../lib/limits.js';
import type { CaseResult, Mode, WriteMode } from './bench-case.js';
import { FIXED_SLACK_BYTES, PARSE_COPIES, RECORD_OBJECT_ALLOWANCE_BYTES, type ReadCaseResult, type StallResult } from './read-case.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const STUB_SCRIPT = fileURLToPath(new URL('./stub-server.ts', import.meta.url));
const OVERHEAD_SCRIPT = fileURLToPath(new URL('./overhead.ts', import.meta.url));
const READ_OVERHEAD_SCRIPT = fileURLToPath(new URL('./read-overhead.ts', import.meta.url));
const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const RESULTS_JSON = fileURLToPath(new URL('./results.json', import.meta.url));
/** The writer's random partition keys are 10 characters; the raw loop uses the same function. */
const PARTITION_KEY_BYTES = 10;
const TARGETS = { cpuRatioMax: 1.15, throughputRatioMin: 0.9 };

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
const reps = cli.reps !== undefined ? Number(cli.reps) : quick ? 2 : 5;
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
  reps: quick ? 1 : 2,
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

    let reader: ReaderBench | undefined;
    if (runReader) {
      const readStub = await startStub();
      stubs.push(readStub);
      reader = await readerBench(readStub);
    }

    const elapsedS = (performance.now() - started) / 1000;
    machine.loadAvg1mEnd = Number(os.loadavg()[0].toFixed(2));
    const passed = ratioList.every((r) => r.cpuOk && r.throughputOk);
    const readerPassed = reader === undefined ? undefined : reader.ratios.every((r) => r.cpuOk && r.throughputOk);
    const report = renderMarkdown({ machine, summaries, ratioList, sweepResult, latencyResult, pacedRuns, failCheck, overhead, reader, elapsedS, passed });
    process.stdout.write(`\n${mainTable(summaries)}\n\n${ratioTable(ratioList)}\n`);
    if (sweepResult !== undefined) process.stdout.write(`\nOption sweep (writer, ${SWEEP.recordBytes} B):\n${sweepTable(sweepResult.rows)}\n`);
    if (latencyResult !== undefined) {
      process.stdout.write(`\nWith ${LATENCY_SWEEP.latencyMs} ms stub latency:\n${sweepTable(latencyResult.rows)}\n`);
    }
    if (reader !== undefined) {
      process.stdout.write(`\nReader vs raw GetRecords loop:\n${readMainTable(reader.summaries)}\n\n${readRatioTable(reader.ratios)}\n`);
      process.stdout.write(`\nMemory bound (${STALL.recordBytes} B records, ${STALL.shards} shards):\n${stallTable(reader.stalls)}\n`);
    }
    process.stdout.write(`\nWriter vs raw targets: ${runWriter ? (passed ? 'PASS' : 'FAIL') : 'not run'}`);
    process.stdout.write(`; reader vs raw targets: ${readerPassed === undefined ? 'not run' : readerPassed ? 'PASS' : 'FAIL'}`);
    process.stdout.write(`${reader === undefined ? '' : '; reader memory bound: PASS'} (${elapsedS.toFixed(0)} s)\n`);
    if (cli['no-write'] !== true) {
      await writeFile(RESULTS_MD, report);
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
        elapsedSeconds: elapsedS,
      };
      await writeFile(RESULTS_JSON, JSON.stringify(json, null, 2) + '\n');
      log(`wrote ${RESULTS_MD} and ${RESULTS_JSON}`);
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
}): string {
  const m = r.machine;
  const stubCpu = r.summaries.map((s) => `${s.recordBytes} B ${s.mode}: ${fmt.f2(s.stubCpuUsPerRecord.median)}`).join(', ');
  const out: string[] = [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (benchmarks/run.ts). Do not edit by hand.',
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

main().catch((error: unknown) => {
  process.stderr.write(`\nBENCHMARK FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
