/**
 * Reading KPL aggregated records back into user records. A record without the magic is
 * not an aggregate; one with the magic but a bad MD5 or an unparsable body is reported
 * as corrupt, and callers deliver it whole, as the KCL does.
 */
import { createHash } from 'node:crypto';
import { LIMITS } from '../limits.js';
import { ProtobufReader } from './protobuf.js';

/** A user record taken out of an aggregate. */
export interface DeaggregatedRecord {
  partitionKey: string;
  explicitHashKey?: string;
  /** A view into the aggregate's bytes (no copy). */
  data: Buffer;
}

/** What deaggregate() found. */
export type DeaggregateResult =
  | { kind: 'plain' }
  | { kind: 'corrupt'; reason: string }
  | { kind: 'aggregate'; records: DeaggregatedRecord[] };

/**
 * An aggregate parsed into spans, without an object per user record: readers build the
 * records they deliver straight from it, one at a time.
 */
export interface AggregateView {
  /** The aggregate's bytes; user record data are spans of it. */
  buffer: Buffer;
  /** The partition key and explicit hash key tables. */
  keys: string[];
  hashKeys: string[];
  /** User records inside. */
  count: number;
  /** Per user record, 4 entries: data start, data end, partition key index, explicit hash key index (-1: none). */
  fields: Int32Array;
}

/** What parseAggregate() found. */
export type AggregateParse = { kind: 'plain' } | { kind: 'corrupt'; reason: string } | { kind: 'aggregate'; view: AggregateView };

const MAGIC = LIMITS.kplMagic;
const CHECKSUM_BYTES = LIMITS.kplChecksumBytes;
const PLAIN = Object.freeze({ kind: 'plain' as const });

/** True when `data` starts with the KPL magic and is long enough to be an aggregate. */
export function isAggregated(data: Uint8Array): boolean {
  return (
    data.byteLength >= MAGIC.length + CHECKSUM_BYTES &&
    data[0] === MAGIC[0] &&
    data[1] === MAGIC[1] &&
    data[2] === MAGIC[2] &&
    data[3] === MAGIC[3]
  );
}

/** Parses an aggregated record into spans; tells plain and corrupt records apart. */
export function parseAggregate(data: Uint8Array): AggregateParse {
  if (!isAggregated(data)) return PLAIN;
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buffer.byteLength - CHECKSUM_BYTES;
  const digest = createHash('md5').update(buffer.subarray(MAGIC.length, end)).digest();
  if (!digest.equals(buffer.subarray(end))) return { kind: 'corrupt', reason: 'MD5 checksum mismatch' };
  try {
    return { kind: 'aggregate', view: parse(buffer, MAGIC.length, end) };
  } catch (error) {
    return { kind: 'corrupt', reason: (error as Error).message };
  }
}

/** Splits an aggregated record into its user records; tells plain and corrupt records apart. */
export function deaggregateRecord(data: Uint8Array): DeaggregateResult {
  const result = parseAggregate(data);
  if (result.kind !== 'aggregate') return result;
  const { buffer, keys, hashKeys, count, fields } = result.view;
  const records: DeaggregatedRecord[] = new Array(count);
  for (let i = 0, f = 0; i < count; i++, f += 4) {
    const record: DeaggregatedRecord = { partitionKey: keys[fields[f + 2]], data: buffer.subarray(fields[f], fields[f + 1]) };
    if (fields[f + 3] >= 0) record.explicitHashKey = hashKeys[fields[f + 3]];
    records[i] = record;
  }
  return { kind: 'aggregate', records };
}

/**
 * The user records of an aggregated record, or the record itself when it is not an
 * aggregate (or is a corrupt one), like the KCL's de-aggregation.
 */
export function deaggregate(record: { data: Uint8Array; partitionKey: string; explicitHashKey?: string }): DeaggregatedRecord[] {
  const result = deaggregateRecord(record.data);
  if (result.kind === 'aggregate') return result.records;
  const data = Buffer.isBuffer(record.data) ? record.data : Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
  const whole: DeaggregatedRecord = { partitionKey: record.partitionKey, data };
  if (record.explicitHashKey !== undefined) whole.explicitHashKey = record.explicitHashKey;
  return [whole];
}

/** One pass over the AggregatedRecord message; a Record message is read in place, with no object of its own. */
function parse(buffer: Buffer, start: number, end: number): AggregateView {
  const keys: string[] = [];
  const hashKeys: string[] = [];
  let fields = new Int32Array(64);
  let count = 0;
  const outer = new ProtobufReader(buffer, start, end);
  const inner = new ProtobufReader(buffer, start, start);
  while (!outer.done) {
    const tag = outer.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2 && (field === 1 || field === 2)) {
      const to = outer.delimitedEnd();
      (field === 1 ? keys : hashKeys).push(buffer.toString('utf8', outer.fieldStart, to));
    } else if (wireType === 2 && field === 3) {
      const to = outer.delimitedEnd();
      if ((count + 1) * 4 > fields.length) {
        const grown = new Int32Array(fields.length * 2);
        grown.set(fields);
        fields = grown;
      }
      readRecord(inner, outer.fieldStart, to, fields, count * 4);
      count++;
    } else {
      outer.skip(wireType);
    }
  }
  for (let f = 0; f < count * 4; f += 4) {
    const keyIndex = fields[f + 2];
    const hashKeyIndex = fields[f + 3];
    if (keyIndex < 0 || keyIndex >= keys.length) throw new Error(`partition key index ${keyIndex} outside the table of ${keys.length}`);
    if (hashKeyIndex >= hashKeys.length) throw new Error(`explicit hash key index ${hashKeyIndex} outside the table of ${hashKeys.length}`);
  }
  return { buffer, keys, hashKeys, count, fields: fields.subarray(0, count * 4) };
}

/** Reads one Record message (partition key index, explicit hash key index, data) into fields[at..at+3]. */
function readRecord(reader: ProtobufReader, start: number, end: number, fields: Int32Array, at: number): void {
  reader.reset(start, end);
  let keyIndex = -1;
  let hashKeyIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === 0x08) keyIndex = indexValue(reader.varint());
    else if (tag === 0x10) hashKeyIndex = indexValue(reader.varint());
    else if (tag === 0x1a) {
      dataEnd = reader.delimitedEnd();
      dataStart = reader.fieldStart;
    } else reader.skip(tag & 7);
  }
  if (dataStart < 0) throw new Error('a record without data');
  fields[at] = dataStart;
  fields[at + 1] = dataEnd;
  fields[at + 2] = keyIndex;
  fields[at + 3] = hashKeyIndex;
}

/** A table index as stored in an Int32Array: one beyond any table stands for "too large". */
function indexValue(value: number): number {
  return value > 0x7fffffff ? 0x7fffffff : value;
}
