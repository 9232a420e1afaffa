/**
 * `npm start`: the end-to-end demo. Starts an embedded kinesalite (unless --stream names
 * a real stream), creates a 4-shard stream, writes 100k records with
 * createKinesisWritable while createKinesisReadable reads them back with a
 * FileCheckpointStore, shows progress, and checks that every record arrived, in order
 * per partition key.
 *
 *   npm start                                   # local, embedded kinesalite
 *   npm start -- --records 20000 --shards 2
 *   AWS_REGION=eu-west-1 npm start -- --stream my-test-stream   # a real AWS stream
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { FileCheckpointStore, createKinesisReadable, createKinesisWritable, type InitialPosition } from '../lib/index.js';
import { createTestStream, startKinesalite, type LocalServer } from '../test/helpers/servers.js';

interface DemoRecord {
  run: string;
  key: number;
  n: number;
}

const { values } = parseArgs({
  options: {
    stream: { type: 'string' },
    endpoint: { type: 'string' },
    records: { type: 'string', default: '100000' },
    shards: { type: 'string', default: '4' },
    keys: { type: 'string', default: '1000' },
    'checkpoint-file': { type: 'string' },
    'timeout-s': { type: 'string', default: '300' },
  },
});

const total = Number(values.records);
const keyCount = Number(values.keys);
const shardCount = Number(values.shards);
const run = Math.random().toString(36).slice(2, 10);
const status = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r${line}\x1b[K`) : () => undefined;

async function main(): Promise<number> {
  const started = Date.now();
  let server: LocalServer | undefined;
  let endpoint = values.endpoint;
  let streamName = values.stream;
  let initialPosition: InitialPosition;
  if (streamName === undefined) {
    server = await startKinesalite();
    endpoint = server.endpoint;
    streamName = 'demo';
    await createTestStream(endpoint, streamName, shardCount);
    console.log(`kinesalite on ${endpoint}: stream ${streamName} with ${shardCount} shards`);
    initialPosition = 'TRIM_HORIZON';
  } else {
    // A real stream holds other data: read from now on and keep only this run's records.
    initialPosition = { timestamp: new Date(started - 1000) };
    console.log(`stream ${streamName} on ${endpoint ?? 'AWS'} (run ${run})`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'kinesis-node-streams-demo-'));
  const checkpointFile = values['checkpoint-file'] ?? join(dir, 'checkpoints.json');
  const client = endpoint === undefined ? {} : { endpoint };

  const reader = createKinesisReadable<DemoRecord>({
    ...client,
    streamName,
    initialPosition,
    checkpointStore: new FileCheckpointStore(checkpointFile),
    decode: 'json',
  });
  const writer = createKinesisWritable<DemoRecord>({
    ...client,
    streamName,
    partitionKey: (record) => `user-${record.key}`,
    // Strict per-key order even when a put is retried or requests overlap.
    preserveOrder: true,
  });

  const seen = new Uint8Array(total);
  const lastByKey = new Int32Array(keyCount).fill(-1);
  let read = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let foreign = 0;
  let lastProgress = Date.now();
  let lastRead = 0;

  const writing = pipeline(
    Readable.from(
      (function* () {
        for (let n = 0; n < total; n++) yield { run, key: n % keyCount, n };
      })(),
    ),
    writer,
  );

  const reading = (async () => {
    const deadline = started + Number(values['timeout-s']) * 1000;
    for await (const record of reader) {
      const value = record.data;
      if (value?.run !== run) {
        foreign++;
        continue;
      }
      if (seen[value.n] === 1) duplicates++;
      else {
        seen[value.n] = 1;
        read++;
      }
      if (value.n < lastByKey[value.key]) outOfOrder++;
      lastByKey[value.key] = Math.max(lastByKey[value.key], value.n);
      if (read % 10000 === 0) await reader.checkpoint();
      const now = Date.now();
      if (now - lastProgress >= 1000) {
        const lag = Math.max(0, ...reader.stats().shards.map((s) => s.millisBehindLatest ?? 0));
        status(
          `written ${writer.stats().recordsWritten.toLocaleString()}  read ${read.toLocaleString()}  ` +
            `${Math.round(((read - lastRead) * 1000) / (now - lastProgress)).toLocaleString()} records/s  lag ${lag} ms`,
        );
        lastProgress = now;
        lastRead = read;
      }
      if (read === total) break;
      if (now > deadline) break;
    }
    await reader.checkpoint();
  })();

  let writeSeconds: number;
  try {
    await writing;
    writeSeconds = (Date.now() - started) / 1000;
    await reading;
  } finally {
    reader.destroy();
    await server?.stop();
    if (values['checkpoint-file'] === undefined) await rm(dir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  status('');
  console.log(
    JSON.stringify(
      {
        written: writer.stats().recordsWritten,
        read,
        duplicates,
        missing: total - read,
        outOfOrder,
        otherRecords: foreign,
        seconds: Number(seconds.toFixed(1)),
        writeSeconds: Number(writeSeconds.toFixed(1)),
        recordsPerSecond: Math.round(read / seconds),
      },
      null,
      2,
    ),
  );
  return read === total && outOfOrder === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
