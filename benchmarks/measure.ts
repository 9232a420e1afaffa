/**
 * What every benchmark measures the same way: the stub's client settings, one measured run
 * (wall time, CPU, peak RSS), child processes that print a JSON result, the stub server as a
 * child process, and the statistics of repeated runs (median and range, ratios, the
 * alternating order of repetitions). The case scripts (bench-case.ts, read-case.ts,
 * peer-case.ts) and the orchestrator (run.ts and its *-bench.ts sections) share it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The stub accepts any signature: these only need to exist. */
export const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
export const REGION = 'us-east-1';
export const MiB = 1024 * 1024;
/** The writers' random partition keys are 10 characters (randomPartitionKey); the stub's read streams use 10-character keys too. */
export const PARTITION_KEY_BYTES = 10;

export function log(message: string): void {
  process.stderr.write(message + '\n');
}

// ---- one measured run (inside a case process) --------------------------------------------

export interface Sampled<T> {
  value: T;
  /** performance.now() when the run began. */
  startedAt: number;
  wallMs: number;
  /** Process CPU (user + system) over the run, µs. */
  cpuUs: number;
  /** Highest RSS sampled every 50 ms (and at both ends), MiB. */
  peakRssMiB: number;
  startRssMiB: number;
}

/** What every case process reports of its measured run. */
export interface RunFigures {
  wallMs: number;
  recordsPerSec: number;
  /** Client process CPU (user + system) over the measured run, in µs. */
  cpuUs: number;
  cpuUsPerRecord: number;
  /** Highest RSS sampled every 50 ms during the measured run, in MiB. */
  peakRssMiB: number;
  /** RSS just before the measured run, in MiB. */
  startRssMiB: number;
}

/** A sampled run's figures per record, for `records` records in its wall time. */
export function figures(run: Sampled<unknown>, records: number): RunFigures {
  return {
    wallMs: run.wallMs,
    recordsPerSec: records / (run.wallMs / 1000),
    cpuUs: run.cpuUs,
    cpuUsPerRecord: run.cpuUs / records,
    peakRssMiB: run.peakRssMiB,
    startRssMiB: run.startRssMiB,
  };
}

/** Runs `run` once, measuring its wall time, this process's CPU and its peak RSS. */
export async function sampleRun<T>(run: () => Promise<T>): Promise<Sampled<T>> {
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  try {
    const value = await run();
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpu0);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    return { value, startedAt, wallMs, cpuUs: cpu.user + cpu.system, peakRssMiB: peakRss / MiB, startRssMiB: startRss / MiB };
  } finally {
    clearInterval(sampler);
  }
}

/** CPU µs per record of each of `reps` runs of `run` (which handles `records` records) in this process: in-process profiles. */
export async function cpuPerRecordRuns(run: () => Promise<unknown>, reps: number, records: number): Promise<number[]> {
  const perRecord: number[] = [];
  for (let r = 0; r < reps; r++) {
    const cpu0 = process.cpuUsage();
    await run();
    const cpu = process.cpuUsage(cpu0);
    perRecord.push((cpu.user + cpu.system) / records);
  }
  return perRecord;
}

// ---- child processes (in the orchestrator) ----------------------------------------------

/**
 * Runs a TypeScript script in a fresh process; its last stdout line is its JSON result. Other
 * exit codes than `acceptExitCodes` throw (a case that reports a violation with its result exits 2).
 */
export async function runJsonProcess<R>(script: string, scriptArgs: string[], nodeFlags: string[] = [], acceptExitCodes: number[] = [0]): Promise<R> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...scriptArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code === null || !acceptExitCodes.includes(code)) throw new Error(`${path.basename(script)} ${scriptArgs.join(' ')} failed (exit ${code}):\n${withoutSdkNotice(stderr).trim()}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as R;
}

/** stderr without the AWS SDK's Node-version notice, which every process prints. */
export function withoutSdkNotice(stderr: string): string {
  return stderr.replace(/\(node:\d+\) NodeVersionSupportWarning:[\s\S]*?--trace-warnings \.\.\.` to show where the warning was created\)\n?/g, '');
}

// ---- the stub server --------------------------------------------------------------------

const STUB_SCRIPT = fileURLToPath(new URL('./stub-server.ts', import.meta.url));

export interface StubReadCounters {
  getRecords: number;
  emptyGetRecords: number;
  recordsServed: number;
  dataBytesServed: number;
  pagesBuilt: number;
}

export interface StubStats {
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
  readStreams: Record<string, StubReadCounters>;
}

export interface Stub {
  endpoint: string;
  stats(stream?: string): Promise<StubStats>;
  /** Builds the stub's GetRecords answers for reads of `stream` from TRIM_HORIZON in steps of `limit`. */
  prime(stream: string, limit: number): Promise<void>;
  close(): void;
}

/** GET /stats of a stub (from any process that knows its endpoint). */
export async function stubStats(endpoint: string, stream?: string): Promise<StubStats> {
  const response = await fetch(`${endpoint}/stats${stream === undefined ? '' : `?stream=${encodeURIComponent(stream)}`}`);
  if (!response.ok) throw new Error(`stub /stats answered ${response.status}`);
  return (await response.json()) as StubStats;
}

/** The read counters of one stub read stream (zeros before its first read). */
export async function stubReadCounters(endpoint: string, stream: string): Promise<StubReadCounters> {
  const stats = await stubStats(endpoint, stream);
  return stats.readStreams[stream] ?? { getRecords: 0, emptyGetRecords: 0, recordsServed: 0, dataBytesServed: 0, pagesBuilt: 0 };
}

/** Stub CPU µs between two /stats answers. */
export function stubCpuUs(before: StubStats, after: StubStats): number {
  return after.cpuUserUs + after.cpuSystemUs - (before.cpuUserUs + before.cpuSystemUs);
}

/** Starts benchmarks/stub-server.ts in a child process and waits for its port. */
export async function startStub(args: string[] = []): Promise<Stub> {
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
    stats: (stream?: string) => stubStats(endpoint, stream),
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

// ---- statistics of repeated runs ------------------------------------------------------

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function median(values: number[]): number {
  return spread(values).median;
}

/** What summarize() needs of a run: a writer case, a reader case or a peer's. */
export interface Run {
  mode: string;
  recordBytes: number;
  records: number;
  wallMs: number;
  recordsPerSec: number;
  cpuUsPerRecord: number;
  peakRssMiB: number;
  requests: number;
  stubCpuUsPerRecord: number;
}

export interface Summary<M extends string = string> {
  mode: M;
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

export function summarize<R extends Run>(results: R[]): Summary<R['mode']> {
  const first = results[0];
  const of = (pick: (r: R) => number) => spread(results.map(pick));
  return {
    mode: first.mode,
    recordBytes: first.recordBytes,
    records: first.records,
    runs: results.length,
    wallMs: of((r) => r.wallMs),
    recordsPerSec: of((r) => r.recordsPerSec),
    cpuUsPerRecord: of((r) => r.cpuUsPerRecord),
    peakRssMiB: of((r) => r.peakRssMiB),
    requests: of((r) => r.requests).median,
    stubCpuUsPerRecord: of((r) => r.stubCpuUsPerRecord),
  };
}

/** A candidate against a baseline: ratios of the medians, and of each repetition's pair. */
export interface Ratio {
  recordBytes: number;
  /** candidate / baseline of the medians. */
  cpuPerRecord: number;
  throughput: number;
  /** Medians and ranges of the per-repetition ratios (adjacent runs share the machine's mood). */
  pairedCpuPerRecord: Spread;
  pairedThroughput: Spread;
}

export function ratios(baseline: Run[], candidate: Run[]): Ratio {
  const b = summarize(baseline);
  const c = summarize(candidate);
  return {
    recordBytes: b.recordBytes,
    cpuPerRecord: c.cpuUsPerRecord.median / b.cpuUsPerRecord.median,
    throughput: c.recordsPerSec.median / b.recordsPerSec.median,
    pairedCpuPerRecord: spread(candidate.map((r, i) => r.cpuUsPerRecord / (baseline[i] ?? baseline[0]).cpuUsPerRecord)),
    pairedThroughput: spread(candidate.map((r, i) => r.recordsPerSec / (baseline[i] ?? baseline[0]).recordsPerSec)),
  };
}

/**
 * `reps` repetitions of every mode, the order rotating by `step` each repetition (with two
 * modes: raw/candidate, then candidate/raw), so drift in the machine's speed falls on every
 * mode alike. Returns each mode's runs in repetition order.
 */
export async function alternate<M extends string, R>(
  modes: readonly M[],
  reps: number,
  run: (mode: M, rep: number) => Promise<R>,
  step = 1,
): Promise<Map<M, R[]>> {
  const byMode = new Map<M, R[]>(modes.map((m) => [m, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(k + rep * step) % modes.length];
      byMode.get(mode)!.push(await run(mode, rep));
    }
  }
  return byMode;
}

/** What the orchestrator's options decide for every section. */
export interface BenchConfig {
  /** Repetitions of the main writer and reader tables (≥ 5 for the targets; --quick may use fewer). */
  reps: number;
  quick: boolean;
  /** Record counts are multiplied by this (0.25 with --quick). */
  scale: number;
  /** Option sweeps, the failure check, the overhead profiles and the separate sections (not with --no-extras). */
  extras: boolean;
}
