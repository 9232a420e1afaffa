/**
 * `kinesis-node-streams copy`: one stream into another. The reader's position is
 * checkpointed only after the writer's flush() says everything copied so far is stored.
 */
import { CLI_DEFAULTS } from '../limits.js';
import { createKinesisReadable } from '../readable/kinesis-readable.js';
import type { KinesisRecord } from '../readable/shard-reader.js';
import { createKinesisWritable } from '../writable/kinesis-writable.js';
import { positiveIntegerFlag, required, type Flags } from './args.js';
import { clientOptions, onStopSignal, positionFlag, progress, progressViewFlag, rate, storeFlag } from './context.js';


export async function copy(flags: Flags): Promise<number> {
  const from = required(flags, 'from', 'copy');
  const to = required(flags, 'to', 'copy');
  const maxRecords = positiveIntegerFlag(flags, 'max-records', 'copy') ?? Number.POSITIVE_INFINITY;
  const store = storeFlag(flags, 'copy');
  const client = clientOptions(flags);
  const stopView = progressViewFlag(flags, 'copy', `copy ${from} → ${to}`);
  const reader = createKinesisReadable({
    ...client,
    streamName: from,
    initialPosition: positionFlag(flags.start, 'start', 'copy'),
    ...(store === undefined ? {} : { checkpointStore: store }),
  });
  const writer = createKinesisWritable({ ...client, streamName: to, aggregation: flags.aggregate === true });
  let copied = 0;
  let stopping = false;
  const stopListening = onStopSignal(() => {
    stopping = true;
    reader.destroy(); // ends the loop below; what was copied is committed after it
  });
  const perSecond = rate();
  const stopProgress = stopView ?? progress(() => `copied ${copied.toLocaleString()} records, ${perSecond(copied).toLocaleString()}/s`);
  const commit = async (): Promise<void> => {
    await writer.flush();
    await reader.checkpoint();
  };
  let lastCommit = Date.now();
  try {
    for await (const record of reader as AsyncIterable<KinesisRecord>) {
      if (!writer.write(record)) await new Promise((resolve) => writer.once('drain', resolve));
      copied++;
      if (copied >= maxRecords) break;
      if (Date.now() - lastCommit >= CLI_DEFAULTS.commitEveryMs) {
        lastCommit = Date.now();
        await commit();
      }
    }
  } catch (error) {
    if (!stopping) throw error;
  } finally {
    stopListening();
    stopProgress();
  }
  await commit();
  reader.destroy();
  writer.end();
  await new Promise((resolve, reject) => writer.once('finish', resolve).once('error', reject));
  if (process.stderr.isTTY === true) process.stderr.write(`copied ${copied} record(s) from ${from} to ${to}\n`);
  return 0;
}
