/**
 * `npm run bench`: the writer (createKinesisWritable, default options) against a raw AWS
 * SDK v3 PutRecords loop, and the reader (createKinesisReadable, default options) against a
 * raw GetRecords loop, all talking to a stub Kinesis server in its own process; then the
 * reader's memory bound with stalled and slow consumers, KPL aggregation on both sides, and
 * peer libraries. Writes benchmarks/RESULTS.md, benchmarks/results.json and
 * benchmarks/chart.svg (benchmarks/chart.ts), then (with extras) the metrics-overhead,
 * per-shard-limits and wire sections of RESULTS.md (benchmarks/metrics-case.ts,
 * limits-case.ts, wire-case.ts).
 *
 * This file only orchestrates; each concept owns its measurement loop, checks and tables:
 * - benchmarks/writer-bench.ts: writer vs raw (main table, targets), option sweeps, paced
 *   source, partial failures, overhead without the SDK;
 * - benchmarks/reader-bench.ts: reader vs raw with each case's pacing floor (5 calls/s and
 *   2 MiB/s per shard), overhead without the SDK, memory bound (plain and aggregated);
 * - benchmarks/aggregation-bench.ts: aggregating writer and de-aggregating reader;
 * - benchmarks/peer-bench.ts: peer libraries;
 * - benchmarks/measure.ts (processes, stub, CPU/RSS sampling, medians, ratios, alternating
 *   repetitions) and benchmarks/report.ts (tables, targets, verdicts) are shared.
 *
 * Every measured run is a fresh process (bench-case.ts, read-case.ts, peer-case.ts), so its
 * CPU time and peak RSS are its own; repetitions alternate raw/library in one run to cancel
 * drift. After each run the stub's counters must match the records (and bytes) sent or read
 * exactly, or the benchmark fails; the memory-bound runs fail it when a bound is exceeded.
 *
 * Options: --reps N (5: medians of the main writer and reader tables), --quick (smaller
 * counts, 2 reps, for a smoke test), --no-extras (skip the option sweeps, the failure check,
 * the overhead profiles and the metrics/limits sections), --no-write (print only), --only
 * writer|reader (one side only; with --no-write, for work on one side).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { READABLE_DEFAULTS, WRITABLE_DEFAULTS } from '../lib/limits.js';
import { aggReadBench, aggregationConsole, aggregationMarkdown, aggregationSettings, aggWriteBench, type AggReadBench, type AggWriteBench } from './aggregation-bench.js';
import { renderChart, type ChartBar } from './chart.js';
import { limitsBench, limitsMarkdown, LIMITS_HEADING } from './limits-case.js';
import { wireBench, wireMarkdown, WIRE_HEADING } from './wire-case.js';
import { log, startStub, type BenchConfig, type Spread, type Stub } from './measure.js';
import { metricsOverhead, overheadMarkdown, writeOverheadSection } from './metrics-case.js';
import { ensureBenchDependencies, peerBench, peerMarkdown, peerSettings, peerTable, type PeerBench } from './peer-bench.js';
import { readerBench, readerConsole, readerMarkdown, type ReaderBench } from './reader-bench.js';
import { AGG_TARGETS, machineInfo, machineMarkdown, passFail, TARGETS, type MachineInfo } from './report.js';
import { writeResultsSection } from './results-section.js';
import { writerBench, writerConsole, writerMarkdown, WRITER_STUB_SHARDS, type WriterBench } from './writer-bench.js';

const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const RESULTS_JSON = fileURLToPath(new URL('./results.json', import.meta.url));
const CHART_SVG = fileURLToPath(new URL('./chart.svg', import.meta.url));

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
const cfg: BenchConfig = {
  // Issue 14: medians of ≥ 5 alternating repetitions in one run for the main writer and reader tables.
  reps: cli.reps !== undefined ? Number(cli.reps) : quick ? 2 : 5,
  quick,
  scale: quick ? 0.25 : 1,
  extras: cli['no-extras'] !== true,
};
if (!Number.isInteger(cfg.reps) || cfg.reps < 1) throw new Error('--reps must be a positive integer');

interface Results {
  machine: MachineInfo;
  writer?: WriterBench;
  reader?: ReaderBench;
  aggWrite?: AggWriteBench;
  aggRead?: AggReadBench;
  peers?: PeerBench;
  elapsedS: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  log(`kinesis-node-streams benchmark: node ${machine.node}, ${machine.cpuCount} × ${machine.cpuModel}, ${cfg.reps} repetition(s)`);
  const stubs: Stub[] = [];
  const peerInstall = runWriter ? ensureBenchDependencies() : undefined;
  const r: Results = { machine, elapsedS: 0 };
  try {
    if (runWriter) {
      const stub = await startStub(['--shards', String(WRITER_STUB_SHARDS)]);
      stubs.push(stub);
      r.writer = await writerBench(cfg, stub, stubs);
      const aggStub = await startStub(['--shards', String(aggregationSettings(cfg).write.shards), '--count-user-records']);
      stubs.push(aggStub);
      r.aggWrite = await aggWriteBench(cfg, aggStub);
      r.peers = await peerBench(cfg, stub, peerInstall!);
    }
    if (runReader) {
      const readStub = await startStub();
      stubs.push(readStub);
      r.reader = await readerBench(cfg, readStub);
      r.aggRead = await aggReadBench(cfg, readStub, r.reader);
    }
  } finally {
    for (const s of stubs) s.close();
  }
  r.elapsedS = (performance.now() - started) / 1000;
  machine.loadAvg1mEnd = Number(os.loadavg()[0].toFixed(2));

  process.stdout.write(`\n${consoleReport(r)}\n`);
  if (r.reader !== undefined && !r.reader.memoryOk) {
    // Reported as FAIL in the tables; the benchmark fails once the report is written.
    process.exitCode = 1;
    log('\nBENCHMARK FAILED: MEMORY BOUND EXCEEDED (see the memory-bound table)');
  }
  if (cli['no-write'] === true) return;
  await writeFile(RESULTS_MD, renderMarkdown(r));
  await writeFile(CHART_SVG, chartOf(r));
  await writeFile(RESULTS_JSON, JSON.stringify(resultsJson(r), null, 2) + '\n');
  log(`wrote ${RESULTS_MD}, ${RESULTS_JSON} and ${CHART_SVG}`);
  if (cfg.extras) {
    // The metrics adapter's CPU cost (benchmarks/metrics-case.ts: its own stub and processes), as a section of RESULTS.md.
    const metricsReps = quick ? 2 : 7;
    await writeOverheadSection(overheadMarkdown(await metricsOverhead({ reps: metricsReps, quick, log }), metricsReps));
    // The writer and reader at the per-shard limits (benchmarks/limits-case.ts: kinesalite behind the limits proxy).
    await writeResultsSection(LIMITS_HEADING, limitsMarkdown(await limitsBench({ log })));
    // The SDK client's cost per record by stage, and the wire variants tried (benchmarks/wire-case.ts: its own stub).
    await writeResultsSection(WIRE_HEADING, wireMarkdown(await wireBench({ reps: quick ? 2 : 5, log })));
  }
}

/** The verdicts in one line each. */
function verdicts(r: Results): string[] {
  const out: string[] = [];
  out.push(`Writer vs raw (CPU ≤ ${TARGETS.cpuRatioMax}×, records/s ≥ ${TARGETS.throughputRatioMin}×): ${r.writer === undefined ? 'not run' : passFail(r.writer.passed)}`);
  if (r.aggWrite !== undefined) {
    out.push(`Aggregated writer ≥ ${AGG_TARGETS.writerThroughputMin}× raw: ${passFail(r.aggWrite.ratios.every((x) => x.ok))}`);
    out.push(`Aggregated writer stretch ≥ ${AGG_TARGETS.writerThroughputStretch}× raw: ${passFail(r.aggWrite.ratios.every((x) => x.stretchOk))}`);
  }
  out.push(`Reader vs raw (CPU ≤ ${TARGETS.cpuRatioMax}×, records/s ≥ ${TARGETS.throughputRatioMin}× where pacing is not the limit): ${r.reader === undefined ? 'not run' : passFail(r.reader.passed)}`);
  if (r.aggRead !== undefined) out.push(`De-aggregating reader ≥ ${AGG_TARGETS.readerThroughputMin}× raw-read: ${passFail(r.aggRead.ok)}`);
  if (r.reader !== undefined) out.push(`Reader memory bounds (records; user records on aggregates): ${passFail(r.reader.memoryOk)}`);
  return out;
}

function consoleReport(r: Results): string {
  const out: string[] = [];
  if (r.writer !== undefined) out.push(writerConsole(r.writer), '');
  if (r.reader !== undefined) out.push(readerConsole(r.reader), '');
  out.push(aggregationConsole(r.aggWrite, r.aggRead));
  if (r.peers !== undefined) out.push('Peers:', peerTable(r.peers, r.writer?.summaries), '');
  out.push(...verdicts(r), `(${r.elapsedS.toFixed(0)} s)`);
  return out.join('\n');
}

function renderMarkdown(r: Results): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (benchmarks/run.ts). Do not edit by hand.',
    '',
    '![records/s and CPU per record: raw SDK, kinesis-node-streams (plain, aggregated, reader, de-aggregating) and peers](chart.svg)',
    '',
    ...machineMarkdown(r.machine),
    '',
    '## Targets (issue 14)',
    '',
    ...verdicts(r).map((line) => `- ${line}`),
    '',
    'Targets are never loosened here. The profiles that explain each FAIL, and measurements of single changes, are in',
    '[PROFILES.md](PROFILES.md).',
    '',
  ];
  if (r.writer !== undefined) out.push(...writerMarkdown(r.writer, cfg), '');
  if (r.reader !== undefined) out.push(...readerMarkdown(r.reader, cfg), '');
  if (r.aggWrite !== undefined || r.aggRead !== undefined) out.push(...aggregationMarkdown(cfg, r.aggWrite, r.aggRead));
  if (r.peers !== undefined) out.push(...peerMarkdown(cfg, r.peers, r.writer?.summaries ?? []), '');
  out.push(`Total benchmark time: ${r.elapsedS.toFixed(0)} s.`, '');
  return out.join('\n');
}

function resultsJson(r: Results): unknown {
  const w = r.writer;
  return {
    machine: r.machine,
    settings: {
      ...cfg,
      writer: w?.settings,
      writerDefaults: WRITABLE_DEFAULTS,
      reader: r.reader?.settings,
      readerDefaults: READABLE_DEFAULTS,
      aggregation: aggregationSettings(cfg),
      aggTargets: AGG_TARGETS,
      peers: peerSettings(cfg),
    },
    targets: TARGETS,
    passed: w?.passed,
    readerPassed: r.reader?.passed,
    summaries: w?.summaries ?? [],
    ratios: w?.ratios ?? [],
    sweep: w?.sweep,
    latencySweep: w?.latencySweep,
    paced: w?.paced,
    failCheck: w?.failCheck,
    overhead: w?.overhead,
    runs: w?.runs ?? [],
    reader:
      r.reader === undefined
        ? undefined
        : {
            passed: r.reader.passed,
            memoryOk: r.reader.memoryOk,
            summaries: r.reader.summaries,
            ratios: r.reader.ratios,
            overhead: r.reader.overhead,
            stalls: r.reader.stalls,
            runs: r.reader.runs,
          },
    aggregation: { writer: r.aggWrite, reader: r.aggRead },
    peers: r.peers,
    elapsedSeconds: r.elapsedS,
  };
}

/** The chart's bars: writer and reader sides, raw / library / peers. */
function chartOf(r: Results): string {
  const bars: ChartBar[] = [];
  const bar = (group: string, label: string, kind: ChartBar['kind'], s: { recordsPerSec: Spread; cpuUsPerRecord: Spread } | undefined) => {
    if (s !== undefined) bars.push({ group, label, kind, recordsPerSec: s.recordsPerSec, cpuUsPerRecord: s.cpuUsPerRecord.median });
  };
  const write = 'Write, 100 B records';
  const summaries = r.writer?.summaries ?? [];
  bar(write, 'raw SDK v3 PutRecords loop', 'raw', summaries.find((s) => s.mode === 'raw' && s.recordBytes === 100));
  bar(write, 'writer', 'library', summaries.find((s) => s.mode === 'writer' && s.recordBytes === 100));
  for (const s of r.aggWrite?.summaries ?? []) {
    if (s.mode === 'agg-writer') bar(write, 'writer, aggregation (random keys)', 'library', s);
    if (s.mode === 'agg-writer-keys') bar(write, 'writer, aggregation (1000 keys)', 'library', s);
  }
  for (const p of r.peers?.summaries ?? []) bar(write, `${p.peer} ${p.version}`, 'peer', p);
  const read = 'Read, 100 B records, 4 shards';
  bar(read, 'raw SDK v3 GetRecords loop', 'raw', r.reader?.summaries.find((s) => s.mode === 'raw-read' && s.recordBytes === 100 && s.shards === 4));
  bar(read, 'reader', 'library', r.reader?.summaries.find((s) => s.mode === 'reader' && s.recordBytes === 100 && s.shards === 4));
  bar(read, 'raw loop, aggregated stream (Kinesis rec.)', 'raw', r.aggRead?.summaries.find((s) => s.mode === 'raw-read'));
  bar(read, 'reader, de-aggregating (user records)', 'library', r.aggRead?.summaries.find((s) => s.mode === 'reader'));
  const m = os.cpus()[0]?.model ?? 'unknown CPU';
  return renderChart(bars, 'kinesis-node-streams benchmark (npm run bench)', `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.cpus().length} × ${m}; stub Kinesis server on localhost`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nBENCHMARK FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
