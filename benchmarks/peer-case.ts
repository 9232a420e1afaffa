/**
 * One peer library's writer run, in a fresh process (benchmarks/run.ts starts it):
 *
 *   node --import tsx benchmarks/peer-case.ts --peer aws-kinesis-writable|kinesis-streams|lifion-kinesis \
 *     --endpoint URL --count 100000 [--warmup 10000]
 *
 * The peers come from benchmarks/package.json (installed into benchmarks/node_modules by
 * `npm run bench`) and use the AWS SDK v2, pointed at the stub with `endpoint` (http, so no
 * TLS). Each writes `count` records of 100 bytes (an object whose JSON is 100 bytes: every
 * peer JSON-encodes what it is given) with random 10-character partition keys, the way its
 * README shows, with batches of 500 where it has the option:
 *
 * - aws-kinesis-writable: `new KinesisWritable({ streamName, endpoint, …, objectMode: true,
 *   partitionKey, buffer: { length: 500, timeout: 0.05 } })`; its _write never waits for a
 *   request (no backpressure) and it has no _final, so 'finish' says nothing about delivery.
 * - kinesis-streams: `new KinesisWritable(client, streamName, { highWaterMark: 500, wait: 50 })`,
 *   `getPartitionKey` overridden; one PutRecords at a time.
 * - lifion-kinesis: `new Kinesis({ streamName, createStreamIfNeeded: false, …awsOptions })`,
 *   `putRecords({ records })` of 500 records, 8 at a time (it is a client, not a Writable).
 *
 * Delivery is judged by the stub, not by the peer: after the peer says it is done, this
 * process polls the stub's /stats until it has the records or nothing arrived for 1 s. The
 * run's wall time ends when the last record arrived; records/s = records stored ÷ wall time.
 * Prints one JSON line (PeerResult).
 */
import { createRequire } from 'node:module';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomPartitionKey } from '../lib/writable/partition-key.js';
import { CREDENTIALS, REGION, sampleRun, stubStats } from './measure.js';

export const PEERS = ['aws-kinesis-writable', 'kinesis-streams', 'lifion-kinesis'] as const;
export type Peer = (typeof PEERS)[number];

export interface PeerResult {
  peer: Peer;
  version: string;
  recordBytes: number;
  /** Records given to the peer. */
  records: number;
  /** Records the stub stored during the measured run. */
  stored: number;
  wallMs: number;
  recordsPerSec: number;
  cpuUs: number;
  cpuUsPerRecord: number;
  peakRssMiB: number;
  /** PutRecords requests the stub answered during the measured run. */
  requests: number;
  /** An error the peer reported (the run may still have stored records). */
  error: string | null;
}

const STREAM_NAME = 'bench';
const RECORD_BYTES = 100;
/** JSON.stringify of this object is RECORD_BYTES long. */
const ITEM = { d: 'x'.repeat(RECORD_BYTES - 8) };
const require = createRequire(new URL('./package.json', import.meta.url));

// Minimal shapes of the peers' CommonJS exports (they ship no types); loaded as unknown, narrowed here.
interface AwsSdkV2 {
  Kinesis: new (options: Record<string, unknown>) => object;
}
type AwsKinesisWritableCtor = new (params: Record<string, unknown>) => Writable;
interface KinesisStreamsModule {
  KinesisWritable: new (client: object, streamName: string, options: { highWaterMark?: number; wait?: number }) => Writable & {
    getPartitionKey: (data: unknown) => string;
  };
}
interface LifionKinesis {
  putRecords(params: { records: Array<{ data: unknown; partitionKey?: string }> }): Promise<unknown>;
}
type LifionKinesisCtor = new (options: Record<string, unknown>) => LifionKinesis;

function load<T>(name: string, check: (m: unknown) => boolean): T {
  const loaded: unknown = require(name);
  if (!check(loaded)) throw new Error(`${name} does not export what the benchmark expects`);
  return loaded as T;
}

function peerVersion(peer: Peer): string {
  const pkg: unknown = require(`${peer}/package.json`);
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function awsOptions(endpoint: string): Record<string, unknown> {
  return { endpoint, region: REGION, sslEnabled: false, ...CREDENTIALS };
}

/** Waits until the stub holds `target` user records, or none arrived for `quietMs`; returns the count and when the last arrived. */
async function waitForStub(endpoint: string, target: number, quietMs = 1000): Promise<{ userRecords: number; lastArrival: number }> {
  let last = await stubStats(endpoint);
  let lastArrival = performance.now();
  for (;;) {
    if (last.userRecords >= target) return { userRecords: last.userRecords, lastArrival };
    await sleep(5);
    const now = await stubStats(endpoint);
    if (now.userRecords !== last.userRecords) {
      lastArrival = performance.now();
      last = now;
    } else if (performance.now() - lastArrival > quietMs) return { userRecords: last.userRecords, lastArrival };
  }
}

function* items(count: number): Generator<typeof ITEM> {
  for (let i = 0; i < count; i++) yield ITEM;
}

/** Runs the peer over `count` records; resolves when the peer says it is done (or rejects with its error). */
async function runPeer(peer: Peer, endpoint: string, count: number): Promise<void> {
  const isFunction = (m: unknown) => typeof m === 'function';
  if (peer === 'aws-kinesis-writable') {
    const KinesisWritable = load<AwsKinesisWritableCtor>('aws-kinesis-writable', isFunction);
    const writable = new KinesisWritable({
      streamName: STREAM_NAME,
      ...awsOptions(endpoint),
      objectMode: true,
      partitionKey: () => randomPartitionKey(),
      buffer: { length: 500, timeout: 0.05 },
    });
    await pipeline(Readable.from(items(count)), writable);
    return;
  }
  if (peer === 'kinesis-streams') {
    const AWS = load<AwsSdkV2>('aws-sdk', (m) => typeof m === 'object' && m !== null && 'Kinesis' in m);
    const { KinesisWritable } = load<KinesisStreamsModule>('kinesis-streams', (m) => typeof m === 'object' && m !== null && 'KinesisWritable' in m);
    const writable = new KinesisWritable(new AWS.Kinesis(awsOptions(endpoint)), STREAM_NAME, { highWaterMark: 500, wait: 50 });
    writable.getPartitionKey = () => randomPartitionKey();
    await pipeline(Readable.from(items(count)), writable);
    return;
  }
  const Kinesis = load<LifionKinesisCtor>('lifion-kinesis', isFunction);
  const client = new Kinesis({ streamName: STREAM_NAME, createStreamIfNeeded: false, ...awsOptions(endpoint) });
  const batch = 500;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = Math.min(batch, count - next);
      next += n;
      await client.putRecords({ records: Array.from({ length: n }, () => ({ data: ITEM, partitionKey: randomPartitionKey() })) });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { peer: { type: 'string' }, endpoint: { type: 'string' }, count: { type: 'string', default: '100000' }, warmup: { type: 'string', default: '10000' } },
  });
  const peer = PEERS.find((p) => p === values.peer);
  if (peer === undefined) throw new Error(`--peer must be one of ${PEERS.join(', ')}`);
  if (values.endpoint === undefined) throw new Error('--endpoint is required');
  const endpoint = values.endpoint;
  const count = Number(values.count);
  const warmup = Number(values.warmup);
  const version = peerVersion(peer);

  if (warmup > 0) {
    const before = await stubStats(endpoint);
    await runPeer(peer, endpoint, warmup).catch(() => undefined);
    await waitForStub(endpoint, before.userRecords + warmup, 500);
  }
  await sleep(50);

  const before = await stubStats(endpoint);
  let error: string | null = null;
  // A peer that returns before its requests are answered keeps working while the stub is
  // polled, so CPU runs to the last arrival (the polling's own few fetches are included).
  const run = await sampleRun(async () => {
    try {
      await runPeer(peer, endpoint, count);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    return waitForStub(endpoint, before.userRecords + count);
  });
  const arrived = run.value;
  const after = await stubStats(endpoint);
  const wallMs = Math.max(arrived.lastArrival - run.startedAt, 1);
  const stored = arrived.userRecords - before.userRecords;
  const cpuUs = run.cpuUs;
  const result: PeerResult = {
    peer,
    version,
    recordBytes: RECORD_BYTES,
    records: count,
    stored,
    wallMs,
    recordsPerSec: stored / (wallMs / 1000),
    cpuUs,
    cpuUsPerRecord: cpuUs / Math.max(stored, 1),
    peakRssMiB: run.peakRssMiB,
    requests: after.putRecordsRequests - before.putRecordsRequests,
    error,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  // Some peers leave timers or sockets behind.
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
