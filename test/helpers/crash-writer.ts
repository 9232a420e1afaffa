/**
 * A writer as a child process that SIGKILLs itself mid-pipeline, for
 * test/integration/crash.test.ts: it writes {"n":0..} with createKinesisWritable, calls
 * `await writer.flush()` every M records and prints `{"flushed":N}` (N the last record
 * written before that flush) once the flush resolved. Right after write() of record
 * --kill-after it kills itself with SIGKILL: records accepted since the last flush are
 * then buffered, lingering or in flight.
 *
 *   node --import tsx test/helpers/crash-writer.ts --kinesis URL --stream S
 *     --records N --flush-every M --kill-after K [--linger-ms L]
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKinesisWritable } from '../../lib/index.js';

const { values } = parseArgs({
  options: {
    kinesis: { type: 'string' },
    stream: { type: 'string' },
    records: { type: 'string', default: '3000' },
    'flush-every': { type: 'string', default: '100' },
    'kill-after': { type: 'string' },
    'linger-ms': { type: 'string', default: '20' },
  },
  strict: true,
});

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function fatal(error: unknown): never {
  emit({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}

process.stdin.on('end', () => process.exit(1)).on('error', () => process.exit(1)).resume();

const records = Number(values.records);
const flushEvery = Number(values['flush-every']);
const killAfter = values['kill-after'] === undefined ? undefined : Number(values['kill-after']);

const writer = createKinesisWritable<{ n: number; key: number }>({
  endpoint: values.kinesis ?? fatal(new Error('--kinesis is required')),
  streamName: values.stream ?? fatal(new Error('--stream is required')),
  partitionKey: (item) => `key-${item.key}`,
  lingerMs: Number(values['linger-ms']),
  maxBatchRecords: 50,
});
writer.on('error', fatal);

for (let n = 0; n < records; n++) {
  const ok = writer.write({ n, key: n % 16 });
  if (n === killAfter) {
    emit({ killing: n });
    process.kill(process.pid, 'SIGKILL');
  }
  if (!ok) await once(writer, 'drain');
  // Let batches go out between flushes, so a kill finds requests in flight, not only buffered ones.
  if (n % 25 === 24) await delay(2);
  if ((n + 1) % flushEvery === 0) {
    await writer.flush();
    emit({ flushed: n });
  }
}
writer.end();
await once(writer, 'finish');
emit({ done: records - 1 });
process.exit(0);
