/**
 * `kinesis-node-streams read`: a stream's records to stdout. Only records stdout accepted
 * (its write callback said so) are checkpointed; stdout's backpressure holds the reader
 * back; a closed pipe (`| head`) or SIGINT/SIGTERM stop it cleanly after a checkpoint.
 */
import { CLI_DEFAULTS } from '../limits.js';
import type { KinesisRecord } from '../readable/shard-reader.js';
import { createKinesisReadable } from '../readable/kinesis-readable.js';
import { READ_FORMATS, formatRecord } from './format.js';
import { choiceFlag, positiveIntegerFlag, required, type Flags } from './args.js';
import { clientOptions, onStopSignal, positionFlag, progress, progressViewFlag, rate, storeFlag } from './context.js';


export async function read(flags: Flags): Promise<number> {
  const streamName = required(flags, 'stream', 'read');
  const format = choiceFlag(flags, 'format', READ_FORMATS, 'ndjson', 'read');
  const maxRecords = positiveIntegerFlag(flags, 'max-records', 'read') ?? Number.POSITIVE_INFINITY;
  const initialPosition = positionFlag(flags.from, 'from', 'read');
  const store = storeFlag(flags, 'read');
  const efo = flags.efo;
  // Before the reader: the view subscribes to the channels the reader publishes to from its start.
  const stopView = progressViewFlag(flags, 'read', `read ${streamName}`);
  const reader = createKinesisReadable({
    ...clientOptions(flags),
    streamName,
    initialPosition,
    ...(store === undefined ? {} : { checkpointStore: store }),
    ...(typeof efo === 'string' ? { mode: 'efo' as const, consumerName: efo } : {}),
    highWaterMark: CLI_DEFAULTS.readHighWaterMark,
  });
  const stdout = process.stdout;
  /** Per shard, the last record stdout accepted and not yet checkpointed. */
  const accepted = new Map<string, KinesisRecord>();
  let written = 0;
  let stopping = false;
  let pipeClosed = false;
  const checkpointAccepted = async (): Promise<void> => {
    if (store === undefined || accepted.size === 0) return;
    const records = [...accepted.values()];
    accepted.clear();
    await reader.checkpoint(records);
  };
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Writes still queued may be accepted yet: their callbacks run before this one.
    new Promise<void>((resolve) => stdout.write('', () => resolve()))
      .then(checkpointAccepted)
      .catch((error: unknown) => process.stderr.write(`kinesis-node-streams: checkpoint failed: ${(error as Error).message}\n`))
      .finally(() => reader.destroy());
  };
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') {
      pipeClosed = true;
      stop();
    } else reader.destroy(error);
  };
  stdout.on('error', onStdoutError);
  const stopListening = onStopSignal(stop);
  const perSecond = rate();
  const stopProgress = stopView ?? progress(() => {
    const lag = Math.max(0, ...reader.stats().shards.map((s) => s.millisBehindLatest ?? 0));
    return `read ${written.toLocaleString()} records, ${perSecond(written).toLocaleString()}/s, lag ${lag} ms`;
  });
  let lastCheckpoint = Date.now();
  try {
    for await (const record of reader as AsyncIterable<KinesisRecord>) {
      if (stopping) break;
      const key = record.shardId;
      const fits = stdout.write(formatRecord(record, format), (error) => {
        if (error === null || error === undefined) accepted.set(key, record);
      });
      written++;
      if (written >= maxRecords) break;
      if (!fits) await drained(stdout);
      if (Date.now() - lastCheckpoint >= CLI_DEFAULTS.commitEveryMs) {
        lastCheckpoint = Date.now();
        await checkpointAccepted();
      }
    }
    if (!stopping) {
      await new Promise<void>((resolve) => stdout.write('', () => resolve())); // let the last callbacks run
      stopping = true;
      await checkpointAccepted();
      reader.destroy();
    }
  } catch (error) {
    if (!stopping) throw error; // destroyed on purpose: not an error
  } finally {
    stopListening();
    stopProgress();
    stdout.off('error', onStdoutError);
  }
  if (pipeClosed) stdout.on('error', () => undefined); // later EPIPE on exit is expected
  return 0;
}

function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
  });
}
