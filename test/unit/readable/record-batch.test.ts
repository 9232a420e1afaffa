import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { _Record } from '@aws-sdk/client-kinesis';
import { DecodeError } from '../../../lib/index.js';
import { aggregate } from '../../../lib/aggregation/aggregate.js';
import { hashKeyOf, type HashKeyRange } from '../../../lib/aggregation/hash-key.js';
import { BUFFER_DECODER, createDecoder, type Decoder } from '../../../lib/readable/decode.js';
import { RecordBatch, type BatchShard, type KinesisRecord } from '../../../lib/readable/record-batch.js';

const ARRIVAL = new Date('2026-12-01T00:00:00Z');

function shard<T = Buffer>(options: Partial<BatchShard<T>> = {}): BatchShard<T> {
  return {
    streamName: 'events',
    shardId: 'shardId-000000000000',
    filterRange: undefined,
    deaggregate: true,
    decode: BUFFER_DECODER as unknown as Decoder<T>,
    ...options,
  };
}

function kinesisRecord(sequenceNumber: string, data: Buffer, partitionKey = 'pk'): _Record {
  // Shaped as the SDK returns it: Data a Uint8Array view, not a Buffer.
  return { SequenceNumber: sequenceNumber, PartitionKey: partitionKey, ApproximateArrivalTimestamp: ARRIVAL, Data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function aggregated(sequenceNumber: string, keys: string[], prefix: string): _Record {
  const [record] = aggregate(keys.map((partitionKey, i) => ({ partitionKey, data: Buffer.from(`${prefix}${i}`) })));
  return kinesisRecord(sequenceNumber, record.data, record.partitionKey);
}

/** An aggregate with the KPL magic whose MD5 trailer does not match. */
function corrupt(sequenceNumber: string): _Record {
  const [record] = aggregate([{ partitionKey: 'k', data: Buffer.from('x') }]);
  const bad = Buffer.from(record.data);
  bad[bad.length - 1] ^= 0xff;
  return kinesisRecord(sequenceNumber, bad, 'k');
}

function drain<T>(batch: RecordBatch<T>): KinesisRecord<T>[] {
  const out: KinesisRecord<T>[] = [];
  for (let record = batch.next(); record !== undefined; record = batch.next()) out.push(record);
  return out;
}

describe('RecordBatch', () => {
  it('hands out plain records one by one as Buffers with the SDK fields, and counts them', () => {
    const batch = new RecordBatch(
      [kinesisRecord('1', Buffer.from('a'), 'k1'), kinesisRecord('2', Buffer.from('bc'), 'k2')],
      shard(),
      42,
    );
    assert.equal(batch.done, false);
    const first = batch.next()!;
    assert.ok(Buffer.isBuffer(first.data));
    assert.deepEqual(first, {
      data: Buffer.from('a'),
      partitionKey: 'k1',
      sequenceNumber: '1',
      approximateArrivalTimestamp: ARRIVAL,
      streamName: 'events',
      shardId: 'shardId-000000000000',
      millisBehindLatest: 42,
    });
    assert.equal(batch.done, false);
    assert.equal(batch.next()!.sequenceNumber, '2');
    assert.equal(batch.done, true);
    assert.equal(batch.next(), undefined);
    assert.deepEqual([batch.records, batch.bytes], [2, 3]);
  });

  it('splits an aggregate only when its turn comes: a corrupt aggregate after it is not looked at before', () => {
    const batch = new RecordBatch([aggregated('1', ['a', 'b', 'c'], 'u'), corrupt('2')], shard(), 0);
    const firstThree = [batch.next()!, batch.next()!, batch.next()!];
    assert.deepEqual(
      firstThree.map((r) => [r.sequenceNumber, r.subSequenceNumber, r.partitionKey, r.data.toString()]),
      [
        ['1', 0, 'a', 'u0'],
        ['1', 1, 'b', 'u1'],
        ['1', 2, 'c', 'u2'],
      ],
    );
    assert.equal(batch.corrupt, 0, 'the second Kinesis record has not been examined yet');
    const whole = batch.next()!;
    assert.equal(whole.sequenceNumber, '2');
    assert.equal(whole.subSequenceNumber, undefined);
    assert.equal(batch.corrupt, 1);
    assert.equal(batch.next(), undefined);
    assert.equal(batch.records, 4);
  });

  it('keeps aggregates whole when de-aggregation is off', () => {
    const records = drain(new RecordBatch([aggregated('1', ['a', 'b'], 'u')], shard({ deaggregate: false }), 0));
    assert.equal(records.length, 1);
    assert.equal(records[0].subSequenceNumber, undefined);
  });

  it('resumes inside the first aggregate after skipFirstThrough, and skips a plain first record whole', () => {
    const inside = drain(new RecordBatch([aggregated('1', ['a', 'b', 'c'], 'u'), kinesisRecord('2', Buffer.from('p'))], shard(), 0, 1));
    assert.deepEqual(
      inside.map((r) => `${r.sequenceNumber}/${r.subSequenceNumber ?? '-'}`),
      ['1/2', '2/-'],
    );
    const plain = drain(new RecordBatch([kinesisRecord('1', Buffer.from('p')), kinesisRecord('2', Buffer.from('q'))], shard(), 0, 0));
    assert.deepEqual(
      plain.map((r) => r.sequenceNumber),
      ['2'],
    );
  });

  it('drops sub-records outside the filter range and counts them', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const lowest = keys.map((k) => hashKeyOf(k)).sort(Buffer.compare)[0];
    const range: HashKeyRange = { start: lowest, end: lowest };
    const batch = new RecordBatch([aggregated('1', keys, 'u')], shard({ filterRange: range }), 0);
    const records = drain(batch);
    assert.equal(records.length, 1);
    assert.ok(hashKeyOf(records[0].partitionKey).equals(lowest));
    assert.equal(batch.dropped, 5);
    assert.equal(batch.done, true);
  });

  it('an answer whose only record is checkpointed gives nothing', () => {
    const batch = new RecordBatch([kinesisRecord('1', Buffer.from('p'))], shard(), 0, 0);
    assert.equal(batch.next(), undefined);
    assert.equal(batch.records, 0);
  });

  it('decodes as asked, and a decode failure surfaces at next() as a DecodeError naming the record', () => {
    const decode = createDecoder<unknown>('json');
    const batch = new RecordBatch([kinesisRecord('1', Buffer.from('{"n":1}')), kinesisRecord('2', Buffer.from('not json'))], shard({ decode }), 0);
    assert.deepEqual(batch.next()!.data, { n: 1 });
    assert.throws(
      () => batch.next(),
      (error: unknown) => error instanceof DecodeError && /2/.test(error.message),
    );
  });

  it('passes the same Buffer for the default decoder (no copy of the data)', () => {
    const data = Buffer.from('payload');
    const raw = kinesisRecord('1', data);
    const record = new RecordBatch([raw], shard(), 0).next()!;
    assert.equal(record.data.buffer, data.buffer);
    assert.equal(createHash('md5').update(record.data).digest('hex'), createHash('md5').update(data).digest('hex'));
  });
});
