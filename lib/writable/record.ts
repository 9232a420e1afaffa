/**
 * Turns one written item into the PutRecords entry it becomes: target stream, data
 * bytes, partition key and explicit hash key, checked against the service's rules.
 * Pure logic; every failure is a ValidationError naming the field.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { ValidationError } from '../errors.js';
import { describeValue } from '../options.js';
import type { QueuedRecord } from './batcher.js';
import { RANDOM_KEY_LENGTH, randomPartitionKey, validateExplicitHashKey, validatePartitionKey } from './partition-key.js';

/** Record data the writer sends as is. */
export type RecordData = Buffer | Uint8Array | string;

/**
 * An item that says where and how to write its data. Records read by
 * createKinesisReadable (with `decode: 'buffer'` or `'string'`) are envelopes too.
 */
export interface KinesisEnvelope {
  data: RecordData;
  partitionKey?: string;
  explicitHashKey?: string;
  streamName?: string;
}

/** How items become records (the resolved writer options). */
export interface RecordRules<T> {
  streamName?: string;
  streamNameFor?: (item: T) => string | undefined;
  partitionKey?: string | ((item: T) => string);
  explicitHashKey?: (item: T) => string | undefined;
  encode: (item: T) => RecordData;
  maxRecordBytes: number;
}

/** A record accepted by the writer and not yet acknowledged. */
export interface PendingRecord<T> extends QueuedRecord {
  /** Acceptance order, for flush(). */
  readonly id: number;
  readonly item: T;
  readonly streamName: string;
  /** The PutRecords entry, built once and reused by retries. */
  readonly entry: PutRecordsRequestEntry;
  attempts: number;
  lastErrorCode?: string;
  lastErrorMessage?: string;
  /** The partition key was made up here (none given): an aggregator may choose another. */
  readonly keyless: boolean;
  /** For a KPL aggregate: the user records inside, and the shard it was built for. */
  members?: PendingRecord<T>[];
  expectedShardId?: string;
  /** The shard PutRecords stored it on. */
  storedShardId?: string;
}

/** True when `value` is an envelope: an object whose `data` is a Buffer, Uint8Array or string. */
export function isEnvelope(value: unknown): value is KinesisEnvelope {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return false;
  const data = (value as { data?: unknown }).data;
  return typeof data === 'string' || data instanceof Uint8Array;
}

/** The default `encode`: JSON text. */
export function encodeJson(item: unknown): string {
  const text = JSON.stringify(item);
  if (text === undefined) throw new ValidationError('item', `cannot be encoded as JSON: ${describeValue(item)}`);
  return text;
}

/** Builds the pending record for `item`, or throws a ValidationError naming the field at fault. */
export function toPendingRecord<T>(item: T, id: number, rules: RecordRules<T>): PendingRecord<T> {
  if (item === null || item === undefined) {
    throw new ValidationError('item', `cannot write ${describeValue(item)} to a Kinesis stream`);
  }
  const envelope = isEnvelope(item) ? item : undefined;
  const raw = typeof item === 'string' || item instanceof Uint8Array ? item : envelope?.data;
  const data = toBytes(raw ?? encodeItem(item, rules.encode));
  const streamName = resolveStreamName(item, envelope, rules);
  const partitionKey = resolvePartitionKey(item, envelope, rules);
  const keyless = rules.partitionKey === undefined && envelope?.partitionKey === undefined;
  // Random keys are ASCII: their byte length is known without encoding them.
  const keyBytes = keyless ? RANDOM_KEY_LENGTH : Buffer.byteLength(partitionKey, 'utf8');
  const size = data.byteLength + keyBytes;
  if (size > rules.maxRecordBytes) {
    throw new ValidationError(
      envelope !== undefined ? 'data' : 'item',
      `record is ${size} bytes (data + partition key), more than maxRecordBytes ${rules.maxRecordBytes}`,
    );
  }
  const entry: PutRecordsRequestEntry = { Data: data, PartitionKey: partitionKey };
  const explicitHashKey = rules.explicitHashKey !== undefined ? callOption(rules.explicitHashKey, item, 'explicitHashKey') : undefined;
  if (explicitHashKey !== undefined) {
    entry.ExplicitHashKey = validateExplicitHashKey(explicitHashKey, 'explicitHashKey');
  } else if (envelope?.explicitHashKey !== undefined) {
    entry.ExplicitHashKey = validateExplicitHashKey(envelope.explicitHashKey, 'explicitHashKey');
  }
  return { id, item, streamName, entry, partitionKey, size, attempts: 0, keyless };
}

function resolveStreamName<T>(item: T, envelope: KinesisEnvelope | undefined, rules: RecordRules<T>): string {
  const chosen = rules.streamNameFor !== undefined ? callOption(rules.streamNameFor, item, 'streamNameFor') : undefined;
  // The writer's own streamName wins over an envelope's, so records read from one stream copy into another.
  const name = chosen ?? rules.streamName ?? envelope?.streamName;
  if (name === undefined) {
    throw new ValidationError('streamName', 'no target stream: set the streamName option, streamNameFor, or the envelope streamName');
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(chosen !== undefined ? 'streamNameFor' : 'streamName', `must be a non-empty string, got ${describeValue(name)}`);
  }
  return name;
}

function resolvePartitionKey<T>(item: T, envelope: KinesisEnvelope | undefined, rules: RecordRules<T>): string {
  const option = rules.partitionKey;
  if (typeof option === 'string') return option;
  if (option !== undefined) return validatePartitionKey(callOption(option, item, 'partitionKey'), 'partitionKey');
  if (envelope !== undefined && envelope.partitionKey !== undefined) {
    return validatePartitionKey(envelope.partitionKey, 'partitionKey');
  }
  return randomPartitionKey();
}

function encodeItem<T>(item: T, encode: (item: T) => RecordData): RecordData {
  const data = callOption(encode, item, 'encode');
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new ValidationError('encode', `must return a Buffer, Uint8Array or string, got ${describeValue(data)}`);
  }
  return data;
}

function toBytes(data: RecordData): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** Calls a user function; what it throws becomes a ValidationError for that option (with cause). */
function callOption<T, R>(fn: (item: T) => R, item: T, field: string): R {
  try {
    return fn(item);
  } catch (cause) {
    if (cause instanceof ValidationError) throw cause;
    throw new ValidationError(field, `threw ${cause instanceof Error ? cause.name : 'a value'}`, { cause });
  }
}
