/**
 * Metrics overhead: the writer and the reader of benchmarks/bench-case.ts and
 * benchmarks/read-case.ts (default options, 100 B records, the stub server of
 * benchmarks/stub-server.ts in its own process), once plain and once with the
 * OpenTelemetry adapter, `instrument({ meter })`, on an SDK MeterProvider that exports to
 * the in-memory exporter every second. Each run is a fresh process; plain and
 * instrumented runs alternate (which goes first flips every repetition) so drift hits
 * both alike. Reports client CPU per record and the ratio instrumented / plain: the
 * target is ≤ 1.03.
 *
 *   npx tsx benchmarks/metrics-case.ts [--reps 7] [--quick] [--no-write]
 *
 * A second pair of rows is steadier on a busy machine: the same writer and reader on a
 * real KinesisClient whose HTTP handler answers in memory (the SDK's serialization,
 * signing and parsing, the request middleware; no network, no stub competing for the CPU),
 * each process warmed up over 3 runs (the JIT goes on improving these paths for about a
 * million records) and then measured over 6; plain and instrumented processes alternate.
 * (Toggling the instrumentation inside one process is no fair test: every first
 * subscriber and last unsubscriber switches a channel's prototype, which churns the
 * inline caches of both arms; no program does that.)
 *
 * Prints a table and replaces the "Metrics overhead" section of benchmarks/RESULTS.md
 * (npm run bench runs it too, after writing that file). An instrumented run also checks
 * that the metrics counted every record, so the measured instrumentation did its work.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { METRICS, instrument } from '../lib/metrics/otel.js';
import { createKinesisReadable } from '../lib/readable/kinesis-readable.js';
import { createKinesisWritable } from '../lib/writable/kinesis-writable.js';
import { buildPayloads, runCase } from './bench-case.js';
import { cpuPerRecordRuns, CREDENTIALS, median, REGION, runJsonProcess, startStub } from './measure.js';
import { runReadCase } from './read-case.js';
import { writeResultsSection } from './results-section.js';

const SELF = fileURLToPath(import.meta.url);
const HEADING = '## Metrics overhead';
const TARGET = 1.03;
/**
 * The stub answers each PutRecords entry with the shard its key falls on (MD5), as Kinesis
 * does. 256 shards: a request of 500 random keys spreads over ~220 shards, the worst case
 * for per-shard counting (and the writer's per-shard rate limit is far away).
 */
const WRITE_SHARDS = 256;
/** The reader's stream. */
const READ_SHARDS = 4;

type Side = 'writer' | 'reader';
type Setting = 'stub' | 'in-process';

interface ChildResult {
  side: Side;
  instrumented: boolean;
  records: number;
  cpuUsPerRecord: number;
  recordsPerSec: number;
  /** Records the metrics counted (sent or consumed), warm-up included; 0 when plain. */
  counted: number;
}

// ---- one run (child process) ----------------------------------------------------------

async function child(side: Side, instrumented: boolean, endpoint: string, count: number, warmup: number, stream: string): Promise<ChildResult> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1000 });
  const provider = new MeterProvider({ readers: [reader] });
  const instrumentation = instrumented ? instrument({ meter: provider.getMeter('bench') }) : undefined;
  try {
    const result =
      side === 'writer'
        ? // Without the rate limiter, like the in-memory arm below: both arms measure the metrics, not the limiter.
          await runCase({ mode: 'writer', endpoint, recordBytes: 100, count, warmup, noRateLimit: true })
        : await runReadCase({ mode: 'reader', endpoint, stream, warmup });
    let counted = 0;
    if (instrumented) {
      await reader.forceFlush();
      const name = side === 'writer' ? METRICS.sentMessages : METRICS.consumedMessages;
      const last = exporter.getMetrics().at(-1);
      for (const scope of last?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) if (metric.descriptor.name === name) for (const point of metric.dataPoints) counted += point.value as number;
      }
    }
    return { side, instrumented, records: result.records, cpuUsPerRecord: result.cpuUsPerRecord, recordsPerSec: result.recordsPerSec, counted };
  } finally {
    instrumentation?.close();
    await provider.shutdown();
  }
}

// ---- in one process, SDK with an in-memory HTTP handler ----------------------------------

const RECORD_BYTES = 100;
/** Measured runs per in-memory process (after 3 warm-up runs). */
const IN_MEMORY_RUNS = 6;
const IN_PROCESS_PAGE = 10_000;

interface FakeRequest {
  headers: Record<string, string>;
  body?: unknown;
}

/** A request body as text (the SDK hands over a string or bytes). */
function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '{}';
  return body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : String(body);
}

function answer(body: string): { response: { statusCode: number; headers: Record<string, string>; body: Readable } } {
  return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from(body)]) } };
}

/**
 * Answers PutRecords (every entry stored, on one of WRITE_SHARDS shards by its key), and
 * serves READ_SHARDS shards of `pages` GetRecords pages of 10,000 records each.
 */
function inMemoryClient(pages: number): KinesisClient {
  const payload = buildPayloads(RECORD_BYTES)[0].toString('base64');
  const arrival = Date.now() / 1000;
  const page = Array.from({ length: IN_PROCESS_PAGE }, (_, i) => `{"Data":"${payload}","PartitionKey":"pk-${i % 1000}","SequenceNumber":"${49_000_000 + i}","ApproximateArrivalTimestamp":${arrival}}`).join(',');
  const shardIds = Array.from({ length: WRITE_SHARDS }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
  const handler = {
    async handle(request: FakeRequest) {
      const target = request.headers['x-amz-target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      const input = JSON.parse(bodyText(request.body)) as { Records?: Array<{ PartitionKey: string }>; ShardId?: string; ShardIterator?: string };
      switch (operation) {
        case 'PutRecords': {
          const results = (input.Records ?? []).map((entry, i) => {
            const key = entry.PartitionKey;
            const shard = (key.charCodeAt(0) * 31 + key.charCodeAt(key.length - 1) * 7 + key.length) % WRITE_SHARDS;
            return `{"SequenceNumber":"${i}","ShardId":"${shardIds[shard]}"}`;
          });
          return answer(`{"FailedRecordCount":0,"Records":[${results.join(',')}]}`);
        }
        case 'ListShards':
          return answer(JSON.stringify({ Shards: shardIds.slice(0, READ_SHARDS).map((ShardId) => ({ ShardId, HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' }, SequenceNumberRange: { StartingSequenceNumber: '0' } })) }));
        case 'GetShardIterator':
          return answer(JSON.stringify({ ShardIterator: `${input.ShardId}/0` }));
        case 'GetRecords': {
          const [shardId, n] = (input.ShardIterator ?? '/0').split('/');
          const next = Number(n);
          if (next >= pages) return answer(`{"Records":[],"NextShardIterator":"${shardId}/${next}","MillisBehindLatest":0}`);
          return answer(`{"Records":[${page}],"NextShardIterator":"${shardId}/${next + 1}","MillisBehindLatest":${next + 1 < pages ? 1000 : 0}}`);
        }
        default:
          return answer('{}');
      }
    },
  };
  return new KinesisClient({ region: REGION, credentials: CREDENTIALS, maxAttempts: 1, requestHandler: handler as never });
}

export async function inProcessWriter(count: number): Promise<void> {
  const payloads = buildPayloads(RECORD_BYTES);
  const mask = payloads.length - 1;
  function* items(): Generator<Buffer> {
    for (let i = 0; i < count; i++) yield payloads[i & mask];
  }
  const client = inMemoryClient(0);
  // The in-memory server enforces no shard limits, so neither does the writer (the fresh-process arm likewise).
  const writer = createKinesisWritable<Buffer>({ streamName: 'bench', client, rateLimit: false });
  await pipeline(Readable.from(items()), writer);
  client.destroy();
  if (writer.stats().recordsWritten !== count) throw new Error(`writer stored ${writer.stats().recordsWritten} of ${count}`);
}

export async function inProcessReader(count: number): Promise<void> {
  const client = inMemoryClient(Math.ceil(count / READ_SHARDS / IN_PROCESS_PAGE));
  const reader = createKinesisReadable({ client, streamName: 'bench', initialPosition: 'TRIM_HORIZON' });
  let read = 0;
  for await (const record of reader) {
    if ((record as { data: Buffer }).data.length !== RECORD_BYTES) throw new Error('unexpected record');
    if (++read === count) break;
  }
  reader.destroy();
  client.destroy();
}

/** One arm in this process: 3 warm-up runs, then `runs` measured ones; CPU µs per record of each. */
async function inProcess(side: Side, instrumented: boolean, count: number, runs: number): Promise<{ cpuUsPerRecord: number[]; counted: number; records: number }> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const metricReader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1000 });
  const provider = new MeterProvider({ readers: [metricReader] });
  const instrumentation = instrumented ? instrument({ meter: provider.getMeter('bench') }) : undefined;
  const run = side === 'writer' ? inProcessWriter : inProcessReader;
  for (let warmup = 0; warmup < 3; warmup++) await run(count);
  const cpuUsPerRecord = await cpuPerRecordRuns(() => run(count), runs, count);
  let counted = 0;
  if (instrumented) {
    await metricReader.forceFlush();
    const name = side === 'writer' ? METRICS.sentMessages : METRICS.consumedMessages;
    for (const scope of exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
      for (const metric of scope.metrics) if (metric.descriptor.name === name) for (const point of metric.dataPoints) counted += point.value as number;
    }
  }
  instrumentation?.close();
  await provider.shutdown();
  return { cpuUsPerRecord, counted, records: (3 + runs) * count };
}

// ---- the comparison (parent process) ----------------------------------------------------

async function runChild(args: string[]): Promise<ChildResult> {
  return runJsonProcess<ChildResult>(SELF, args);
}

export interface OverheadRow {
  side: Side;
  setting: Setting;
  description: string;
  plain: number[];
  instrumented: number[];
  /** median(instrumented) / median(plain), CPU per record. */
  ratio: number;
  /**
   * min(instrumented) / min(plain): other work on the machine only ever adds CPU time to a
   * run, so the fastest run is the best estimate of a side's own cost. The target is judged on it.
   */
  minRatio: number;
  /** Median of instrumented_i / plain_i over the repetitions (each pair ran back to back). */
  pairedRatio: number;
  /** Fresh processes against the stub only. */
  plainRecordsPerSec: number | undefined;
  instrumentedRecordsPerSec: number | undefined;
}

/** Strict: the target holds on the fastest runs and on the median of paired ratios. */
function verdict(r: OverheadRow): string {
  if (r.minRatio <= TARGET && r.pairedRatio <= TARGET) return 'met';
  if (r.minRatio <= TARGET) return 'missed on medians (met on fastest runs)';
  return 'missed';
}

export async function metricsOverhead(options: { reps: number; quick: boolean; log?: (line: string) => void }): Promise<OverheadRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scale = options.quick ? 0.25 : 1;
  // Warm-ups of half a run: a fresh process is still compiling its hot paths after the main bench's 10%.
  const write = { count: 200_000 * scale, warmup: 100_000 * scale };
  const perShard = 50_000 * scale;
  const stream = `read-${READ_SHARDS}x${perShard}x100`;
  const readWarmup = Math.round((READ_SHARDS * perShard) / 2);
  const stub = await startStub(['--shards', String(WRITE_SHARDS)]);
  const rows: OverheadRow[] = [];
  try {
    const primed = await fetch(`${stub.endpoint}/prime?stream=${stream}&limit=10000`);
    if (!primed.ok) throw new Error(`stub /prime answered ${primed.status}`);
    const cases: Array<{ side: Side; description: string; args: string[] }> = [
      {
        side: 'writer',
        description: `writer vs stub (fresh processes), 100 B × ${write.count.toLocaleString('en-US')} (+${write.warmup.toLocaleString('en-US')} warm-up), ${WRITE_SHARDS} shards`,
        args: ['--count', String(write.count), '--warmup', String(write.warmup)],
      },
      {
        side: 'reader',
        description: `reader vs stub (fresh processes), ${READ_SHARDS} shards × ${perShard.toLocaleString('en-US')} × 100 B (+${readWarmup.toLocaleString('en-US')} warm-up)`,
        args: ['--stream', stream, '--warmup', String(readWarmup)],
      },
    ];
    for (const c of cases) {
      log(`\nMetrics overhead: ${c.description}, ${options.reps} rep(s)`);
      const plain: ChildResult[] = [];
      const instrumented: ChildResult[] = [];
      for (let rep = 0; rep < options.reps; rep++) {
        const order = rep % 2 === 0 ? [false, true] : [true, false];
        for (const on of order) {
          const r = await runChild(['--child', c.side, '--endpoint', stub.endpoint, ...c.args, ...(on ? ['--instrumented'] : [])]);
          // The reader counts what it pulled: at least what the consumer took.
          const expected = c.side === 'writer' ? write.count + write.warmup : r.records + readWarmup;
          if (on && r.counted < expected) throw new Error(`instrumented ${c.side}: the metrics counted ${r.counted} record(s), expected ${expected}`);
          (on ? instrumented : plain).push(r);
          log(`  rep ${rep + 1} ${on ? 'instrumented' : 'plain       '} ${r.cpuUsPerRecord.toFixed(3)} µs/record  ${Math.round(r.recordsPerSec).toLocaleString('en-US')} records/s`);
        }
      }
      const p = plain.map((r) => r.cpuUsPerRecord);
      const i = instrumented.map((r) => r.cpuUsPerRecord);
      rows.push({
        side: c.side,
        setting: 'stub',
        description: c.description,
        plain: p,
        instrumented: i,
        ratio: median(i) / median(p),
        minRatio: Math.min(...i) / Math.min(...p),
        pairedRatio: median(i.map((value, k) => value / p[k])),
        plainRecordsPerSec: median(plain.map((r) => r.recordsPerSec)),
        instrumentedRecordsPerSec: median(instrumented.map((r) => r.recordsPerSec)),
      });
    }
  } finally {
    stub.close();
  }
  const inProcessCount = 200_000 * scale;
  const pairs = options.quick ? 1 : 3;
  const runs = options.quick ? 2 : IN_MEMORY_RUNS;
  for (const side of ['writer', 'reader'] as const) {
    const description =
      side === 'writer'
        ? `writer, SDK + in-memory HTTP (warm processes), 100 B × ${inProcessCount.toLocaleString('en-US')}, ${WRITE_SHARDS} shards`
        : `reader, SDK + in-memory HTTP (warm processes), ${READ_SHARDS} shards, 100 B × ${inProcessCount.toLocaleString('en-US')}`;
    log(`\nMetrics overhead: ${description}, ${pairs} pair(s) of processes × ${runs} measured run(s)`);
    const plain: number[][] = [];
    const instrumented: number[][] = [];
    for (let pair = 0; pair < pairs; pair++) {
      for (const on of pair % 2 === 0 ? [false, true] : [true, false]) {
        const r = await runInProcessChild(['--child', side, '--in-process', '--count', String(inProcessCount), '--runs', String(runs), ...(on ? ['--instrumented'] : [])]);
        if (on && r.counted < r.records) throw new Error(`in-process ${side}: the metrics counted ${r.counted} record(s), expected ${r.records}`);
        (on ? instrumented : plain).push(r.cpuUsPerRecord);
        log(`  pair ${pair + 1} ${on ? 'instrumented' : 'plain       '} ${r.cpuUsPerRecord.map((v) => v.toFixed(3)).join(' ')} µs/record`);
      }
    }
    const p = plain.flat();
    const i = instrumented.flat();
    rows.push({
      side,
      setting: 'in-process',
      description,
      plain: p,
      instrumented: i,
      ratio: median(i) / median(p),
      minRatio: Math.min(...i) / Math.min(...p),
      pairedRatio: median(instrumented.map((values, k) => median(values) / median(plain[k]))),
      plainRecordsPerSec: undefined,
      instrumentedRecordsPerSec: undefined,
    });
  }
  return rows;
}

async function runInProcessChild(args: string[]): Promise<{ cpuUsPerRecord: number[]; counted: number; records: number }> {
  return (await runChild(args)) as unknown as { cpuUsPerRecord: number[]; counted: number; records: number };
}

const f3 = (n: number): string => n.toFixed(3);
const spread = (values: number[]): string => `${f3(median(values))} (${f3(Math.min(...values))}–${f3(Math.max(...values))})`;

export function overheadMarkdown(rows: OverheadRow[], reps: number): string {
  const lines = [
    HEADING,
    '',
    `\`npx tsx benchmarks/metrics-case.ts\` (also run by \`npm run bench\`): the writer and the reader with default options,`,
    'plain and with `instrument({ meter })` on an OpenTelemetry SDK MeterProvider (in-memory exporter, collected every',
    `second). Stub rows: against the stub server, each run a fresh process, plain and instrumented alternating, ${reps} runs`,
    'each. In-memory rows: a real KinesisClient whose HTTP handler answers in memory (no stub competing for the CPU),',
    `each process warmed up over 3 runs then measured over ${IN_MEMORY_RUNS}, plain and instrumented processes alternating; paired`,
    'ratios compare the medians of neighbouring processes. Client CPU (user + system) per record, median (min–max).',
    `Target: instrumented ≤ ${TARGET}× plain. "met" needs both the fastest runs (other work on a shared machine only adds CPU`,
    'time to a run, so the minimum is the best estimate of a side\'s own cost) and the median of paired ratios within it.',
    '',
    '| case | plain µs/record | instrumented µs/record | ratio of minimums | ratio of medians | median of paired ratios | records/s plain / instrumented | target |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.description} | ${spread(r.plain)} | ${spread(r.instrumented)} | ${r.minRatio.toFixed(3)}× | ${r.ratio.toFixed(3)}× | ${r.pairedRatio.toFixed(3)}× | ` +
        `${r.plainRecordsPerSec === undefined || r.instrumentedRecordsPerSec === undefined ? '—' : `${Math.round(r.plainRecordsPerSec).toLocaleString('en-US')} / ${Math.round(r.instrumentedRecordsPerSec).toLocaleString('en-US')}`} | ` +
        `${verdict(r)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** Replaces (or appends) the section in RESULTS.md. */
export function writeOverheadSection(markdown: string): Promise<void> {
  return writeResultsSection(HEADING, markdown);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      instrumented: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      count: { type: 'string', default: '200000' },
      warmup: { type: 'string', default: '20000' },
      stream: { type: 'string', default: '' },
      reps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      'in-process': { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
    },
  });
  if (values.child !== undefined) {
    if (values.child !== 'writer' && values.child !== 'reader') throw new Error('--child must be writer or reader');
    if (values['in-process'] === true) {
      process.stdout.write(`${JSON.stringify(await inProcess(values.child, values.instrumented === true, Number(values.count), Number(values.runs)))}\n`);
      return;
    }
    if (values.endpoint === undefined) throw new Error('--endpoint is required');
    const result = await child(values.child, values.instrumented === true, values.endpoint, Number(values.count), Number(values.warmup), values.stream ?? '');
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const quick = values.quick === true;
  const reps = values.reps !== undefined ? Number(values.reps) : quick ? 2 : 7;
  const rows = await metricsOverhead({ reps, quick });
  const markdown = overheadMarkdown(rows, reps);
  process.stdout.write(`\n${markdown}`);
  if (values['no-write'] !== true) {
    await writeOverheadSection(markdown);
    process.stderr.write(`wrote the "${HEADING.slice(3)}" section of benchmarks/RESULTS.md\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
