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

const MAGIC = LIMITS.kplMagic;
const PLAIN: DeaggregateResult = Object.freeze({ kind: 'plain' });
const CHECKSUM_BYTES = LIMITS.kplChecksumBytes;

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

/** Splits an aggregated record into its user records; tells plain and corrupt records apart. */
export function deaggregateRecord(data: Uint8Array): DeaggregateResult {
  if (!isAggregated(data)) return PLAIN;
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buffer.byteLength - CHECKSUM_BYTES;
  const digest = createHash('md5').update(buffer.subarray(MAGIC.length, end)).digest();
  if (!digest.equals(buffer.subarray(end))) return { kind: 'corrupt', reason: 'MD5 checksum mismatch' };
  try {
    return { kind: 'aggregate', records: parse(buffer, MAGIC.length, end) };
  } catch (error) {
    return { kind: 'corrupt', reason: (error as Error).message };
  }
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

function parse(buffer: Buffer, start: number, end: number): DeaggregatedRecord[] {
  const keys: string[] = [];
  const hashKeys: string[] = [];
  const spans: number[] = []; // start, end of each Record message
  const reader = new ProtobufReader(buffer, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2 && (field === 1 || field === 2)) {
      const [from, to] = reader.delimited();
      (field === 1 ? keys : hashKeys).push(buffer.toString('utf8', from, to));
    } else if (wireType === 2 && field === 3) {
      const [from, to] = reader.delimited();
      spans.push(from, to);
    } else {
      reader.skip(wireType);
    }
  }
  const records: DeaggregatedRecord[] = new Array(spans.length / 2);
  for (let i = 0; i < spans.length; i += 2) records[i / 2] = parseRecord(buffer, spans[i], spans[i + 1], keys, hashKeys);
  return records;
}

function parseRecord(buffer: Buffer, start: number, end: number, keys: string[], hashKeys: string[]): DeaggregatedRecord {
  const reader = new ProtobufReader(buffer, start, end);
  let keyIndex = -1;
  let hashKeyIndex = -1;
  let data: Buffer | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === 0x08) keyIndex = reader.varint();
    else if (tag === 0x10) hashKeyIndex = reader.varint();
    else if (tag === 0x1a) {
      const [from, to] = reader.delimited();
      data = buffer.subarray(from, to);
    } else reader.skip(tag & 7);
  }
  if (keyIndex < 0 || keyIndex >= keys.length) throw new Error(`partition key index ${keyIndex} outside the table of ${keys.length}`);
  if (hashKeyIndex >= hashKeys.length) throw new Error(`explicit hash key index ${hashKeyIndex} outside the table of ${hashKeys.length}`);
  if (data === undefined) throw new Error('a record without data');
  const record: DeaggregatedRecord = { partitionKey: keys[keyIndex], data };
  if (hashKeyIndex >= 0) record.explicitHashKey = hashKeys[hashKeyIndex];
  return record;
}
