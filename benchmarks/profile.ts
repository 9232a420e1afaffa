/**
 * CPU profile of one benchmark case, summarised: where the client spends its time.
 *
 *   npx tsx benchmarks/profile.ts [--mode writer|raw] [--size 100] [--count 300000] [--top 25] [--compiled] [--keep]
 *   npx tsx benchmarks/profile.ts --mode reader|raw-read [--stream read-4x100000x100] [--warmup 40000] [--consume data|iterator]
 *
 * Starts the stub server, runs benchmarks/bench-case.ts under `node --cpu-prof`, and
 * prints self time by area (lib/, AWS SDK, smithy, Node internals, GC) and the hottest
 * functions: overall, in lib/ by self time, and in lib/ by inclusive time. tsx hands V8
 * one-line modules, so lines mean nothing there: `--compiled` first compiles the project
 * with tsc into a temporary directory and profiles that JavaScript instead, adding the
 * hottest lib/ source lines (of the compiled .js). `--keep` leaves the .cpuprofile (open
 * it in Chrome DevTools) and prints its path. The read modes read the stub's on-the-fly
 * stream `--stream` (read-<shards>x<recordsPerShard>x<bytes>, primed before the run);
 * `--size` and `--count` do not apply to them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASE_SCRIPT = fileURLToPath(new URL('./bench-case.ts', import.meta.url));
const STUB_SCRIPT = fileURLToPath(new URL('./stub-server.ts', import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  /** 1-based source lines of the samples that hit this node. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'writer' },
    size: { type: 'string', default: '100' },
    count: { type: 'string', default: '300000' },
    warmup: { type: 'string', default: '30000' },
    stream: { type: 'string', default: 'read-4x100000x100' },
    consume: { type: 'string', default: 'data' },
    top: { type: 'string', default: '25' },
    compiled: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const stub = spawn(process.execPath, ['--import', 'tsx', STUB_SCRIPT], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kns-profile-'));
  try {
    const [line] = (await once(createInterface({ input: stub.stdout! }), 'line')) as [string];
    const { port } = JSON.parse(line) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    const reading = values.mode === 'reader' || values.mode === 'raw-read';
    const args = ['--cpu-prof', '--cpu-prof-dir', dir];
    if (values.compiled === true) args.push(await compile(dir));
    else args.push('--import', 'tsx', CASE_SCRIPT);
    args.push('--mode', values.mode!, '--endpoint', endpoint, '--warmup', values.warmup!);
    if (reading) {
      const primed = await fetch(`${endpoint}/prime?stream=${encodeURIComponent(values.stream!)}&limit=10000`);
      if (!primed.ok) throw new Error(`stub /prime answered ${primed.status}`);
      args.push('--stream', values.stream!, '--consume', values.consume!);
    } else {
      args.push('--size', values.size!, '--count', values.count!);
    }
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`case exited with ${code}`);
    process.stdout.write(`case: ${stdout.trim()}\n`);
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('no .cpuprofile written');
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    report(profile, Number(values.top));
    if (values.keep === true) process.stdout.write(`\nprofile kept: ${path.join(dir, file)}\n`);
  } finally {
    if (stub.connected) stub.disconnect();
    stub.kill();
    if (values.keep !== true) await rm(dir, { recursive: true, force: true });
  }
}

/** Compiles the project with tsc into `dir`/js and returns the compiled bench-case.js. */
async function compile(dir: string): Promise<string> {
  const outDir = path.join(dir, 'js');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', 'false', '--outDir', outDir, '--sourceMap', 'false', '--declaration', 'false'];
  // Type errors elsewhere in the project (work in progress) still emit; only a missing output is fatal.
  spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', ...flags], { cwd: ROOT, stdio: 'ignore' });
  const script = path.join(outDir, 'benchmarks', 'bench-case.js');
  if (!existsSync(script)) throw new Error('tsc produced no benchmarks/bench-case.js');
  await symlink(path.join(ROOT, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  await writeFile(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  return script;
}

/** Code of this package (lib/), not a dependency's own lib/ folder. */
function isOwnLib(url: string): boolean {
  return url.includes('/lib/') && !url.includes('node_modules/');
}

function area(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native/V8)';
  if (isOwnLib(url)) return 'lib/ (this package)';
  if (url.includes('/benchmarks/')) return 'benchmarks/ (harness)';
  if (url.includes('node_modules/@aws-sdk/')) return '@aws-sdk';
  if (url.includes('node_modules/@smithy/')) return '@smithy';
  if (url.includes('node_modules/')) return 'other node_modules';
  if (url.startsWith('node:') || url === '') return 'Node internals / native';
  return 'other';
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const plain = url.replace(/^file:\/\//, '');
  const file = plain.includes('node_modules/')
    ? plain.replace(/.*node_modules\//, '')
    : plain.replace(/^.*\/(lib|benchmarks)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}${file ? `:${lineNumber + 1}` : ''}`;
}

function report(profile: CpuProfile, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + profile.timeDeltas[i]);
  }
  let total = 0;
  const selfByFn = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const inclusiveByFn = new Map<string, number>();
  const selfByLine = new Map<string, number>();
  for (const [id, time] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    total += time;
    const key = label(node);
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + time);
    const a = area(node.callFrame.url, node.callFrame.functionName);
    selfByArea.set(a, (selfByArea.get(a) ?? 0) + time);
    if (isOwnLib(node.callFrame.url) && node.positionTicks !== undefined) {
      const ticks = node.positionTicks.reduce((sum, p) => sum + p.ticks, 0);
      for (const p of node.positionTicks) {
        const k = `${node.callFrame.url}:${p.line}`;
        selfByLine.set(k, (selfByLine.get(k) ?? 0) + (time * p.ticks) / ticks);
      }
    }
    // Inclusive time of lib/ functions: once per function on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!;
      if (!isOwnLib(frame.callFrame.url)) continue;
      const k = label(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusiveByFn.set(k, (inclusiveByFn.get(k) ?? 0) + time);
    }
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const print = (title: string, entries: Iterable<[string, number]>, n: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, t] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      process.stdout.write(`  ${pct(t)}  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
    }
  };
  process.stdout.write(`\nsampled (non-idle) time: ${(total / 1000).toFixed(0)} ms (whole process, warm-up included)\n`);
  print('self time by area', selfByArea, 20);
  print(`top ${top} functions by self time`, selfByFn, top);
  print(
    `top ${top} lib/ functions by self time`,
    [...selfByFn].filter(([k]) => k.includes(' lib/')),
    top,
  );
  print(`top ${top} lib/ functions by inclusive time`, inclusiveByFn, top);
  if (values.compiled === true) {
    const lines = [...selfByLine].map(([k, t]): [string, number] => [describeLine(k), t]);
    print(`top ${top} lib/ lines by self time (compiled JavaScript)`, lines, top);
  }
}

function describeLine(key: string): string {
  const at = key.lastIndexOf(':');
  const file = fileURLToPath(key.slice(0, at));
  const line = Number(key.slice(at + 1));
  const text = readFileSync(file, 'utf8').split('\n')[line - 1]?.trim() ?? '';
  return `${file.replace(/.*\/lib\//, 'lib/')}:${line}  ${text.length > 90 ? text.slice(0, 87) + '...' : text}`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
