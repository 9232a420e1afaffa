/**
 * For test/integration/security.test.ts: do a reader and a writer that own their clients
 * (endpoint option) leave anything behind once destroyed? Snapshots
 * process.getActiveResourcesInfo() (what keeps the event loop alive), writes and reads
 * some records, destroys everything and compares; then lets the process end by itself.
 *
 *   node --import tsx test/helpers/resources-child.ts --kinesis URL --stream S
 *     --lease-stream L --dynamo URL --table T
 *
 * Prints on stdout one JSON line per phase, {"phase","records","baseline","after","extra"}
 * (`extra`: resource types present more often than in the baseline), then `{"done":true}`,
 * and never calls process.exit(): the test measures how long the process takes to end.
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKinesisReadable, createKinesisWritable, DynamoDBLeaseStore, type CheckpointStore } from '../../lib/index.js';

const { values } = parseArgs({
  options: {
    kinesis: { type: 'string' },
    stream: { type: 'string' },
    'lease-stream': { type: 'string' },
    dynamo: { type: 'string' },
    table: { type: 'string' },
  },
  strict: true,
});
const endpoint = values.kinesis as string;
const RECORDS = 200;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function counts(): Map<string, number> {
  const out = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) out.set(type, (out.get(type) ?? 0) + 1);
  return out;
}

function extra(baseline: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [type, count] of counts()) for (let i = baseline.get(type) ?? 0; i < count; i++) out.push(type);
  return out;
}

async function write(streamName: string): Promise<void> {
  const writer = createKinesisWritable({ endpoint, streamName });
  for (let n = 0; n < RECORDS; n++) writer.write({ n });
  writer.end();
  await once(writer, 'finish');
  if (!writer.closed) await once(writer, 'close');
}

async function read(streamName: string, checkpointStore?: CheckpointStore): Promise<number> {
  const reader = createKinesisReadable({ endpoint, streamName, initialPosition: 'TRIM_HORIZON', checkpointStore, pollIntervalMs: 200 });
  let records = 0;
  // A plain destroy() (no error), as an application stops a reader.
  reader.on('data', () => {
    if (++records === RECORDS) reader.destroy();
  });
  await once(reader, 'close');
  return records;
}

/** Sockets close asynchronously after destroy(): give them up to 2 s. */
async function settle(baseline: Map<string, number>): Promise<string[]> {
  const start = Date.now();
  for (let i = 0; i < 40 && extra(baseline).length > 0; i++) await delay(50);
  settledMs = Date.now() - start;
  return extra(baseline);
}
let settledMs = 0;

process.stdout.write(''); // create the stdout handle before the snapshot
const baseline = counts();
const before = process.getActiveResourcesInfo();

await write(values.stream as string);
const records = await read(values.stream as string);
let left = await settle(baseline);
emit({ phase: 'reader+writer', records, baseline: before, after: process.getActiveResourcesInfo(), extra: left, settledMs });

await write(values['lease-stream'] as string);
const store = new DynamoDBLeaseStore({ tableName: values.table as string, endpoint: values.dynamo as string, failoverTimeMs: 3000 });
const leaseRecords = await read(values['lease-stream'] as string, store);
left = await settle(baseline);
emit({ phase: 'reader with DynamoDBLeaseStore', records: leaseRecords, baseline: before, after: process.getActiveResourcesInfo(), extra: left, settledMs });
emit({ done: true, t: Date.now() });
