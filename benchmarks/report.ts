/**
 * How benchmark results are written down: number formats, markdown tables, median (min–max)
 * cells, the targets of issue 14 and their verdicts, the progress lines on stderr and the
 * machine description. No measurement here (benchmarks/measure.ts).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { log, ROOT, type Spread, type Summary } from './measure.js';

/**
 * Issue 14's targets (default options, medians of ≥ 5 alternating reps in one run). Never
 * loosened in the report: a missed target stays FAIL.
 */
export const TARGETS = {
  /** Writer and reader: client CPU per record ≤ this × the raw SDK loop's. */
  cpuRatioMax: 1.1,
  /** Writer and reader: records/s ≥ this × the raw loop's (the reader only where its pacing is not the limit). */
  throughputRatioMin: 0.95,
};
/** Aggregated writer: user records/s ≥ 3× the raw loop's records/s (stretch 4×); de-aggregating reader ≥ 3× raw-read records/s of a plain 100 B stream. */
export const AGG_TARGETS = { writerThroughputMin: 3, writerThroughputStretch: 4, readerThroughputMin: 3 };

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  f1: (n: number) => n.toFixed(1),
  f2: (n: number) => n.toFixed(2),
};

export function mib(bytes: number): string {
  return fmt.f1(bytes / (1024 * 1024));
}

/** median (min–max) */
export function cell(s: Spread, f: (n: number) => string): string {
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** The measured cells of a summary row: wall ms, records/s, client CPU µs/record, peak RSS MiB, requests. */
export function measuredCells(s: Summary): string[] {
  return [cell(s.wallMs, fmt.int), cell(s.recordsPerSec, fmt.int), cell(s.cpuUsPerRecord, fmt.f2), cell(s.peakRssMiB, fmt.f1), fmt.int(s.requests)];
}

export function passFail(ok: boolean): 'PASS' | 'FAIL' {
  return ok ? 'PASS' : 'FAIL';
}

/** A ratio with its verdict: `**1.04** PASS`. */
export function judged(ratio: number, ok: boolean): string {
  return `**${fmt.f2(ratio)}** ${passFail(ok)}`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** One progress line on stderr per measured run. */
export function progress(label: string, r: { recordsPerSec: number; cpuUsPerRecord: number; peakRssMiB: number }, tail: string): void {
  log(`  ${label.padEnd(44)} ${fmt.int(r.recordsPerSec).padStart(8)} rec/s  ${fmt.f2(r.cpuUsPerRecord).padStart(6)} µs/rec  ${fmt.f1(r.peakRssMiB).padStart(6)} MiB  ${tail}`);
}

export type MachineInfo = Record<string, string | number>;

export function machineInfo(): MachineInfo {
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

export function machineMarkdown(m: MachineInfo): string[] {
  return [
    '## Machine',
    '',
    `- Date: ${m.date}`,
    `- Node ${m.node} (V8 ${m.v8}), ${m.os}`,
    `- CPU: ${m.cpuCount} × ${m.cpuModel} (available parallelism ${m.availableParallelism}); load average at start ${m.loadAvg1m}, at end ${m.loadAvg1mEnd}`,
    `- Memory: ${m.totalMemGiB} GiB`,
    `- Code: commit ${m.commit}, ${m.libChanges === 'none' ? 'lib/ as committed' : m.libChanges}`,
  ];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
