/**
 * `npm run bench`: the writer (createKinesisWritable, default options) against a raw AWS
 * SDK v3 PutRecords loop, both writing to a stub Kinesis server in its own process.
 *
 * Every measured run is a fresh process (benchmarks/bench-case.ts), so its CPU time and
 * peak RSS are its own; repetitions alternate raw/writer to cancel drift. After each run
 * the stub's counters must have grown by exactly the records (and bytes) sent, or the
 * benchmark fails. Writes benchmarks/RESULTS.md and benchmarks/results.json.
 *
 * Options: --reps N (5), --quick (smaller counts, fewer reps, for a smoke test),
 * --no-extras (skip the option sweeps and the failure check), --no-write (print only).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WRITABLE_DEFAULTS } from '../lib/limits.js';
import type { CaseResult, Mode } from './bench-case.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const STUB_SCRIPT = fileURLToPath(new URL('./stub-server.ts', import.meta.url));
const OVERHEAD_SCRIPT = fileURLToPath(new URL('./overhead.ts', import.meta.url));
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
  },
});
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
  reps: quick ? 1 : 3,
  maxInFlight: [4, 8, 16],
  lingerMs: [0, 20, 50],
};
/** The same maxInFlight values against a stub that answers after this round trip. */
const LATENCY_SWEEP = { latencyMs: 20, count: 100_000 * scale, warmup: 10_000 * scale, reps: quick ? 1 : 2 };
/** A source slower than the writer, where lingerMs decides the batch size. */
const PACED = { rate: 5_000, count: 10_000 * scale, lingerMs: [0, 20, 50] };
const FAIL_CHECK = { failRate: 0.1, count: 20_000 * scale };
const OVERHEAD = { count: 200_000 * scale, reps: quick ? 3 : 5 };

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
}

interface Stub {
  endpoint: string;
  stats(): Promise<StubStats>;
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
    async stats() {
      const response = await fetch(`${endpoint}/stats`);
      if (!response.ok) throw new Error(`stub /stats answered ${response.status}`);
      return (await response.json()) as StubStats;
    },
    close() {
      if (child.connected) child.disconnect();
      child.kill();
    },
  };
}

interface CaseArgs {
  mode: Mode;
  recordBytes: number;
  count: number;
  warmup: number;
  maxInFlight?: number;
  lingerMs?: number;
  rate?: number;
}

/** Runs a TypeScript script in a fresh process; its last stdout line is its JSON result. */
async function runJsonProcess<R>(script: string, scriptArgs: string[]): Promise<R> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...scriptArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${path.basename(script)} ${scriptArgs.join(' ')} failed (exit ${code}):\n${stderr.trim()}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as R;
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

function summarize(results: Measured[]): Summary {
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

function ratios(raw: Measured[], writer: Measured[], rawSummary: Summary, writerSummary: Summary): Ratio {
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
    for (const size of SIZES) {
      log(`\n${size.recordBytes} B records, ${fmt.int(size.count)} per run (+${fmt.int(size.warmup)} warm-up)`);
      const raw: Measured[] = [];
      const writer: Measured[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const order: Mode[] = rep % 2 === 0 ? ['raw', 'writer'] : ['writer', 'raw'];
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
    if (cli['no-extras'] !== true) {
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

    const elapsedS = (performance.now() - started) / 1000;
    const passed = ratioList.every((r) => r.cpuOk && r.throughputOk);
    const report = renderMarkdown({ machine, summaries, ratioList, sweepResult, latencyResult, pacedRuns, failCheck, overhead, elapsedS, passed });
    process.stdout.write(`\n${mainTable(summaries)}\n\n${ratioTable(ratioList)}\n`);
    if (sweepResult !== undefined) process.stdout.write(`\nOption sweep (writer, ${SWEEP.recordBytes} B):\n${sweepTable(sweepResult.rows)}\n`);
    if (latencyResult !== undefined) {
      process.stdout.write(`\nWith ${LATENCY_SWEEP.latencyMs} ms stub latency:\n${sweepTable(latencyResult.rows)}\n`);
    }
    process.stdout.write(`\nWriter vs raw targets: ${passed ? 'PASS' : 'FAIL'} (${elapsedS.toFixed(0)} s)\n`);
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
        },
        targets: TARGETS,
        passed,
        summaries,
        ratios: ratioList,
        sweep: sweepResult?.rows,
        latencySweep: latencyResult?.rows,
        paced: pacedRuns,
        failCheck,
        overhead,
        runs: allRuns,
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
    `- CPU: ${m.cpuCount} × ${m.cpuModel} (available parallelism ${m.availableParallelism}); load average at start ${m.loadAvg1m}`,
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
  out.push('', `Total benchmark time: ${r.elapsedS.toFixed(0)} s.`, '');
  return out.join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`\nBENCHMARK FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
