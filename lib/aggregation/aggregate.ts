/**
 * KPL aggregated records: many user records in one Kinesis record, in the format of the
 * AWS KPL (and its KCL de-aggregation):
 *
 *   F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf) (16 bytes)
 *   AggregatedRecord { repeated string partition_key_table = 1;
 *                      repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
 *   Record { uint64 partition_key_index = 1; uint64 explicit_hash_key_index = 2; bytes data = 3; }
 *
 * AggregateBuilder knows the exact encoded size as records are added, so an aggregate
 * never exceeds its byte budget, and encodes straight into one buffer.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { LIMITS, WRITABLE_DEFAULTS } from '../limits.js';
import { varintLength, writeVarint } from './protobuf.js';

/** One user record inside an aggregate. */
export interface UserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
}

/** A Kinesis record carrying an aggregate: put it as is (data, partition key, explicit hash key). */
export interface AggregatedRecord {
  data: Buffer;
  partitionKey: string;
  explicitHashKey?: string;
  /** User records inside. */
  count: number;
}

const MAGIC = LIMITS.kplMagic;
/** Magic + MD5 trailer. */
export const AGGREGATE_FRAMING_BYTES = MAGIC.length + LIMITS.kplChecksumBytes;

const TAG_PARTITION_KEY_TABLE = 0x0a; // field 1, length-delimited
const TAG_EXPLICIT_HASH_KEY_TABLE = 0x12; // field 2, length-delimited
const TAG_RECORD = 0x1a; // field 3, length-delimited
const TAG_PARTITION_KEY_INDEX = 0x08; // field 1, varint
const TAG_EXPLICIT_HASH_KEY_INDEX = 0x10; // field 2, varint
const TAG_DATA = 0x1a; // field 3, length-delimited

interface Entry {
  keyIndex: number;
  hashKeyIndex: number; // -1: none
  data: Uint8Array;
  /** Encoded length of the Record message (without its tag and length). */
  messageLength: number;
}

interface TableEntry {
  text: string;
  bytes: number;
}

/** Collects user records into one aggregate, tracking its exact encoded size. */
export class AggregateBuilder {
  private readonly keys = new Map<string, number>();
  private readonly keyTable: TableEntry[] = [];
  private readonly hashKeys = new Map<string, number>();
  private readonly hashKeyTable: TableEntry[] = [];
  private readonly entries: Entry[] = [];
  /** Bytes of the protobuf message so far. */
  private protobufBytes = 0;

  /** User records added. */
  get count(): number {
    return this.entries.length;
  }

  /** Bytes of the encoded aggregate (magic + protobuf + MD5). */
  get size(): number {
    return AGGREGATE_FRAMING_BYTES + this.protobufBytes;
  }

  /** The encoded size if `record` were added. */
  sizeWith(partitionKey: string, explicitHashKey: string | undefined, dataBytes: number): number {
    return this.size + this.growth(partitionKey, explicitHashKey, dataBytes);
  }

  /**
   * Adds `record` if the aggregate stays within `maxSize` bytes (magic + protobuf + MD5);
   * returns false, changing nothing, if it would not. One table lookup per key: the
   * writer's hot path.
   */
  tryAdd(record: UserRecord, maxSize: number): boolean {
    const key = record.partitionKey;
    let keyIndex = this.keys.get(key);
    let growth = 0;
    let keyBytes = 0;
    if (keyIndex === undefined) {
      keyBytes = Buffer.byteLength(key, 'utf8');
      growth += tableEntryBytes(keyBytes);
    }
    const hashKey = record.explicitHashKey;
    let hashKeyIndex = -1;
    let hashKnown: number | undefined;
    if (hashKey !== undefined) {
      hashKnown = this.hashKeys.get(hashKey);
      hashKeyIndex = hashKnown ?? this.hashKeyTable.length;
      if (hashKnown === undefined) growth += tableEntryBytes(hashKey.length);
    }
    const dataBytes = record.data.byteLength;
    const messageLength = recordMessageLength(keyIndex ?? this.keyTable.length, hashKeyIndex, dataBytes);
    growth += 1 + varintLength(messageLength) + messageLength;
    if (AGGREGATE_FRAMING_BYTES + this.protobufBytes + growth > maxSize) return false;
    if (keyIndex === undefined) {
      keyIndex = this.keyTable.length;
      this.keys.set(key, keyIndex);
      this.keyTable.push({ text: key, bytes: keyBytes });
    }
    if (hashKey !== undefined && hashKnown === undefined) {
      this.hashKeys.set(hashKey, hashKeyIndex);
      this.hashKeyTable.push({ text: hashKey, bytes: hashKey.length });
    }
    this.entries.push({ keyIndex, hashKeyIndex, data: record.data, messageLength });
    this.protobufBytes += growth;
    return true;
  }

  add(record: UserRecord): void {
    const keyIndex = this.intern(this.keys, this.keyTable, record.partitionKey);
    const hashKeyIndex = record.explicitHashKey === undefined ? -1 : this.intern(this.hashKeys, this.hashKeyTable, record.explicitHashKey);
    const messageLength = recordMessageLength(keyIndex, hashKeyIndex, record.data.byteLength);
    this.entries.push({ keyIndex, hashKeyIndex, data: record.data, messageLength });
    this.protobufBytes += 1 + varintLength(messageLength) + messageLength;
  }

  /** The aggregate's bytes: magic, protobuf, MD5 of the protobuf. */
  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    out.set(MAGIC, 0);
    let offset = MAGIC.length;
    for (const key of this.keyTable) offset = writeString(out, offset, TAG_PARTITION_KEY_TABLE, key);
    for (const key of this.hashKeyTable) offset = writeString(out, offset, TAG_EXPLICIT_HASH_KEY_TABLE, key);
    for (const entry of this.entries) {
      out[offset++] = TAG_RECORD;
      offset = writeVarint(out, offset, entry.messageLength);
      out[offset++] = TAG_PARTITION_KEY_INDEX;
      offset = writeVarint(out, offset, entry.keyIndex);
      if (entry.hashKeyIndex >= 0) {
        out[offset++] = TAG_EXPLICIT_HASH_KEY_INDEX;
        offset = writeVarint(out, offset, entry.hashKeyIndex);
      }
      out[offset++] = TAG_DATA;
      offset = writeVarint(out, offset, entry.data.byteLength);
      out.set(entry.data, offset);
      offset += entry.data.byteLength;
    }
    createHash('md5').update(out.subarray(MAGIC.length, offset)).digest().copy(out, offset);
    return out;
  }

  private growth(partitionKey: string, explicitHashKey: string | undefined, dataBytes: number): number {
    let growth = 0;
    const keyIndex = this.keys.get(partitionKey);
    const index = keyIndex ?? this.keyTable.length;
    if (keyIndex === undefined) growth += tableEntryBytes(Buffer.byteLength(partitionKey, 'utf8'));
    let hashIndex = -1;
    if (explicitHashKey !== undefined) {
      const known = this.hashKeys.get(explicitHashKey);
      hashIndex = known ?? this.hashKeyTable.length;
      if (known === undefined) growth += tableEntryBytes(explicitHashKey.length);
    }
    const messageLength = recordMessageLength(index, hashIndex, dataBytes);
    return growth + 1 + varintLength(messageLength) + messageLength;
  }

  private intern(map: Map<string, number>, table: TableEntry[], text: string): number {
    let index = map.get(text);
    if (index === undefined) {
      index = table.length;
      const bytes = Buffer.byteLength(text, 'utf8');
      map.set(text, index);
      table.push({ text, bytes });
      this.protobufBytes += tableEntryBytes(bytes);
    }
    return index;
  }
}

function tableEntryBytes(bytes: number): number {
  return 1 + varintLength(bytes) + bytes;
}

function recordMessageLength(keyIndex: number, hashKeyIndex: number, dataBytes: number): number {
  return (
    1 + varintLength(keyIndex) + (hashKeyIndex >= 0 ? 1 + varintLength(hashKeyIndex) : 0) + 1 + varintLength(dataBytes) + dataBytes
  );
}

function writeString(out: Buffer, offset: number, tag: number, entry: TableEntry): number {
  out[offset++] = tag;
  offset = writeVarint(out, offset, entry.bytes);
  return offset + out.write(entry.text, offset, entry.bytes, 'utf8');
}

/** Options of aggregate(). */
export interface AggregateOptions {
  /** Largest aggregate, bytes of data + partition key, like a Kinesis record. Default 51200 (the KPL's). */
  maxBytes?: number;
}

/**
 * Packs user records into as few aggregated Kinesis records as `maxBytes` allows, in
 * order. Each aggregate takes the partition key (and explicit hash key) of its first
 * record. Kinesis places an aggregate on one shard: give this function records of one
 * shard (or a single-shard stream), or use createKinesisWritable's `aggregation`, which
 * groups by shard for you; KCL consumers drop sub-records that belong to another shard.
 */
export function aggregate(records: Iterable<UserRecord>, options: AggregateOptions = {}): AggregatedRecord[] {
  const maxBytes = options.maxBytes ?? WRITABLE_DEFAULTS.aggregationMaxBytes;
  if (!Number.isInteger(maxBytes) || maxBytes <= AGGREGATE_FRAMING_BYTES) {
    throw new ValidationError('maxBytes', `must be an integer above ${AGGREGATE_FRAMING_BYTES}, got ${String(maxBytes)}`);
  }
  const out: AggregatedRecord[] = [];
  let builder = new AggregateBuilder();
  let first: UserRecord | undefined;
  const close = (): void => {
    if (first === undefined) return;
    const record: AggregatedRecord = { data: builder.encode(), partitionKey: first.partitionKey, count: builder.count };
    if (first.explicitHashKey !== undefined) record.explicitHashKey = first.explicitHashKey;
    out.push(record);
    builder = new AggregateBuilder();
    first = undefined;
  };
  for (const record of records) {
    const budget = (key: string): number => maxBytes - Buffer.byteLength(key, 'utf8');
    if (first !== undefined && builder.tryAdd(record, budget(first.partitionKey))) continue;
    close();
    if (!builder.tryAdd(record, budget(record.partitionKey))) {
      throw new ValidationError('data', `a record of ${record.data.byteLength} bytes does not fit an aggregate of maxBytes ${maxBytes}`);
    }
    first = record;
  }
  close();
  return out;
}
