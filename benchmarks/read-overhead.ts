/**
 * The reader's own cost per record, without the SDK, HTTP or the stub server:
 *
 *   npx tsx benchmarks/read-overhead.ts [--shards 4] [--rounds 10] [--size 100] [--reps 5] [--json]
 *
 * A fake client answers ListShards, GetShardIterator and GetRecords at once. Every shard
 * holds one page of 10000 records, built once the way the SDK returns them (Data as
 * Uint8Array views into a shared buffer, ApproximateArrivalTimestamp as a Date), so the
 * first GetRecords of every shard returns the whole shard and the reader's call pacing
 * never comes into play. "raw" walks the same pages touching each record's Data.length;
 * "reader" is createKinesisReadable({ client: fake, initialPosition: 'TRIM_HORIZON' })
 * with default options, consumed with 'data', destroyed after the last record. One
 * measured run is `rounds` of these one after the other (few shards at a time, as in a
 * real stream: a reader holding 40 shards' batches at once would measure promotion to
 * the old generation rather than the reader). "reader −
 * raw" is what the reader adds per record on top of the SDK's own cost, far steadier than
 * the end-to-end benchmark on a busy machine.
 */
import type { GetRecordsCommand, GetRecordsOutput, GetShardIteratorCommand, KinesisClient, ListShardsCommand, _Record } from '@aws-sdk/client-kinesis';
import { parseArgs } from 'node:util';
import { LIMITS } from '../lib/limits.js';
import { createKinesisReadable } from '../lib/readable/kinesis-readable.js';
import { cpuPerRecordRuns, spread } from './measure.js';
import { buildPayloads } from './payloads.js';

const { values } = parseArgs({
  options: {
    shards: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '10' },
    size: { type: 'string', default: '100' },
    reps: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const shardCount = Number(values.shards);
const reps = Number(values.reps);
const rounds = Number(values.rounds);
const recordBytes = Number(values.size);
const perShard = LIMITS.getRecordsMaxRecords;
const count = shardCount * perShard;

/** One page per shard, shaped like the SDK's output. */
const pages: _Record[][] = Array.from({ length: shardCount }, (_, shard) => {
  const payloads = buildPayloads(recordBytes);
  const base = Date.now() - 60_000;
  return Array.from({ length: perShard }, (_, i): _Record => {
    const p = payloads[(shard * 7 + i) & (payloads.length - 1)];
    return {
      SequenceNumber: '49' + String(shard).padStart(6, '0') + String(i).padStart(48, '0'),
      ApproximateArrivalTimestamp: new Date(base + i),
      Data: new Uint8Array(p.buffer, p.byteOffset, p.byteLength),
      PartitionKey: `pk-${String(i).padStart(7, '0')}`,
    };
  });
});
const shardIds = pages.map((_, i) => `shardId-${String(i).padStart(12, '0')}`);

type AnyCommand = ListShardsCommand | GetShardIteratorCommand | GetRecordsCommand;
const fakeClient = {
  async send(command: AnyCommand): Promise<unknown> {
    const input = command.input as { ShardId?: string; ShardIterator?: string };
    switch (command.constructor.name) {
      case 'ListShardsCommand':
        return { Shards: shardIds.map((ShardId) => ({ ShardId, SequenceNumberRange: { StartingSequenceNumber: '0' } })) };
      case 'GetShardIteratorCommand':
        return { ShardIterator: `${shardIds.indexOf(input.ShardId ?? '')}:0` };
      case 'GetRecordsCommand': {
        const [shard, offset] = (input.ShardIterator ?? '').split(':').map(Number);
        const output: GetRecordsOutput = {
          Records: offset === 0 ? pages[shard] : [],
          NextShardIterator: `${shard}:1`,
          MillisBehindLatest: 0,
        };
        return output;
      }
      default:
        throw new Error(`fake client: ${command.constructor.name} is not supported`);
    }
  },
  destroy(): void {},
} as unknown as KinesisClient;

async function raw(): Promise<void> {
  let records = 0;
  let bytes = 0;
  await Promise.all(
    shardIds.map(async (_, shard) => {
      const output = (await fakeClient.send({ input: { ShardIterator: `${shard}:0` }, constructor: { name: 'GetRecordsCommand' } } as unknown as GetRecordsCommand)) as GetRecordsOutput;
      const list = output.Records ?? [];
      for (let i = 0; i < list.length; i++) bytes += list[i].Data!.length;
      records += list.length;
    }),
  );
  if (records !== count || bytes !== count * recordBytes) throw new Error(`raw read ${records} records`);
}

async function reader(): Promise<void> {
  const r = createKinesisReadable({ client: fakeClient, streamName: 'bench', initialPosition: 'TRIM_HORIZON' });
  let records = 0;
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    r.on('data', (record: { data: Buffer }) => {
      if (records >= count) return;
      bytes += record.data.length;
      if (++records === count) r.destroy();
    });
    r.once('error', reject);
    r.once('close', () => (records === count ? resolve() : reject(new Error(`reader closed after ${records} of ${count}`))));
  });
  if (bytes !== count * recordBytes) throw new Error(`reader read ${bytes} bytes`);
}

/** Median µs per record over `reps` runs of `rounds` rounds, after a warm-up run. */
async function measure(fn: () => Promise<void>): Promise<{ median: number; min: number }> {
  const allRounds = async (): Promise<void> => {
    for (let i = 0; i < rounds; i++) await fn();
  };
  await allRounds();
  const { median, min } = spread(await cpuPerRecordRuns(allRounds, reps, count * rounds));
  return { median, min };
}

const result = { raw: await measure(raw), reader: await measure(reader) };
const overhead = { median: result.reader.median - result.raw.median, min: result.reader.min - result.raw.min };
if (values.json === true) {
  process.stdout.write(JSON.stringify({ count: count * rounds, shards: shardCount, reps, recordBytes, ...result, overhead }) + '\n');
} else {
  const f = (s: { median: number; min: number }) => `${s.median.toFixed(3)} µs/record (min ${s.min.toFixed(3)})`;
  process.stdout.write(`raw loop, fake client: ${f(result.raw)}\nreader, fake client:   ${f(result.reader)}\nreader − raw:          ${f(overhead)}\n`);
}
