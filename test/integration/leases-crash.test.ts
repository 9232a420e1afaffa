/**
 * Scale-out with the DynamoDB lease table, with real worker processes
 * (test/helpers/lease-worker.ts) on kinesalite + dynalite: a worker killed with
 * SIGKILL is taken over within the failover time, a late joiner gets its share, and
 * resharding under two workers (one of them killed, too) keeps parent-before-child
 * order per key.
 *
 * Workers report every consumed record, durable checkpoint and lease change as JSON
 * lines; the tests wait on those (never on fixed sleeps) and check them afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type Checkpoint } from '../../lib/index.js';
import { createTestStream, localClientConfig, startDynalite, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { writeItems } from '../helpers/streams.js';

interface Item {
  key: number;
  n: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER_SCRIPT = fileURLToPath(new URL('../helpers/lease-worker.ts', import.meta.url));
const FAILOVER_MS = 2000;
/** DynamoDBLeaseStore's default: failoverTimeMs / 3. */
const RENEWAL_MS = Math.floor(FAILOVER_MS / 3);
const KEYS = 32;
const CHECKPOINT_EVERY = 25;
/** Records a worker consumes past its last checkpoint before it is killed. */
const PAUSE_AT = 13;

// ---- worker processes -------------------------------------------------------------

type WorkerEvent =
  | { type: 'ready' }
  | { type: 'record'; shardId: string; sequenceNumber: string; subSequenceNumber?: number; data: Item }
  | { type: 'checkpoint'; shardId: string; checkpoint: Checkpoint }
  | { type: 'leaseGained' | 'leaseLost'; shardId: string }
  | { type: 'checkpointLost'; shardIds: string[] }
  | { type: 'paused'; uncheckpointed: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

/** One line of a worker: `index` orders lines of one worker exactly, `t` (ms) across workers. */
type Line = WorkerEvent & { t: number; index: number; worker: string };
type RecordLine = Extract<Line, { type: 'record' }>;
type LeaseLine = Extract<Line, { type: 'leaseGained' | 'leaseLost' }>;

/** Any worker printed a line or exited: waiters look again. */
const changes = new EventEmitter();
changes.setMaxListeners(100);
const live = new Set<LeaseWorker>();
process.on('exit', () => {
  for (const worker of live) worker.child.kill('SIGKILL');
});

interface WorkerOptions {
  kinesis: string;
  dynamo: string;
  table: string;
  stream: string;
  checkpointEvery?: number;
  checkpointIdleMs?: number;
}

class LeaseWorker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Line[] = [];
  readonly held = new Set<string>();
  /** n → this worker's deliveries of it. */
  readonly delivered = new Map<number, RecordLine[]>();
  readonly exited: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Set when the test ends the worker on purpose. */
  expectExit = false;
  private stderr = '';

  constructor(
    readonly name: string,
    options: WorkerOptions,
  ) {
    const args = [
      '--kinesis', options.kinesis,
      '--dynamo', options.dynamo,
      '--table', options.table,
      '--stream', options.stream,
      '--worker', name,
      '--failover-ms', String(FAILOVER_MS),
      '--checkpoint-every', String(options.checkpointEvery ?? 25),
      '--checkpoint-idle-ms', String(options.checkpointIdleMs ?? 0),
    ];
    // stdin stays open: the worker exits when it closes (this process is gone).
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this);
    this.child.stdin.on('error', () => {});
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (text) => this.onLine(text));
    // 'close' (not 'exit'): every line of a killed worker is parsed before this resolves.
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        changes.emit('change');
        resolve();
      });
    });
  }

  private onLine(text: string): void {
    let event: WorkerEvent & { t: number };
    try {
      event = JSON.parse(text) as WorkerEvent & { t: number };
    } catch {
      this.stderr += `\n(stdout) ${text}`;
      return;
    }
    const line = { ...event, index: this.lines.length, worker: this.name } as Line;
    this.lines.push(line);
    if (line.type === 'leaseGained') this.held.add(line.shardId);
    else if (line.type === 'leaseLost') this.held.delete(line.shardId);
    else if (line.type === 'record') {
      const list = this.delivered.get(line.data.n);
      if (list === undefined) this.delivered.set(line.data.n, [line]);
      else list.push(line);
    }
    changes.emit('change');
  }

  get records(): RecordLine[] {
    return this.lines.filter((l): l is RecordLine => l.type === 'record');
  }

  leaseLines(): LeaseLine[] {
    return this.lines.filter((l): l is LeaseLine => l.type === 'leaseGained' || l.type === 'leaseLost');
  }

  /** Last durable checkpoint of a shard printed by this worker (optionally: before line `beforeIndex`). */
  lastCheckpoint(shardId: string, beforeIndex = Number.POSITIVE_INFINITY): Checkpoint | undefined {
    let last: Checkpoint | undefined;
    for (const line of this.lines) if (line.type === 'checkpoint' && line.shardId === shardId && line.index < beforeIndex) last = line.checkpoint;
    return last;
  }

  /** Records consumed since the last checkpoint line. */
  sinceCheckpoint(): number {
    let count = 0;
    for (let i = this.lines.length - 1; i >= 0 && this.lines[i].type !== 'checkpoint'; i--) if (this.lines[i].type === 'record') count++;
    return count;
  }

  /** Why this worker cannot go on, if it cannot: an error line or an exit nobody asked for. */
  failure(): string | undefined {
    const error = this.lines.find((l) => l.type === 'error');
    if (error !== undefined) return `${this.name} failed: ${error.message}\n${this.stderr}`;
    if (this.exit !== undefined && !this.expectExit) return `${this.name} exited (${this.exit.code ?? this.exit.signal}) unexpectedly\n${this.stderr}`;
    return undefined;
  }

  describe(): string {
    return `${this.name}: holds [${[...this.held].join(', ')}], ${this.delivered.size} distinct records, exit ${JSON.stringify(this.exit)}\n  stderr: ${this.stderr.slice(-600)}`;
  }

  /** A command line on the worker's stdin (see lease-worker.ts). */
  command(text: string): void {
    this.child.stdin.write(`${text}\n`);
  }

  kill(signal: NodeJS.Signals): void {
    this.expectExit = true;
    this.child.kill(signal);
  }

  /** SIGTERM: the worker checkpoints, releases its leases and exits 0. */
  async stop(): Promise<void> {
    if (this.exit !== undefined) return;
    this.kill('SIGTERM');
    await this.exited;
  }
}

/** Resolves once `predicate` holds; checked on every worker line; fails fast if a worker fails. */
function waitFor(what: string, workers: readonly LeaseWorker[], predicate: () => boolean, timeoutMs = 20000): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      changes.off('change', check);
      if (error === undefined) resolve();
      else reject(error);
    };
    const check = (): void => {
      const failure = workers.map((w) => w.failure()).find((f) => f !== undefined);
      if (failure !== undefined) return finish(new Error(`while waiting for ${what}: ${failure}`));
      if (predicate()) finish();
    };
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${workers.map((w) => w.describe()).join('\n')}`)),
      timeoutMs,
    );
    changes.on('change', check);
    check();
  });
}

/** Every n in [from, to) delivered by at least one of the workers. */
function allDelivered(workers: readonly LeaseWorker[], from: number, to: number): boolean {
  for (let n = from; n < to; n++) if (!workers.some((w) => w.delivered.has(n))) return false;
  return true;
}

function missing(workers: readonly LeaseWorker[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let n = from; n < to; n++) if (!workers.some((w) => w.delivered.has(n))) out.push(n);
  return out;
}

/** a happened before b: exactly within one worker, by its clock (ms, same host) across workers. */
function happenedBefore(a: Line, b: Line): boolean {
  return a.worker === b.worker ? a.index < b.index : a.t < b.t;
}

// ---- Kinesis and DynamoDB helpers ---------------------------------------------------

function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A record at position (seq, sub) is at or before a checkpoint. */
function atOrBefore(record: RecordLine, checkpoint: Checkpoint): boolean {
  if (checkpoint.sequenceNumber === 'SHARD_END') return true;
  return compareSeq(record.sequenceNumber, checkpoint.sequenceNumber) <= 0;
}

async function waitActive(client: KinesisClient, streamName: string): Promise<void> {
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function listShards(client: KinesisClient, streamName: string): Promise<Shard[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  return Shards;
}

function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
}

async function leaseOwners(client: DynamoDBClient, table: string): Promise<Map<string, { owner: string | undefined; checkpoint: string | undefined }>> {
  const { Items = [] } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return new Map(Items.map((item) => [item.leaseKey?.S ?? '', { owner: item.leaseOwner?.S, checkpoint: item.checkpoint?.S }]));
}

// ---- the tests --------------------------------------------------------------------

describe('DynamoDBLeaseStore with worker processes (kill -9, join, reshard)', function () {
  this.timeout(60000);
  let kinesis: LocalServer;
  let dynalite: LocalServer;
  let kinesisClient: KinesisClient;
  let dynamo: DynamoDBClient;
  let workers: LeaseWorker[] = [];

  const startWorker = (name: string, options: Omit<WorkerOptions, 'kinesis' | 'dynamo'>): LeaseWorker => {
    const worker = new LeaseWorker(name, { kinesis: kinesis.endpoint, dynamo: dynalite.endpoint, ...options });
    workers.push(worker);
    return worker;
  };

  before(async () => {
    [kinesis, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
    kinesisClient = new KinesisClient(localClientConfig(kinesis.endpoint));
    dynamo = dynamoClient(dynalite.endpoint);
  });

  afterEach(async () => {
    for (const worker of workers) if (worker.exit === undefined) worker.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    workers = [];
  });

  after(async () => {
    kinesisClient?.destroy();
    dynamo?.destroy();
    await Promise.all([kinesis?.stop(), dynalite?.stop()]);
  });

  it('kill -9 of one of two workers: the other takes its shards within the failover time and delivers the rest', async () => {
    const stream = 'crash';
    const table = 'leases-crash';
    await createTestStream(kinesis.endpoint, stream, 4);
    await writeItems(kinesis.endpoint, stream, 0, 800, KEYS);
    const a = startWorker('worker-a', { table, stream, checkpointEvery: CHECKPOINT_EVERY });
    const b = startWorker('worker-b', { table, stream, checkpointEvery: CHECKPOINT_EVERY });
    await waitFor('a 2/2 split and the first 800 records', [a, b], () => a.held.size === 2 && b.held.size === 2 && allDelivered([a, b], 0, 800));

    // a stops consuming once exactly PAUSE_AT records are past its last checkpoint, early
    // in the next batch of records (a worker stuck mid-stream: leases still renewed, more
    // records fetched and buffered); then it is killed.
    a.command(`pause ${PAUSE_AT}`);
    const writing = writeItems(kinesis.endpoint, stream, 800, 2000, KEYS);
    await waitFor('worker-a to pause mid-stream', [a, b], () => a.lines.some((l) => l.type === 'paused'));
    // Usually on a record written after the pause command; it can also be one a re-read
    // after taking a shard over from b, which these checks cover just the same.
    const aShards = [...a.held].sort();
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    assert.equal(a.exit?.signal, 'SIGKILL');
    assert.deepEqual([...a.held].sort(), aShards, 'worker-a printed lease changes after the kill was decided');
    await writing;
    await writeItems(kinesis.endpoint, stream, 2000, 2400, KEYS); // written while nobody reads a's shards

    await waitFor('worker-b to hold all 4 leases', [b], () => b.held.size === 4);
    const gains = b.leaseLines().filter((l) => l.type === 'leaseGained' && l.t >= killedAt);
    assert.deepEqual(gains.map((l) => l.shardId).sort(), aShards, 'b gained exactly a\'s shards after the kill');
    const takeoverMs = Math.max(...gains.map((l) => l.t)) - killedAt;
    // a's last renewal was at most at the kill; b first sees that counter at its next scan
    // (<= 1 renewal interval later), calls it expired at the first scan more than
    // failoverTimeMs after that (<= 1 more interval). Each interval also includes one pass
    // (a few DynamoDB calls on dynalite): 250 ms covers both passes and the take writes.
    const boundMs = FAILOVER_MS + 2 * RENEWAL_MS + 250;
    // a may have renewed last up to one interval before the kill: no earlier than this.
    assert.ok(takeoverMs > FAILOVER_MS - RENEWAL_MS, `b took a's leases ${takeoverMs} ms after the kill: before they could expire`);
    assert.ok(takeoverMs <= boundMs, `b took a's leases ${takeoverMs} ms after the kill, more than ${boundMs} ms`);

    await waitFor('all 2400 records', [b], () => allDelivered([a, b], 0, 2400), 20000);
    assert.deepEqual(missing([a, b], 0, 2400), []);

    // Redelivery only after the last durable checkpoint of each of a's shards.
    let duplicates = 0;
    let consumedAfterCheckpoint = 0;
    for (const shardId of aShards) {
      const gainedAt = gains.find((l) => l.shardId === shardId) as LeaseLine;
      // A checkpoint line is printed once durable: a's (it died after printing them) or
      // b's from before a stole the shard at the start.
      const durable = [a.lastCheckpoint(shardId), b.lastCheckpoint(shardId, gainedAt.index)]
        .filter((c): c is Checkpoint => c !== undefined)
        .sort((x, y) => compareSeq(x.sequenceNumber, y.sequenceNumber))
        .pop();
      assert.ok(durable !== undefined, `${shardId} was checkpointed before the kill`);
      const afterTakeover = b.records.filter((r) => r.shardId === shardId && r.index > gainedAt.index);
      assert.ok(afterTakeover.length > 0, `b read ${shardId} after the takeover`);
      const early = afterTakeover.filter((r) => atOrBefore(r, durable));
      assert.deepEqual(early.map((r) => r.sequenceNumber), [], `b redelivered records of ${shardId} at or before its checkpoint ${durable.sequenceNumber}`);
      for (let i = 1; i < afterTakeover.length; i++) assert.ok(compareSeq(afterTakeover[i - 1].sequenceNumber, afterTakeover[i].sequenceNumber) < 0, 'b reads in order');
      // What b delivered again is exactly what a consumed after that checkpoint.
      const aAfter = a.records.filter((r) => r.shardId === shardId && !atOrBefore(r, durable)).map((r) => r.sequenceNumber);
      const aSeqs = new Set(a.records.filter((r) => r.shardId === shardId).map((r) => r.sequenceNumber));
      const again = afterTakeover.filter((r) => aSeqs.has(r.sequenceNumber)).map((r) => r.sequenceNumber);
      assert.deepEqual(again, aAfter, `${shardId}: b delivered again ${again.join(',')}; a had consumed ${aAfter.join(',')} after its checkpoint`);
      duplicates += again.length;
      consumedAfterCheckpoint += aAfter.length;
    }
    // a paused (and was killed) with PAUSE_AT records consumed past its last checkpoint.
    assert.equal(consumedAfterCheckpoint, PAUSE_AT, 'records a consumed after its last checkpoint');
    console.log(
      `      takeover ${takeoverMs} ms after kill -9 (bound ${boundMs} ms: failover ${FAILOVER_MS} + 2 x renewal ${RENEWAL_MS} + 250); ` +
        `${duplicates} of the ${consumedAfterCheckpoint} records a consumed after its last checkpoint delivered again by b`,
    );

    const owners = await leaseOwners(dynamo, table);
    assert.deepEqual([...owners.values()].map((v) => v.owner), ['worker-b', 'worker-b', 'worker-b', 'worker-b']);
  });

  it('workers that join later get their share by stealing (4 shards: 4 → 2/2 → 2/1/1)', async () => {
    // Not 'join': kinesalite keeps stream dbs in an array, so `streamDbs['join']` is Array.prototype.join.
    const stream = 'late-joiners';
    const table = 'leases-join';
    await createTestStream(kinesis.endpoint, stream, 4);
    // 410: a is left with 10 records consumed and not checkpointed when the others steal.
    await writeItems(kinesis.endpoint, stream, 0, 410, KEYS);
    const a = startWorker('worker-a', { table, stream, checkpointEvery: CHECKPOINT_EVERY });
    await waitFor('worker-a alone to hold 4 leases and read 410 records', [a], () => a.held.size === 4 && allDelivered([a], 0, 410));

    const b = startWorker('worker-b', { table, stream, checkpointEvery: CHECKPOINT_EVERY });
    await waitFor('b to be ready', [a, b], () => b.lines.some((l) => l.type === 'ready'));
    const bReady = b.lines[0].t;
    await waitFor('an even 2/2 split', [a, b], () => a.held.size === 2 && b.held.size === 2);
    const bShareMs = Math.max(...b.leaseLines().map((l) => l.t)) - bReady;

    const c = startWorker('worker-c', { table, stream, checkpointEvery: CHECKPOINT_EVERY });
    await waitFor('a 2/1/1 split', [a, b, c], () => c.held.size === 1 && a.held.size + b.held.size === 3 && Math.min(a.held.size, b.held.size) === 1);

    await writeItems(kinesis.endpoint, stream, 410, 800, KEYS);
    await waitFor('all 800 records', [a, b, c], () => allDelivered([a, b, c], 0, 800));
    const all = [a, b, c];
    const shards = new Set(all.flatMap((w) => [...w.held]));
    assert.equal(shards.size, 4, 'every shard held by exactly one worker');
    assert.equal(all.reduce((sum, w) => sum + w.held.size, 0), 4);
    for (const worker of all) {
      for (const shardId of worker.held) {
        assert.ok(worker.records.some((r) => r.shardId === shardId && r.data.n >= 410), `${worker.name} read its shard ${shardId}`);
      }
    }
    // The split is stable (no shard went back and forth), and a thief starts after the
    // victim's last durable checkpoint.
    for (const worker of all) {
      const gained = worker.leaseLines().filter((l) => l.type === 'leaseGained');
      assert.equal(new Set(gained.map((l) => l.shardId)).size, gained.length, `${worker.name} gained a shard twice: ${gained.map((l) => l.shardId).join(', ')}`);
    }
    let redelivered = 0;
    for (const thief of [b, c]) {
      for (const gain of thief.leaseLines().filter((l) => l.type === 'leaseGained')) {
        const victim = all.find((w) => w !== thief && w.leaseLines().some((l) => l.type === 'leaseLost' && l.shardId === gain.shardId));
        if (victim === undefined) continue;
        // Every checkpoint the victim stored is printed, and all came before the theft
        // (a take is conditional on the lease counter each checkpoint moves).
        const durable = victim.lastCheckpoint(gain.shardId);
        const mine = thief.records.filter((r) => r.shardId === gain.shardId && r.index > gain.index);
        if (durable !== undefined) {
          const early = mine.filter((r) => atOrBefore(r, durable));
          assert.deepEqual(early, [], `${thief.name} redelivered ${gain.shardId} at or before ${victim.name}'s checkpoint`);
        }
        // What the thief delivered again is exactly what the victim consumed after it.
        const victimAfter = victim.records.filter((r) => r.shardId === gain.shardId && (durable === undefined || !atOrBefore(r, durable))).map((r) => r.sequenceNumber);
        const victimSeqs = new Set(victimAfter);
        const again = mine.filter((r) => victimSeqs.has(r.sequenceNumber)).map((r) => r.sequenceNumber);
        assert.deepEqual(again, victimAfter, `${thief.name} on ${gain.shardId}: delivered again ${again.join(',')}, ${victim.name} consumed ${victimAfter.join(',')} after its checkpoint`);
        redelivered += again.length;
      }
    }
    console.log(`      b had its 2 shards ${bShareMs} ms after its start; c got 1; ${redelivered} records delivered again after the thefts`);

    // Graceful stop: each checkpoints, releases its leases and exits 0.
    await Promise.all(all.map((w) => w.stop()));
    for (const worker of all) {
      assert.equal(worker.exit?.code, 0, `${worker.name} exit ${JSON.stringify(worker.exit)}`);
      assert.ok(worker.lines.some((l) => l.type === 'stopped'));
    }
    const owners = await leaseOwners(dynamo, table);
    assert.deepEqual([...owners.values()].map((v) => v.owner), [undefined, undefined, undefined, undefined], 'every lease released');
  });

  /**
   * 3 shards: records before, a split of shard 0, records between, a merge of shards 1
   * and 2, records after, all while two workers read. With `crash`, the worker holding
   * the split parent is killed -9 right after the split (before the merge).
   */
  async function reshardUnderTwoWorkers(stream: string, table: string, crash: boolean): Promise<void> {
    await createTestStream(kinesis.endpoint, stream, 3);
    const a = startWorker('worker-a', { table, stream, checkpointEvery: CHECKPOINT_EVERY, checkpointIdleMs: 300 });
    const b = startWorker('worker-b', { table, stream, checkpointEvery: CHECKPOINT_EVERY, checkpointIdleMs: 300 });
    await waitFor('a 2/1 split', [a, b], () => a.held.size + b.held.size === 3 && a.held.size > 0 && b.held.size > 0);

    await writeItems(kinesis.endpoint, stream, 0, 600, KEYS); // before
    await waitFor('both workers reading', [a, b], () => a.records.length > 0 && b.records.length > 0);
    const [s0, s1, s2] = await listShards(kinesisClient, stream);
    const middle = (BigInt(s0.HashKeyRange?.StartingHashKey ?? '0') + BigInt(s0.HashKeyRange?.EndingHashKey ?? '0')) / 2n;
    const splitAt = Date.now();
    await kinesisClient.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId, NewStartingHashKey: middle.toString() }));
    await waitActive(kinesisClient, stream);
    await writeItems(kinesis.endpoint, stream, 600, 1200, KEYS); // between
    const survivors = [a, b];
    if (crash) {
      const victim = a.held.has(s0.ShardId ?? '') ? a : b;
      victim.kill('SIGKILL');
      await victim.exited;
      survivors.splice(survivors.indexOf(victim), 1);
    }
    const mergeAt = Date.now();
    await kinesisClient.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: s1.ShardId, AdjacentShardToMerge: s2.ShardId }));
    await waitActive(kinesisClient, stream);
    await writeItems(kinesis.endpoint, stream, 1200, 1800, KEYS); // after

    await waitFor('all 1800 records', survivors, () => allDelivered([a, b], 0, 1800), 30000);
    assert.deepEqual(missing([a, b], 0, 1800), []);

    const shards = await listShards(kinesisClient, stream);
    assert.equal(shards.length, 6);
    const parentsOf = new Map(shards.map((s) => [s.ShardId ?? '', [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined)]));
    const records = [...a.records, ...b.records];
    const byShardAndKey = new Map<string, RecordLine[]>();
    for (const r of records) {
      const k = `${r.shardId}/${r.data.key}`;
      const list = byShardAndKey.get(k);
      if (list === undefined) byShardAndKey.set(k, [r]);
      else list.push(r);
    }
    // Every child record of a key comes after every record of that key in its parents,
    // whichever worker delivered them.
    let checkedPairs = 0;
    let crossWorker = 0;
    for (const r of records) {
      for (const parent of parentsOf.get(r.shardId) ?? []) {
        const parentRecords = byShardAndKey.get(`${parent}/${r.data.key}`) ?? [];
        const byN = new Map<number, RecordLine[]>();
        for (const p of parentRecords) byN.set(p.data.n, [...(byN.get(p.data.n) ?? []), p]);
        for (const [n, deliveries] of byN) {
          assert.ok(
            deliveries.some((p) => happenedBefore(p, r)),
            `key ${r.data.key}: ${r.shardId} record n=${r.data.n} (${r.worker}) delivered before its parent ${parent}'s n=${n}`,
          );
          checkedPairs++;
          if (deliveries.every((p) => p.worker !== r.worker)) crossWorker++;
        }
      }
    }
    // Per key, first deliveries come in write order.
    const first = new Map<number, RecordLine>();
    for (const r of records) {
      const seen = first.get(r.data.n);
      if (seen === undefined || happenedBefore(r, seen)) first.set(r.data.n, r);
    }
    for (let key = 0; key < KEYS; key++) {
      const ns = [...first.keys()].filter((n) => n % KEYS === key).sort((x, y) => x - y);
      for (let i = 1; i < ns.length; i++) {
        const earlier = first.get(ns[i - 1]) as RecordLine;
        const later = first.get(ns[i]) as RecordLine;
        assert.ok(!happenedBefore(later, earlier), `key ${key}: n=${ns[i]} (${later.worker}, ${later.shardId}) delivered before n=${ns[i - 1]} (${earlier.worker}, ${earlier.shardId})`);
      }
    }
    const childReaders = new Set(records.filter((r) => (parentsOf.get(r.shardId) ?? []).length > 0).map((r) => `${r.worker}:${r.shardId}`));
    const lateS0 = records.filter((r) => r.shardId === s0.ShardId && r.t > splitAt).length;
    const lateS12 = records.filter((r) => (r.shardId === s1.ShardId || r.shardId === s2.ShardId) && r.t > mergeAt).length;
    console.log(
      `      ${checkedPairs} parent/child pairs checked, ${crossWorker} across workers; children read by ${[...childReaders].sort().join(', ')}; ` +
        `parent records delivered after the split ${lateS0}, after the merge ${lateS12}`,
    );
    const owners = await leaseOwners(dynamo, table);
    for (const parent of [s0.ShardId, s1.ShardId, s2.ShardId]) assert.equal(owners.get(parent ?? '')?.checkpoint, 'SHARD_END', `${parent} checkpointed to its end`);
  }

  it('a split and a merge while two workers read keep parent-before-child order per key', async () => {
    await reshardUnderTwoWorkers('reshard2w', 'leases-reshard', false);
  });

  it('the same, with the worker holding the split parent killed -9 between split and merge', async () => {
    await reshardUnderTwoWorkers('reshard2w-crash', 'leases-reshard-crash', true);
  });
});
