/**
 * A minimal Kinesis-compatible HTTP/1.1 server for benchmarks. Run it in its own process
 * so its CPU is not charged to the client being measured:
 *
 *   node --import tsx benchmarks/stub-server.ts [--fail-rate 0.1] [--seed 1] [--latency-ms 0] [--shards 1] [--port 0]
 *     [--read-stream bench-read --read-shards 4 --read-records-per-shard 100000 --read-record-bytes 100 [--read-prime]]
 *     [--read-cache-mib 1536]
 *
 * (env FAIL_RATE / FAIL_SEED / LATENCY_MS / SHARDS / PORT work too). `--latency-ms` holds
 * every PutRecords answer that long, to imitate the round trip to a real endpoint. Once listening it prints one JSON
 * line, `{"port":N}`, to stdout. It speaks the JSON protocol (X-Amz-Target
 * Kinesis_20131202.<Op>): PutRecords stores nothing but counts what it accepted;
 * ListShards, DescribeStreamSummary and DescribeStream describe an ACTIVE stream of any name,
 * of `--shards` shards with even hash key ranges; PutRecords answers each entry with the
 * ShardId its partition key (MD5) or ExplicitHashKey falls on, as Kinesis does (with one
 * shard, always shard 0). `--count-user-records` decodes every entry and counts the user
 * records inside KPL aggregates (`userRecords`, `userDataBytes`, `aggregates` in /stats).
 * `GET /stats` returns the running totals, so a benchmark can check by difference that
 * nothing was lost. With a fail rate, that share of PutRecords entries (chosen by a
 * seeded PRNG, so runs repeat) is rejected with ProvisionedThroughputExceededException.
 *
 * It is built to stay out of the way: keep-alive, no logging, no per-entry decoding
 * (the data size is derived from the base64 length).
 *
 * Read side (benchmarks/stub-read.ts): streams held in memory and answered through
 * ListShards, DescribeStreamSummary, GetShardIterator and GetRecords — one from the
 * `--read-*` options, and any stream named `read-<shards>x<recordsPerShard>x<bytes>` on the
 * fly. Other stream names keep the write-side answers above. `GET /stats` adds the read
 * counters (`read`: totals, `readStreams`: per stream; `/stats?stream=NAME` for one
 * stream), `GET /prime?stream=NAME&limit=L` builds the GetRecords answers of reads from
 * TRIM_HORIZON in steps of L before a benchmark measures them.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { deaggregateRecord } from '../lib/aggregation/deaggregate.js';
import { base64Length } from '../test/helpers/proxy-server.js';
import { ReadSide } from './stub-read.js';

const TARGET_PREFIX = 'Kinesis_20131202.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

const { values: args } = parseArgs({
  options: {
    'fail-rate': { type: 'string', default: process.env.FAIL_RATE ?? '0' },
    seed: { type: 'string', default: process.env.FAIL_SEED ?? '1' },
    'latency-ms': { type: 'string', default: process.env.LATENCY_MS ?? '0' },
    shards: { type: 'string', default: process.env.SHARDS ?? '1' },
    port: { type: 'string', default: process.env.PORT ?? '0' },
    'read-stream': { type: 'string', default: 'bench-read' },
    'read-shards': { type: 'string' },
    'read-records-per-shard': { type: 'string', default: '100000' },
    'read-record-bytes': { type: 'string', default: '100' },
    'read-prime': { type: 'boolean', default: false },
    'read-cache-mib': { type: 'string', default: '1536' },
    'count-user-records': { type: 'boolean', default: false },
  },
});

const failRate = Number(args['fail-rate']);
const latencyMs = Number(args['latency-ms']);
const shardCount = Math.max(1, Math.trunc(Number(args.shards)));
/** Decode every entry and count the user records inside KPL aggregates (costs the stub a base64 decode per entry). */
const countUserRecords = args['count-user-records'] === true;
const HASH_SPAN = (1n << 128n) / BigInt(shardCount);
if (!(latencyMs >= 0)) throw new Error(`--latency-ms must be >= 0, got ${args['latency-ms']}`);
if (!(failRate >= 0 && failRate < 1)) throw new Error(`--fail-rate must be in [0, 1), got ${args['fail-rate']}`);

/** mulberry32: a tiny seeded PRNG, so the same entries fail on every run with the same seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(Number(args.seed));

const readSide = new ReadSide(Number(args['read-cache-mib']) * 1024 * 1024);
if (args['read-shards'] !== undefined) {
  const name = args['read-stream']!;
  readSide.define(name, Number(args['read-shards']), Number(args['read-records-per-shard']), Number(args['read-record-bytes']));
  if (args['read-prime'] === true) readSide.prime(name, 10_000);
}

const shardIds = Array.from({ length: shardCount }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
const SEQUENCE_PREFIX = '4963' + '0'.repeat(20);

const totals = {
  /** Entries accepted (stored). */
  records: 0,
  /** Data bytes + partition key bytes (UTF-8) of the entries accepted, as the writer counts them. */
  bytes: 0,
  /** Entries rejected by the fail rate. */
  failedEntries: 0,
  /** PutRecords requests answered. */
  putRecordsRequests: 0,
  /**
   * User records in the accepted entries: the records inside each KPL aggregate, 1 for a
   * plain entry. Counted only with --count-user-records (else equal to `records`).
   */
  userRecords: 0,
  /** Data bytes of those user records (with --count-user-records). */
  userDataBytes: 0,
  /** Accepted entries that were KPL aggregates, and corrupt ones (bad MD5 or body). */
  aggregates: 0,
  corruptAggregates: 0,
  /** Requests of any kind. */
  requests: 0,
};
let sequence = 0;

interface PutRecordsBody {
  StreamName?: string;
  StreamARN?: string;
  Records?: Array<{ Data?: string; PartitionKey?: string; ExplicitHashKey?: string }>;
}

/** Any request body: the fields of every operation the stub answers. */
interface RequestBody extends PutRecordsBody {
  ShardId?: string;
  ShardIteratorType?: string;
  StartingSequenceNumber?: string;
  Timestamp?: number;
  ShardIterator?: string;
  Limit?: number;
}

function putRecords(body: PutRecordsBody): { status: number; payload: string } {
  const records = body.Records;
  if (!Array.isArray(records) || records.length === 0 || records.length > 500) {
    return clientError('ValidationException', `Records must have 1 to 500 entries, got ${Array.isArray(records) ? records.length : 'none'}`);
  }
  totals.putRecordsRequests++;
  const parts: string[] = new Array<string>(records.length);
  let failed = 0;
  for (let i = 0; i < records.length; i++) {
    const entry = records[i];
    const key = entry.PartitionKey ?? '';
    if (failRate > 0 && random() < failRate) {
      failed++;
      parts[i] =
        '{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard shardId-000000000000 in stream bench (stub)"}';
      continue;
    }
    totals.records++;
    // Partition keys are ASCII in the benchmarks; Buffer.byteLength keeps others exact.
    totals.bytes += base64Length(entry.Data ?? '') + (isAscii(key) ? key.length : Buffer.byteLength(key, 'utf8'));
    if (countUserRecords) countUsers(entry.Data ?? '');
    else totals.userRecords++;
    const seq = String(++sequence);
    parts[i] = `{"SequenceNumber":"${SEQUENCE_PREFIX}${seq.padStart(32, '0')}","ShardId":"${shardIds[shardCount === 1 ? 0 : shardOf(key, entry.ExplicitHashKey)]}"}`;
  }
  totals.failedEntries += failed;
  return { status: 200, payload: `{"FailedRecordCount":${failed},"Records":[${parts.join(',')}]}` };
}

/** The shard whose hash key range (even split of ListShards) holds the entry, as Kinesis places it. */
function shardOf(partitionKey: string, explicitHashKey: string | undefined): number {
  const hashKey = explicitHashKey !== undefined ? BigInt(explicitHashKey) : BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
  return Math.min(shardCount - 1, Number(hashKey / HASH_SPAN));
}

/** Counts the user records (and their data bytes) of one entry: an aggregate's records, or the entry itself. */
function countUsers(base64: string): void {
  const data = Buffer.from(base64, 'base64');
  const result = deaggregateRecord(data);
  if (result.kind === 'aggregate') {
    totals.aggregates++;
    totals.userRecords += result.records.length;
    for (const record of result.records) totals.userDataBytes += record.data.length;
    return;
  }
  if (result.kind === 'corrupt') totals.corruptAggregates++;
  totals.userRecords++;
  totals.userDataBytes += data.length;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function streamName(body: { StreamName?: string; StreamARN?: string }): string {
  return body.StreamName ?? body.StreamARN?.split('/').pop() ?? 'bench';
}

/** The read stream a request names, if it names one. */
function readStreamName(body: { StreamName?: string; StreamARN?: string }): string | undefined {
  const name = body.StreamName ?? body.StreamARN?.split('/').pop();
  return readSide.has(name) ? name : undefined;
}

function listShards(): { status: number; payload: string } {
  const shards = shardIds.map((shardId, i) => {
    const span = (1n << 128n) / BigInt(shardCount);
    const start = span * BigInt(i);
    const end = i === shardCount - 1 ? (1n << 128n) - 1n : start + span - 1n;
    return {
      ShardId: shardId,
      HashKeyRange: { StartingHashKey: start.toString(), EndingHashKey: end.toString() },
      SequenceNumberRange: { StartingSequenceNumber: SEQUENCE_PREFIX + '0'.repeat(32) },
    };
  });
  return { status: 200, payload: JSON.stringify({ Shards: shards }) };
}

function describeStreamSummary(body: { StreamName?: string; StreamARN?: string }): { status: number; payload: string } {
  const name = streamName(body);
  return {
    status: 200,
    payload: JSON.stringify({
      StreamDescriptionSummary: {
        StreamName: name,
        StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`,
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: 0,
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: 'NONE',
        OpenShardCount: shardCount,
        ConsumerCount: 0,
      },
    }),
  };
}

/** DescribeStream (older clients, e.g. lifion-kinesis, check the stream with it). */
function describeStream(body: { StreamName?: string; StreamARN?: string }): { status: number; payload: string } {
  const name = streamName(body);
  const shards = (JSON.parse(listShards().payload) as { Shards: unknown[] }).Shards;
  return {
    status: 200,
    payload: JSON.stringify({
      StreamDescription: {
        StreamName: name,
        StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`,
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        Shards: shards,
        HasMoreShards: false,
        RetentionPeriodHours: 24,
        StreamCreationTimestamp: 0,
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: 'NONE',
      },
    }),
  };
}

function clientError(type: string, message: string): { status: number; payload: string } {
  return { status: 400, payload: JSON.stringify({ __type: type, message }) };
}

function reply(res: ServerResponse, status: number, payload: string | Buffer, contentType = CONTENT_TYPE): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
    'x-amzn-RequestId': 'stub',
  });
  res.end(payload);
}

function handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  totals.requests++;
  if (req.method === 'GET' && req.url !== undefined && (req.url === '/stats' || req.url.startsWith('/stats?'))) {
    const cpu = process.cpuUsage();
    const stream = new URL(req.url, 'http://stub').searchParams.get('stream') ?? undefined;
    const stats = { ...totals, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, read: readSide.totals(), readStreams: readSide.counters(stream) };
    reply(res, 200, JSON.stringify(stats), 'application/json');
    return;
  }
  if (req.method === 'GET' && req.url?.startsWith('/prime?') === true) {
    const query = new URL(req.url, 'http://stub').searchParams;
    const primed = readSide.prime(query.get('stream') ?? '', Number(query.get('limit') ?? 10_000));
    if (primed === undefined) reply(res, 404, JSON.stringify({ error: `no read stream ${query.get('stream')}` }), 'application/json');
    else reply(res, 200, JSON.stringify(primed), 'application/json');
    return;
  }
  const target = req.headers['x-amz-target'];
  if (req.method !== 'POST' || typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    const { status, payload } = clientError('UnknownOperationException', `unsupported request ${req.method} ${req.url}`);
    reply(res, status, payload);
    return;
  }
  let parsed: RequestBody;
  try {
    parsed = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as RequestBody);
  } catch {
    const { status, payload } = clientError('SerializationException', 'request body is not JSON');
    reply(res, status, payload);
    return;
  }
  const operation = target.slice(TARGET_PREFIX.length);
  let answer: { status: number; payload: string | Buffer };
  switch (operation) {
    case 'PutRecords':
      answer = putRecords(parsed);
      if (latencyMs > 0) {
        const { status, payload } = answer;
        setTimeout(() => reply(res, status, payload), latencyMs);
        return;
      }
      break;
    case 'ListShards': {
      const name = readStreamName(parsed);
      answer = name !== undefined ? readSide.listShards(name) : listShards();
      break;
    }
    case 'DescribeStreamSummary': {
      const name = readStreamName(parsed);
      answer = name !== undefined ? readSide.describeStreamSummary(name) : describeStreamSummary(parsed);
      break;
    }
    case 'DescribeStream':
      answer = describeStream(parsed);
      break;
    case 'GetShardIterator':
      answer = readSide.getShardIterator(parsed);
      break;
    case 'GetRecords':
      answer = readSide.getRecords(parsed);
      break;
    default:
      answer = clientError('UnknownOperationException', `operation ${operation} is not supported by the stub`);
  }
  reply(res, answer.status, answer.payload);
}

const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => handle(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), res));
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

server.listen(Number(args.port), '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n');
});

// Started with an IPC channel (by benchmarks/run.ts): exit with the parent instead of lingering as an orphan.
if (process.connected) process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
