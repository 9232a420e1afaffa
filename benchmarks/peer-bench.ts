/**
 * Peer libraries in `npm run bench` (benchmarks/peer-case.ts; aws-kinesis-writable,
 * kinesis-streams, lifion-kinesis from benchmarks/package.json, installed into
 * benchmarks/node_modules first when missing) on the writer's 100 B workload.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, ROOT, runJsonProcess, spread, summarize, withoutSdkNotice, type BenchConfig, type Spread, type Stub, type Summary } from './measure.js';
import { PEERS, type Peer, type PeerResult } from './peer-case.js';
import { cell, fmt, markdownTable, progress } from './report.js';

const PEER_SCRIPT = fileURLToPath(new URL('./peer-case.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

export function peerSettings(cfg: BenchConfig) {
  return { count: 100_000 * cfg.scale, warmup: 10_000 * cfg.scale, reps: cfg.quick ? 1 : 3 };
}

export interface PeerInstall {
  ok: boolean;
  detail: string;
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

export interface PeerBench {
  install: PeerInstall;
  summaries: PeerSummary[];
  failures: Array<{ peer: Peer; error: string }>;
  runs: PeerResult[];
}

/** The peers live in benchmarks/package.json: install them into benchmarks/node_modules when missing. */
export function ensureBenchDependencies(): PeerInstall {
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

export async function peerBench(cfg: BenchConfig, stub: Stub, install: PeerInstall): Promise<PeerBench> {
  const c = peerSettings(cfg);
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
        progress(`${peer} ${r.version} rep ${rep + 1}`, r, `stored ${fmt.int(r.stored)}/${fmt.int(r.records)}${r.error === null ? '' : `  error: ${r.error}`}`);
      }
    } catch (error) {
      const message = withoutSdkNotice(error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ');
      bench.failures.push({ peer, error: message });
      log(`  ${peer}: FAILED ${message}`);
    }
    if (runs.length === 0) continue;
    bench.runs.push(...runs);
    const summary = summarize(runs.map((r) => ({ ...r, mode: peer, stubCpuUsPerRecord: 0 })));
    bench.summaries.push({
      peer,
      version: runs[0].version,
      runs: runs.length,
      records: runs[0].records,
      stored: { min: Math.min(...runs.map((r) => r.stored)), max: Math.max(...runs.map((r) => r.stored)) },
      recordsPerSec: summary.recordsPerSec,
      cpuUsPerRecord: summary.cpuUsPerRecord,
      peakRssMiB: summary.peakRssMiB,
      requests: spread(runs.map((r) => r.requests)).median,
      errors: [...new Set(runs.map((r) => r.error).filter((e): e is string => e !== null))],
    });
  }
  return bench;
}

export function peerTable(b: PeerBench, summaries: Summary[] = []): string {
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

export function peerMarkdown(cfg: BenchConfig, b: PeerBench, summaries: Summary[]): string[] {
  const c = peerSettings(cfg);
  const main = summaries.find((s) => s.mode === 'writer' && s.recordBytes === 100);
  return [
    '## Peer libraries (writer, 100 B records)',
    '',
    '- benchmarks/package.json holds the peers (and the AWS SDK v2 they use); `npm run bench` installs them into',
    `  benchmarks/node_modules when missing (${b.install.detail}). Each run is a fresh process (benchmarks/peer-case.ts)`,
    `  writing ${fmt.int(c.count)} records (+${fmt.int(c.warmup)} warm-up) of 100 B (an object whose JSON is 100 B: every peer JSON-encodes its input)`,
    '  with random 10-character partition keys to the main stub, through the AWS SDK v2 pointed at it (`endpoint`, http).',
    '- **aws-kinesis-writable**: its Writable, `buffer: { length: 500, timeout: 0.05 }`. Its `_write` never waits for a request',
    "  (no backpressure: every batch is sent at once) and it has no `_final`, so 'finish' does not mean delivered; it ignores",
    '  `FailedRecordCount` (partially failed batches are lost silently).',
    '- **kinesis-streams**: its Writable (`highWaterMark: 500`, `wait: 50`), `getPartitionKey` overridden; one PutRecords at a time.',
    '- **lifion-kinesis**: a client, not a Writable: `putRecords({ records })` of 500, 8 in flight (as the raw loop), `createStreamIfNeeded: false`',
    '  (it checks the stream with DescribeStream, which the stub answers).',
    '- Records stored are counted by the stub; the run ends when the last record arrived (the peer-case polls the stub).',
    `  Cells: median (min–max) of ${c.reps} runs. The first two rows are this run's main table (${fmt.int(main?.records ?? 0)} records, Buffers, SDK v3).`,
    '',
    peerTable(b, summaries),
  ];
}
