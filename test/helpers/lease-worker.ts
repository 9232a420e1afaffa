/**
 * One lease-coordinated reader as a child process, for the crash/scale-out integration
 * tests (test/integration/leases-crash.test.ts). A real process so that a test can
 * kill -9 it: nothing of it (no detach, no release, no last checkpoint) runs then.
 *
 *   node --import tsx test/helpers/lease-worker.ts --kinesis URL --dynamo URL --table T
 *     --stream S --worker NAME [--failover-ms N] [--checkpoint-every K] [--checkpoint-idle-ms M]
 *
 * Prints one JSON line per event on stdout, each with `t` (Date.now() when it happened):
 *   {"type":"ready"}                                      the reader is constructed
 *   {"type":"record","shardId","sequenceNumber","subSequenceNumber","data"}   consumed
 *   {"type":"checkpoint","shardId","checkpoint"}           durable (the reader's event)
 *   {"type":"leaseGained"|"leaseLost","shardId"}
 *   {"type":"checkpointLost","shardIds"}                   checkpoint() hit LeaseLostError
 *   {"type":"paused","uncheckpointed"}                     see `pause` below
 *   {"type":"error","message"}                             then exit 1
 *   {"type":"stopped"}                                     after SIGTERM: checkpointed,
 *                                                          leases released; exit 0
 * Checkpoints (`checkpoint()`, no argument) every K consumed records, and with
 * --checkpoint-idle-ms also once consumption has been idle that long with records not
 * yet checkpointed (a closed parent owned here must reach SHARD_END in the table before
 * another worker may read its children).
 *
 * stdin takes commands, one a line: `pause N` — go on consuming until exactly N records
 * are consumed and not checkpointed, then stop consuming (leases are still renewed) and
 * print `paused`: a worker stuck mid-stream, for a test to kill at a known position.
 * Exits when its stdin closes (the test process is gone).
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  DynamoDBLeaseStore,
  LeaseLostError,
  createKinesisReadable,
  type CheckpointEvent,
  type KinesisRecord,
  type LeaseEvent,
} from '../../lib/index.js';

const { values } = parseArgs({
  options: {
    kinesis: { type: 'string' },
    dynamo: { type: 'string' },
    table: { type: 'string' },
    stream: { type: 'string' },
    worker: { type: 'string' },
    'failover-ms': { type: 'string', default: '2000' },
    'checkpoint-every': { type: 'string', default: '25' },
    'checkpoint-idle-ms': { type: 'string', default: '0' },
  },
  strict: true,
});

function required(name: 'kinesis' | 'dynamo' | 'table' | 'stream' | 'worker'): string {
  const value = values[name];
  if (value === undefined || value === '') throw new Error(`--${name} is required`);
  return value;
}

function count(name: 'failover-ms' | 'checkpoint-every' | 'checkpoint-idle-ms'): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got ${values[name]}`);
  return value;
}

const checkpointEvery = Math.max(1, count('checkpoint-every'));
const idleMs = count('checkpoint-idle-ms');

/** Writes one event line; false when stdout wants the caller to wait for 'drain'. */
function emit(event: Record<string, unknown>): boolean {
  return process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
}

function fatal(error: unknown): never {
  emit({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}

let pauseAt: number | undefined;
// The test process is gone (even SIGKILLed): do not linger.
process.stdin.on('end', () => process.exit(1)).on('error', () => process.exit(1));
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  const n = Number(arg);
  if (command === 'pause' && Number.isInteger(n) && n > 0 && n < checkpointEvery) pauseAt = n;
  else fatal(new Error(`unknown command ${JSON.stringify(line)}`));
});

const store = new DynamoDBLeaseStore({
  tableName: required('table'),
  endpoint: required('dynamo'),
  workerId: required('worker'),
  failoverTimeMs: count('failover-ms'),
});
const reader = createKinesisReadable<unknown>({
  endpoint: required('kinesis'),
  streamName: required('stream'),
  initialPosition: 'TRIM_HORIZON',
  decode: 'json',
  checkpointStore: store,
  shardDiscoveryIntervalMs: 300,
  pollIntervalMs: 200,
});
reader.on('leaseGained', (e: LeaseEvent) => emit({ type: 'leaseGained', shardId: e.shardId }));
reader.on('leaseLost', (e: LeaseEvent) => emit({ type: 'leaseLost', shardId: e.shardId }));
reader.on('checkpoint', (e: CheckpointEvent) => emit({ type: 'checkpoint', shardId: e.shardId, checkpoint: e.checkpoint }));

let uncheckpointed = 0;
let checkpointing: Promise<void> = Promise.resolve();
let stopping = false;

/** checkpoint() of everything consumed so far, one at a time; a lost lease is reported, not fatal. */
function checkpoint(): Promise<void> {
  uncheckpointed = 0;
  checkpointing = checkpointing.then(() =>
    reader.checkpoint().catch((error: unknown) => {
      if (error instanceof LeaseLostError) emit({ type: 'checkpointLost', shardIds: error.shardIds });
      else if (!stopping) fatal(error);
    }),
  );
  return checkpointing;
}

let idleTimer: NodeJS.Timeout | undefined;
function armIdleCheckpoint(): void {
  if (idleMs === 0) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (uncheckpointed > 0 && !stopping) void checkpoint();
  }, idleMs);
}

process.once('SIGTERM', () => {
  void (async () => {
    stopping = true;
    clearTimeout(idleTimer);
    await checkpoint();
    reader.destroy(); // releases the leases (detach) before 'close'
    if (!reader.closed) await once(reader, 'close');
    emit({ type: 'stopped' });
    process.exit(0);
  })().catch(fatal);
});

emit({ type: 'ready' });
try {
  for await (const record of reader as AsyncIterable<KinesisRecord<unknown>>) {
    const ok = emit({
      type: 'record',
      shardId: record.shardId,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: record.subSequenceNumber,
      data: record.data,
    });
    if (!ok) await once(process.stdout, 'drain');
    if (++uncheckpointed >= checkpointEvery) await checkpoint();
    if (pauseAt !== undefined && uncheckpointed === pauseAt) {
      clearTimeout(idleTimer);
      emit({ type: 'paused', uncheckpointed });
      await new Promise<never>(() => {}); // until killed (SIGTERM still stops it gracefully)
    }
    armIdleCheckpoint();
  }
} catch (error) {
  // A destroy() on SIGTERM ends the iteration with a premature-close error.
  if (!stopping) fatal(error);
}
if (!stopping) fatal(new Error('the reader ended by itself'));
