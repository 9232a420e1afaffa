/**
 * A reader as a child process that SIGKILLs itself at an exact point, for
 * test/integration/crash.test.ts. A real process and a real SIGKILL, so nothing of it
 * runs after that point: no destroy(), no lease release, no last checkpoint, and whatever
 * was in flight (GetRecords, a checkpoint write, a temporary checkpoint file) is cut off.
 * The kill comes from the child itself so that the point is exact and the test
 * deterministic; the test checks that the child died of SIGKILL.
 *
 *   node --import tsx test/helpers/crash-reader.ts --kinesis URL --stream S
 *     (--checkpoint-file F | --dynamo URL --table T --worker W [--failover-ms N])
 *     --checkpoint-every K [--kill-after N]
 *
 * Prints one JSON line per event on stdout:
 *   {"type":"record","shardId","sequenceNumber","n"}     consumed (data is {"n":…})
 *   {"type":"checkpoint","shardId","checkpoint"}          durable (the reader's event)
 *   {"type":"killing","consumed","uncheckpointed"}        just before the SIGKILL
 *   {"type":"error","message"}                            then exit 1
 * Every K consumed records it calls checkpoint() (no argument) and waits for it, except
 * when the kill point is right there: then the kill cuts that checkpoint write off in
 * flight. Without --kill-after it reads on until the test kills it.
 * Exits when its stdin closes (the test process is gone).
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import {
  DynamoDBLeaseStore,
  FileCheckpointStore,
  createKinesisReadable,
  type CheckpointEvent,
  type CheckpointStore,
  type KinesisRecord,
} from '../../lib/index.js';

const { values } = parseArgs({
  options: {
    kinesis: { type: 'string' },
    stream: { type: 'string' },
    'checkpoint-file': { type: 'string' },
    dynamo: { type: 'string' },
    table: { type: 'string' },
    worker: { type: 'string', default: 'crash-reader' },
    'failover-ms': { type: 'string', default: '1500' },
    'checkpoint-every': { type: 'string', default: '100' },
    'kill-after': { type: 'string' },
  },
  strict: true,
});

function emit(event: Record<string, unknown>): boolean {
  return process.stdout.write(`${JSON.stringify(event)}\n`);
}

function fatal(error: unknown): never {
  emit({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}

function int(name: 'failover-ms' | 'checkpoint-every' | 'kill-after'): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fatal(new Error(`--${name} must be a positive integer, got ${text}`));
  return value;
}

process.stdin.on('end', () => process.exit(1)).on('error', () => process.exit(1)).resume();

const kinesis = values.kinesis ?? fatal(new Error('--kinesis is required'));
const streamName = values.stream ?? fatal(new Error('--stream is required'));
const checkpointEvery = int('checkpoint-every') ?? 100;
const killAfter = int('kill-after');

let store: CheckpointStore;
if (values['checkpoint-file'] !== undefined) {
  store = new FileCheckpointStore(values['checkpoint-file']);
} else if (values.dynamo !== undefined && values.table !== undefined) {
  store = new DynamoDBLeaseStore({
    tableName: values.table,
    endpoint: values.dynamo,
    workerId: values.worker,
    failoverTimeMs: int('failover-ms'),
  });
} else {
  fatal(new Error('--checkpoint-file or --dynamo with --table is required'));
}

const reader = createKinesisReadable<{ n: number }>({
  endpoint: kinesis,
  streamName,
  initialPosition: 'TRIM_HORIZON',
  decode: 'json',
  checkpointStore: store,
  pollIntervalMs: 200,
  shardDiscoveryIntervalMs: 500,
});
reader.on('checkpoint', (e: CheckpointEvent) => emit({ type: 'checkpoint', shardId: e.shardId, checkpoint: e.checkpoint }));
reader.on('error', (error) => fatal(error));

let consumed = 0;
let uncheckpointed = 0;
let checkpoints: Promise<void> = Promise.resolve();
function checkpoint(): Promise<void> {
  uncheckpointed = 0;
  checkpoints = checkpoints.then(() => reader.checkpoint()).catch(fatal);
  return checkpoints;
}

for await (const record of reader as AsyncIterable<KinesisRecord<{ n: number }>>) {
  consumed++;
  const ok = emit({ type: 'record', shardId: record.shardId, sequenceNumber: record.sequenceNumber, n: record.data.n });
  let written: Promise<void> | undefined;
  if (++uncheckpointed >= checkpointEvery) written = checkpoint();
  if (consumed === killAfter) {
    // stdout to a pipe is synchronous on Linux: every line above is in the pipe already.
    emit({ type: 'killing', consumed, uncheckpointed });
    process.kill(process.pid, 'SIGKILL');
  }
  // Awaited, so every checkpoint before the kill point is durable when it comes.
  if (written !== undefined) await written;
  if (!ok) await once(process.stdout, 'drain');
}
fatal(new Error('the reader ended by itself'));
