import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { AggregateBuilder, aggregate, type UserRecord } from '../../../lib/aggregation/aggregate.js';
import { deaggregate, deaggregateRecord, isAggregated } from '../../../lib/aggregation/deaggregate.js';
import { ValidationError } from '../../../lib/errors.js';
import { prng } from '../../helpers/prng.js';

interface AggUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  data: string; // base64
}
interface AggModule {
  deaggregateSync(record: { data: string; partitionKey: string; sequenceNumber: string }, checksums: boolean, done: (err: Error | null, records?: AggUserRecord[]) => void): void;
  aggregate(
    records: Array<{ partitionKey: string; explicitHashKey?: string; data: Buffer }>,
    onEncoded: (encoded: { partitionKey: string; explicitHashKey?: string; data: Buffer }, callback: () => void) => void,
    afterAll: () => void,
    onError: (error: Error) => void,
  ): void;
}
const agg = createRequire(import.meta.url)('aws-kinesis-agg') as AggModule;


const KEY_CHARS = ['a', 'Z', '7', 'é', 'ß', '中', '文', '😀', '🚀', '-', ' '];

function randomRecords(random: () => number, count: number, maxData: number): UserRecord[] {
  return Array.from({ length: count }, () => {
    const keyLength = 1 + Math.floor(random() * 20);
    const partitionKey = Array.from({ length: keyLength }, () => KEY_CHARS[Math.floor(random() * KEY_CHARS.length)]).join('');
    const size = random() < 0.1 ? 0 : Math.floor(random() * maxData);
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = Math.floor(random() * 256);
    const record: UserRecord = { partitionKey, data };
    if (random() < 0.3) record.explicitHashKey = BigInt.asUintN(128, BigInt(Math.floor(random() * 2 ** 52)) << 70n).toString();
    return record;
  });
}

function encode(records: UserRecord[]): Buffer {
  const builder = new AggregateBuilder();
  for (const r of records) builder.add(r);
  return builder.encode();
}

function theirDeaggregate(data: Buffer): AggUserRecord[] {
  let out: AggUserRecord[] | undefined;
  agg.deaggregateSync({ data: data.toString('base64'), partitionKey: 'outer', sequenceNumber: '1' }, true, (err, records) => {
    if (err) throw err;
    out = records;
  });
  return out ?? [];
}

function theirAggregate(records: UserRecord[]): Promise<Array<{ partitionKey: string; explicitHashKey?: string; data: Buffer }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ partitionKey: string; explicitHashKey?: string; data: Buffer }> = [];
    agg.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: Buffer.from(r.data) })),
      (encoded, callback) => {
        out.push(encoded);
        callback();
      },
      () => resolve(out),
      reject,
    );
  });
}

describe('KPL aggregation format', () => {
  it('what we aggregate, aws-kinesis-agg decodes identically (explicit hash keys, empty data, unicode keys)', () => {
    const random = prng(1);
    for (let round = 0; round < 20; round++) {
      const records = randomRecords(random, 1 + Math.floor(random() * 60), 300);
      const decoded = theirDeaggregate(encode(records));
      assert.equal(decoded.length, records.length);
      decoded.forEach((d, i) => {
        assert.equal(d.partitionKey, records[i].partitionKey);
        // aws-kinesis-agg reports table entry 0 for a record with no explicit hash key
        // (the proto2 default of the absent index), so compare only where one was set.
        if (records[i].explicitHashKey !== undefined) assert.equal(d.explicitPartitionKey, records[i].explicitHashKey);
        assert.deepEqual(Buffer.from(d.data, 'base64'), Buffer.from(records[i].data));
      });
    }
  });

  it('what aws-kinesis-agg aggregates, we decode identically', async () => {
    const random = prng(2);
    for (let round = 0; round < 10; round++) {
      // aws-kinesis-agg builds its key tables with Object.keys(), which moves integer-like
      // keys ("7") to the front and breaks its own indexes: avoid such keys when it encodes.
      const records = randomRecords(random, 1 + Math.floor(random() * 80), 500).filter((r) => !/^(0|[1-9]\d*)$/.test(r.partitionKey));
      const encoded = await theirAggregate(records);
      const decoded = encoded.flatMap((e) => {
        const result = deaggregateRecord(e.data);
        assert.equal(result.kind, 'aggregate');
        return result.kind === 'aggregate' ? result.records : [];
      });
      assert.equal(decoded.length, records.length);
      decoded.forEach((d, i) => {
        assert.equal(d.partitionKey, records[i].partitionKey);
        assert.equal(d.explicitHashKey, records[i].explicitHashKey);
        assert.deepEqual(d.data, Buffer.from(records[i].data));
      });
    }
  });

  it('round-trips random records, and the builder knows the exact encoded size', () => {
    const random = prng(3);
    for (let round = 0; round < 50; round++) {
      const records = randomRecords(random, Math.floor(random() * 40) + 1, round % 10 === 0 ? 60000 : 200);
      const builder = new AggregateBuilder();
      for (const r of records) {
        const predicted = builder.sizeWith(r.partitionKey, r.explicitHashKey, r.data.byteLength);
        builder.add(r);
        assert.equal(builder.size, predicted);
      }
      const bytes = builder.encode();
      assert.equal(bytes.length, builder.size);
      assert.ok(isAggregated(bytes));
      const result = deaggregateRecord(bytes);
      assert.equal(result.kind, 'aggregate');
      if (result.kind !== 'aggregate') return;
      assert.deepEqual(
        result.records.map((r) => [r.partitionKey, r.explicitHashKey, Buffer.from(r.data)]),
        records.map((r) => [r.partitionKey, r.explicitHashKey, Buffer.from(r.data)]),
      );
    }
  });

  it('aggregate() splits by maxBytes (data + partition key) and keeps order', () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ partitionKey: `k${i % 13}`, data: Buffer.alloc(100, i % 256) }));
    const out = aggregate(records, { maxBytes: 5000 });
    assert.ok(out.length > 20);
    for (const a of out) assert.ok(a.data.length + Buffer.byteLength(a.partitionKey) <= 5000, `${a.data.length}`);
    const back = out.flatMap((a) => deaggregate({ data: a.data, partitionKey: a.partitionKey }));
    assert.deepEqual(back.map((r) => r.data[0]), records.map((r) => r.data[0]));
    assert.equal(out.reduce((n, a) => n + a.count, 0), 1000);
    assert.equal(out[1].partitionKey, back[out[0].count].partitionKey, 'an aggregate takes its first record\'s key');
  });

  it('aggregate() rejects a record that cannot fit and a bad maxBytes', () => {
    assert.throws(() => aggregate([{ partitionKey: 'k', data: Buffer.alloc(100) }], { maxBytes: 100 }), ValidationError);
    assert.throws(() => aggregate([], { maxBytes: 10 }), ValidationError);
  });

  it('a near-limit record fits exactly', () => {
    const builder = new AggregateBuilder();
    const size = builder.sizeWith('k', undefined, 1024 * 1024 - 100);
    const data = Buffer.alloc(1024 * 1024 - 100, 7);
    builder.add({ partitionKey: 'k', data });
    const bytes = builder.encode();
    assert.equal(bytes.length, size);
    assert.deepEqual(theirDeaggregate(bytes).map((r) => Buffer.from(r.data, 'base64').length), [data.length]);
  });

  it('tells plain and corrupt records apart', () => {
    assert.deepEqual(deaggregateRecord(Buffer.from('plain data')), { kind: 'plain' });
    assert.deepEqual(deaggregateRecord(Buffer.from([0xf3, 0x89, 0x9a, 0xc2])), { kind: 'plain' }, 'too short to be an aggregate');
    const good = encode([{ partitionKey: 'a', data: Buffer.from('x') }]);
    const badChecksum = Buffer.from(good);
    badChecksum[badChecksum.length - 1] ^= 1;
    assert.equal(deaggregateRecord(badChecksum).kind, 'corrupt');
    // A body that is not valid protobuf, with a correct checksum.
    const body = Buffer.from([0x0a, 0x05, 0x61]);
    const forged = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), body, Buffer.alloc(16)]);
    (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('md5').update(body).digest().copy(forged, 4 + body.length);
    const result = deaggregateRecord(forged);
    assert.equal(result.kind, 'corrupt');
    assert.deepEqual(deaggregate({ data: forged, partitionKey: 'outer' }), [{ partitionKey: 'outer', data: forged }], 'delivered whole');
  });
});
