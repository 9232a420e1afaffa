/**
 * Reliability: reader and writer processes killed with SIGKILL at seeded points
 * (test/helpers/crash-reader.ts, test/helpers/crash-writer.ts) on kinesalite (+ dynalite).
 *
 * Reader: a child reads a 3000-record, 4-shard stream with checkpoint() every K records
 * and kills itself with SIGKILL right after consuming record `killAfter` = m·K + past
 * (past 0: right after the checkpoint() call, its write in flight). A second child with
 * the same store (a FileCheckpointStore file, or a DynamoDBLeaseStore table on dynalite)
 * then reads on. Checked, per shard:
 *  - the durable checkpoint (read from the store after the kill) is at or after the last
 *    one the first child printed (the reader's 'checkpoint' event means durable), and is
 *    exactly the shard's last record consumed at the last checkpoint() call (or, when the
 *    kill cut that call's write off, at the one before);
 *  - the restart delivers exactly the shard's records after that checkpoint, in order:
 *    nothing at or before it (no repeat of checkpointed records), nothing skipped;
 *  - over both runs, every record was delivered.
 *
 * Writer: a child writes n = 0.. with `await writer.flush()` every M records, printing
 * `{"flushed":n}` after each, and kills itself with SIGKILL right after write() of record
 * K. Every record up to the last printed flush must be in the stream (read straight from
 * kinesalite with GetRecords over every shard), and no record after K.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FileCheckpointStore, type Checkpoint } from '../../lib/index.js';
import { mulberry32 } from '../helpers/fault-proxy.js';
import { createTestStream, localClientConfig, startDynalite, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { readStored, storedJson } from '../helpers/streams.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READER_SCRIPT = fileURLToPath(new URL('../helpers/crash-reader.ts', import.meta.url));
const WRITER_SCRIPT = fileURLToPath(new URL('../helpers/crash-writer.ts', import.meta.url));
const READ_STREAM = 'crash-read';
const READ_RECORDS = 3000;
const READ_SHARDS = 4;
const KEYS = 32;
const SEEDS = [101, 202, 303];
const FAILOVER_MS = 1500;

// ---- child processes ----------------------------------------------------------------

type ReaderLine =
  | { type: 'record'; shardId: string; sequenceNumber: string; n: number }
  | { type: 'checkpoint'; shardId: string; checkpoint: Checkpoint }
  | { type: 'killing'; consumed: number; uncheckpointed: number }
  | { type: 'error'; message: string };
type RecordLine = Extract<ReaderLine, { type: 'record' }>;

const live = new Set<{ process: ChildProcessWithoutNullStreams }>();
process.on('exit', () => {
  for (const child of live) child.process.kill('SIGKILL');
});

/** A child process printing JSON lines; `changed` fires on every line and on exit. */
class Child<L = ReaderLine> {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: L[] = [];
  readonly changed = new EventEmitter();
  readonly closed: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stderr = '';

  constructor(script: string, args: string[]) {
    // stdin stays open: the child exits when it closes (this process is gone).
    this.process = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this);
    this.process.stdin.on('error', () => {});
    this.process.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    createInterface({ input: this.process.stdout }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text) as L);
      } catch {
        this.stderr += `\n(stdout) ${text}`;
      }
      this.changed.emit('change');
    });
    // 'close', not 'exit': every line of a killed child is parsed before this resolves.
    this.closed = new Promise((resolve) => {
      this.process.once('close', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        this.changed.emit('change');
        resolve();
      });
    });
  }

  /** Resolves once `predicate` holds (checked on every line); rejects if the child exits first or on timeout. */
  waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.changed.off('change', check);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        if (predicate()) return finish();
        if (this.exit !== undefined) finish(new Error(`child exited (${JSON.stringify(this.exit)}) while waiting for ${what}\n${this.describe()}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`)), timeoutMs);
      this.changed.on('change', check);
      check();
    });
  }

  describe(): string {
    return `${this.lines.length} lines, last: ${JSON.stringify(this.lines.slice(-3))}\nstderr: ${this.stderr.slice(-1500)}`;
  }

  async kill(): Promise<void> {
    if (this.exit === undefined) this.process.kill('SIGKILL');
    await this.closed;
  }
}

// ---- Kinesis helpers ----------------------------------------------------------------

interface Stored {
  sequenceNumber: string;
  n: number;
}

function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Every record of every shard, straight from the server, in shard order. */
async function readBack(client: KinesisClient, streamName: string): Promise<Map<string, Stored[]>> {
  const out = new Map<string, Stored[]>();
  for (const record of await readStored(client, streamName)) {
    const shard = out.get(record.shardId) ?? [];
    out.set(record.shardId, shard);
    shard.push({ sequenceNumber: record.SequenceNumber ?? '', n: storedJson<{ n: number }>(record).n });
  }
  return out;
}

/** The durable checkpoint of each shard in a lease table (none for a shard not read yet). */
async function leaseCheckpoints(endpoint: string, table: string): Promise<Map<string, Checkpoint>> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const { Items = [] } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    const out = new Map<string, Checkpoint>();
    for (const item of Items) {
      const checkpoint = item.checkpoint?.S;
      if (checkpoint !== undefined && /^\d+$/.test(checkpoint)) out.set(item.leaseKey?.S ?? '', { sequenceNumber: checkpoint });
      else if (checkpoint === 'SHARD_END') out.set(item.leaseKey?.S ?? '', { sequenceNumber: checkpoint });
    }
    return out;
  } finally {
    client.destroy();
  }
}

// ---- seeded kill points ---------------------------------------------------------------

interface ReaderPlan {
  seed: number;
  /** Checkpoint every K records. */
  every: number;
  /** Kill right after this many records consumed. */
  killAfter: number;
  /** Records consumed after the last checkpoint() call when killed. */
  past: number;
}

function readerPlan(seed: number, index: number): ReaderPlan {
  const random = mulberry32(seed);
  const every = 20 + Math.floor(random() * 180);
  const checkpointsBefore = 1 + Math.floor(random() * (Math.floor((READ_RECORDS - 200) / every) - 1));
  // The first seed kills right after a checkpoint() call: its write is cut off in flight.
  const past = index === 0 ? 0 : Math.floor(random() * every);
  return { seed, every, killAfter: checkpointsBefore * every + past, past };
}

interface WriterPlan {
  seed: number;
  flushEvery: number;
  killAfter: number;
  lingerMs: number;
}

function writerPlan(seed: number): WriterPlan {
  const random = mulberry32(seed ^ 0x5eed);
  const flushEvery = 50 + Math.floor(random() * 350);
  const killAfter = flushEvery + Math.floor(random() * (2500 - flushEvery));
  return { seed, flushEvery, killAfter, lingerMs: Math.floor(random() * 50) };
}

// ---- the tests ----------------------------------------------------------------------

describe('crash: reader and writer processes killed with SIGKILL', function () {
  this.timeout(60_000);
  let kinesis: LocalServer;
  let dynalite: LocalServer;
  let client: KinesisClient;
  let dir: string;
  /** The read stream as stored: shard → records in order. */
  let shards: Map<string, Stored[]>;
  const children: Array<Child<unknown>> = [];

  before(async () => {
    [kinesis, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
    client = new KinesisClient(localClientConfig(kinesis.endpoint));
    dir = await mkdtemp(join(tmpdir(), 'kns-crash-'));
    await createTestStream(kinesis.endpoint, READ_STREAM, READ_SHARDS);
    for (let i = 0; i < READ_RECORDS; i += 500) {
      const out = await client.send(
        new PutRecordsCommand({
          StreamName: READ_STREAM,
          Records: Array.from({ length: 500 }, (_, j) => ({ Data: Buffer.from(JSON.stringify({ n: i + j })), PartitionKey: `key-${(i + j) % KEYS}` })),
        }),
      );
      assert.equal(out.FailedRecordCount ?? 0, 0);
    }
    shards = await readBack(client, READ_STREAM);
    assert.equal([...shards.values()].reduce((sum, list) => sum + list.length, 0), READ_RECORDS);
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.kill()));
  });

  after(async () => {
    for (const child of live) child.process.kill('SIGKILL');
    client?.destroy();
    await Promise.all([kinesis?.stop(), dynalite?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const startReader = (args: string[]): Child => {
    const child = new Child(READER_SCRIPT, ['--kinesis', kinesis.endpoint, '--stream', READ_STREAM, ...args]);
    children.push(child as Child<unknown>);
    return child;
  };

  for (const store of ['file', 'dynamodb'] as const) {
    SEEDS.forEach((seed, index) => {
      const plan = readerPlan(seed, index);
      it(
        `reader (${store === 'file' ? 'FileCheckpointStore' : 'DynamoDBLeaseStore'}) killed -9 after ${plan.killAfter} records, ${plan.past} past a checkpoint() (seed ${seed}, every ${plan.every}): ` +
          'the restart repeats only records after each shard\'s durable checkpoint and nothing is missing',
        async () => {
          const table = `crash-leases-${store}-${seed}`;
          const file = join(dir, `checkpoints-${seed}.json`);
          const storeArgs = (worker: string): string[] =>
            store === 'file' ? ['--checkpoint-file', file] : ['--dynamo', dynalite.endpoint, '--table', table, '--worker', worker, '--failover-ms', String(FAILOVER_MS)];

          // Run 1: killed by itself with SIGKILL right after record `killAfter`.
          const first = startReader([...storeArgs('worker-1'), '--checkpoint-every', String(plan.every), '--kill-after', String(plan.killAfter)]);
          await first.closed;
          const error = first.lines.find((l) => l.type === 'error');
          assert.equal(error, undefined, first.describe());
          assert.equal(first.exit?.signal, 'SIGKILL', `run 1 ended with ${JSON.stringify(first.exit)}\n${first.describe()}`);
          const run1 = first.lines.filter((l): l is RecordLine => l.type === 'record');
          assert.equal(run1.length, plan.killAfter, 'records consumed by run 1');
          assert.deepEqual(first.lines.find((l) => l.type === 'killing'), { type: 'killing', consumed: plan.killAfter, uncheckpointed: plan.past });

          // What survived the kill, read from the store itself.
          let leftovers: string[] = [];
          const durable = new Map<string, Checkpoint>();
          if (store === 'file') {
            leftovers = (await readdir(dir)).filter((name) => name.startsWith(`checkpoints-${seed}.json.`));
            const fileStore = new FileCheckpointStore(file);
            for (const shardId of shards.keys()) {
              const checkpoint = await fileStore.get(READ_STREAM, shardId);
              if (checkpoint !== undefined) durable.set(shardId, checkpoint);
            }
          } else {
            for (const [shardId, checkpoint] of await leaseCheckpoints(dynalite.endpoint, table)) durable.set(shardId, checkpoint);
          }

          const expectedRestart = new Map<string, Stored[]>();
          for (const [shardId, records] of shards) {
            const consumed = run1.filter((r) => r.shardId === shardId);
            let printed: Checkpoint | undefined;
            for (const line of first.lines) if (line.type === 'checkpoint' && line.shardId === shardId) printed = line.checkpoint;
            const stored = durable.get(shardId);
            if (printed !== undefined) {
              assert.ok(stored !== undefined, `${shardId}: checkpoint ${printed.sequenceNumber} was reported durable but the store has none`);
              assert.ok(compareSeq(printed.sequenceNumber, stored.sequenceNumber) <= 0, `${shardId}: the store holds ${stored.sequenceNumber}, before ${printed.sequenceNumber} reported durable`);
            }
            if (stored !== undefined) {
              assert.ok(
                consumed.some((r) => r.sequenceNumber === stored.sequenceNumber),
                `${shardId}: the stored checkpoint ${stored.sequenceNumber} is not a record run 1 consumed`,
              );
            }
            // checkpoint() stores, per shard, the last record consumed when it was called: at
            // killAfter - past (awaited, so durable), or, when the kill came right after the
            // call (past 0), possibly the one before it, if the write was cut off.
            const lastOf = (prefix: number): string | undefined => run1.slice(0, prefix).filter((r) => r.shardId === shardId).pop()?.sequenceNumber;
            const candidates = new Set([lastOf(plan.killAfter - plan.past)]);
            if (plan.past === 0) candidates.add(lastOf(plan.killAfter - plan.every));
            assert.ok(candidates.has(stored?.sequenceNumber), `${shardId}: stored checkpoint ${stored?.sequenceNumber}, expected one of ${[...candidates].join(', ')}`);
            expectedRestart.set(shardId, stored === undefined ? records : records.filter((r) => compareSeq(r.sequenceNumber, stored.sequenceNumber) > 0));
          }
          const expectedCount = [...expectedRestart.values()].reduce((sum, list) => sum + list.length, 0);

          // Run 2: same store, reads to the end; the lease store waits for run 1's leases to expire.
          const second = startReader([...storeArgs('worker-2'), '--checkpoint-every', String(plan.every)]);
          const run2 = (): RecordLine[] => second.lines.filter((l): l is RecordLine => l.type === 'record');
          await second.waitFor(`run 2 to deliver ${expectedCount} records`, () => run2().length >= expectedCount || second.lines.some((l) => l.type === 'error'));
          // Anything delivered beyond that would be a repeat: give it a moment to show up.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await second.kill();
          assert.equal(second.lines.find((l) => l.type === 'error'), undefined, second.describe());

          for (const [shardId, expected] of expectedRestart) {
            const stored = durable.get(shardId);
            const delivered = run2().filter((r) => r.shardId === shardId);
            const early = stored === undefined ? [] : delivered.filter((r) => compareSeq(r.sequenceNumber, stored.sequenceNumber) <= 0);
            assert.deepEqual(early.map((r) => r.n), [], `${shardId}: run 2 repeated records at or before the durable checkpoint ${stored?.sequenceNumber}`);
            assert.deepEqual(
              delivered.map((r) => r.sequenceNumber),
              expected.map((r) => r.sequenceNumber),
              `${shardId}: run 2 must deliver exactly the records after ${stored?.sequenceNumber ?? 'the start'}, in order`,
            );
          }
          const seen = new Set([...run1, ...run2()].map((r) => r.n));
          const missing = Array.from({ length: READ_RECORDS }, (_, n) => n).filter((n) => !seen.has(n));
          assert.deepEqual(missing, [], 'records delivered by neither run');

          const repeated = run2().filter((r) => run1.some((x) => x.sequenceNumber === r.sequenceNumber && x.shardId === r.shardId)).length;
          const printedCheckpoints = first.lines.filter((l) => l.type === 'checkpoint').length;
          console.log(
            `      run 1: ${run1.length} records, ${printedCheckpoints} durable checkpoint events; run 2: ${run2().length} records, ${repeated} repeated` +
              (store === 'file' ? `; temporary files left by the kill: ${leftovers.length}` : ''),
          );
        },
      );
    });
  }

  for (const seed of SEEDS) {
    const plan = writerPlan(seed);
    it(`writer killed -9 after write() of record ${plan.killAfter} (seed ${seed}, flush every ${plan.flushEvery}, linger ${plan.lingerMs} ms): every record up to the last resolved flush() is stored`, async () => {
      const stream = `crash-write-${seed}`;
      await createTestStream(kinesis.endpoint, stream, 2);
      const child = new Child<{ flushed?: number; killing?: number; error?: string }>(WRITER_SCRIPT, [
        '--kinesis', kinesis.endpoint,
        '--stream', stream,
        '--records', '3000',
        '--flush-every', String(plan.flushEvery),
        '--kill-after', String(plan.killAfter),
        '--linger-ms', String(plan.lingerMs),
      ]);
      children.push(child as Child<unknown>);
      await child.closed;
      assert.equal(child.lines.find((l) => l.error !== undefined), undefined, child.describe());
      assert.equal(child.exit?.signal, 'SIGKILL', child.describe());
      const flushed = child.lines.filter((l) => l.flushed !== undefined).map((l) => l.flushed as number);
      const lastFlushed = flushed[flushed.length - 1];
      assert.equal(lastFlushed, Math.floor((plan.killAfter + 1) / plan.flushEvery) * plan.flushEvery - 1, 'the last flush printed before the kill');

      const stored = new Set([...(await readBack(client, stream)).values()].flatMap((list) => list.map((r) => r.n)));
      const lost = Array.from({ length: lastFlushed + 1 }, (_, n) => n).filter((n) => !stored.has(n));
      assert.deepEqual(lost, [], `records acknowledged by flush() (0..${lastFlushed}) missing from the stream`);
      const beyond = [...stored].filter((n) => n > plan.killAfter);
      assert.deepEqual(beyond, [], 'records stored that were never written');
      const afterFlush = [...stored].filter((n) => n > lastFlushed).length;
      console.log(`      last flush ${lastFlushed}; ${afterFlush} of the ${plan.killAfter - lastFlushed} records written after it were stored before the kill`);
    });
  }
});
