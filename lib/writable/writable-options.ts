/**
 * The options of createKinesisWritable and their checks: every bad value is a
 * ValidationError naming the option, thrown before the stream starts anything.
 */
import { AGGREGATE_FRAMING_BYTES } from '../aggregation/aggregate.js';
import type { ClientOptions } from '../client.js';
import { ValidationError } from '../errors.js';
import { LIMITS, WRITABLE_DEFAULTS } from '../limits.js';
import { booleanOption, describeValue, nonEmptyString, nonNegativeNumber, optionalFunction, positiveInteger } from '../options.js';
import { RetryPolicy, type RetryOptions } from '../retry.js';
import { validatePartitionKey } from './partition-key.js';
import { resolveRateLimit, type RateLimitOptions, type ShardRates } from './rate-limiter.js';
import { encodeJson, type RecordData, type RecordRules } from './record.js';

/** Options of createKinesisWritable. */
export interface KinesisWritableOptions<T = unknown> extends ClientOptions {
  /** Default target stream. */
  streamName?: string;
  /** Target stream per item; `undefined` falls back to `streamName`, then the envelope's. */
  streamNameFor?: (item: T) => string | undefined;
  /** Partition key for every item, or per item. Default: the envelope's key, else random. */
  partitionKey?: string | ((item: T) => string);
  /** Explicit hash key per item (decimal in [0, 2^128)); `undefined` means none. */
  explicitHashKey?: (item: T) => string | undefined;
  /** Turns a non-envelope item into record data. Default: JSON. */
  encode?: (item: T) => RecordData;
  /** Entries per PutRecords request, 1–500. Default 500. */
  maxBatchRecords?: number;
  /** Bytes per request (data + partition keys), up to 10 MiB. Default 5 MiB. */
  maxBatchBytes?: number;
  /** Largest record (data + partition key). Default 1 MiB; up to 10 MiB for streams configured so. */
  maxRecordBytes?: number;
  /** How long a partial batch waits for more records, in ms. Default 50. */
  lingerMs?: number;
  /** Concurrent PutRecords requests per target stream. Default 8. */
  maxInFlight?: number;
  /** Strict per-partition-key order: at most one record per key in flight. Default false. */
  preserveOrder?: boolean;
  /** Records accepted and not yet acknowledged before write() applies backpressure. Default 10000. */
  maxBufferedRecords?: number;
  /** Retries of failed entries and failed requests. */
  retry?: RetryOptions;
  /** Error the stream when a record runs out of retries (true), or emit `failedRecords` and go on. Default true. */
  failOnError?: boolean;
  /**
   * KPL aggregation: pack user records into aggregated Kinesis records (the KPL/KCL
   * format), grouped per target shard. `true` or `{ maxBytes }` (default 51200, at most
   * maxRecordBytes). Default false.
   */
  aggregation?: boolean | { maxBytes?: number };
  /**
   * Per-shard rate limiting (on by default): records for a shard at its write limit wait
   * here instead of being sent to be refused, and other shards keep flowing. `false`
   * turns it off; an object sets the per-shard limits and the headroom left for other
   * producers. Default: 1000 records/s and 1 MiB/s per shard, headroom 0.
   */
  rateLimit?: boolean | RateLimitOptions;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

export interface ResolvedOptions<T> {
  rules: RecordRules<T>;
  maxBatchRecords: number;
  maxBatchBytes: number;
  lingerMs: number;
  maxInFlight: number;
  preserveOrder: boolean;
  maxBufferedRecords: number;
  failOnError: boolean;
  retryPolicy: RetryPolicy;
  aggregateMaxBytes: number | undefined;
  /** Per-shard write rates, or undefined when rate limiting is off. */
  rates: ShardRates | undefined;
}

export function resolveOptions<T>(options: KinesisWritableOptions<T>): ResolvedOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('options', 'createKinesisWritable needs an options object');
  }
  const d = WRITABLE_DEFAULTS;
  const maxBatchBytes = positiveInteger(options.maxBatchBytes ?? d.maxBatchBytes, 'maxBatchBytes', LIMITS.putRecordsMaxBytes);
  const maxRecordBytes = positiveInteger(options.maxRecordBytes ?? d.maxRecordBytes, 'maxRecordBytes', LIMITS.recordMaxBytesCeiling);
  if (maxRecordBytes > maxBatchBytes) {
    throw new ValidationError('maxRecordBytes', `${maxRecordBytes} is larger than maxBatchBytes ${maxBatchBytes}`);
  }
  const aggregateMaxBytes = resolveAggregation(options.aggregation, maxRecordBytes);
  const partitionKey = options.partitionKey;
  if (partitionKey !== undefined && typeof partitionKey !== 'function') validatePartitionKey(partitionKey, 'partitionKey');
  const streamNameFor = optionalFunction<(item: T) => string | undefined>(options.streamNameFor, 'streamNameFor');
  return {
    rules: {
      streamName: options.streamName === undefined ? undefined : nonEmptyString(options.streamName, 'streamName'),
      streamNameFor,
      partitionKey,
      explicitHashKey: optionalFunction(options.explicitHashKey, 'explicitHashKey'),
      encode: optionalFunction<(item: T) => RecordData>(options.encode, 'encode') ?? encodeJson,
      maxRecordBytes,
    },
    maxBatchRecords: positiveInteger(options.maxBatchRecords ?? d.maxBatchRecords, 'maxBatchRecords', LIMITS.putRecordsMaxEntries),
    maxBatchBytes,
    lingerMs: nonNegativeNumber(options.lingerMs ?? d.lingerMs, 'lingerMs'),
    maxInFlight: positiveInteger(options.maxInFlight ?? d.maxInFlight, 'maxInFlight'),
    preserveOrder: booleanOption(options.preserveOrder ?? d.preserveOrder, 'preserveOrder'),
    maxBufferedRecords: positiveInteger(
      options.maxBufferedRecords ?? (aggregateMaxBytes === undefined ? d.maxBufferedRecords : d.maxBufferedRecordsAggregated),
      'maxBufferedRecords',
    ),
    failOnError: booleanOption(options.failOnError ?? d.failOnError, 'failOnError'),
    retryPolicy: new RetryPolicy(options.retry),
    aggregateMaxBytes,
    rates: resolveRateLimit(options.rateLimit),
  };
}

/** The largest aggregate, or undefined when aggregation is off. */
function resolveAggregation(option: KinesisWritableOptions['aggregation'], maxRecordBytes: number): number | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return Math.min(WRITABLE_DEFAULTS.aggregationMaxBytes, maxRecordBytes);
  if (typeof option !== 'object' || option === null) {
    throw new ValidationError('aggregation', `must be true, false or { maxBytes }, got ${describeValue(option)}`);
  }
  const maxBytes = positiveInteger(option.maxBytes ?? Math.min(WRITABLE_DEFAULTS.aggregationMaxBytes, maxRecordBytes), 'aggregation.maxBytes', maxRecordBytes);
  if (maxBytes <= AGGREGATE_FRAMING_BYTES) {
    throw new ValidationError('aggregation.maxBytes', `must be above ${AGGREGATE_FRAMING_BYTES}, got ${maxBytes}`);
  }
  return maxBytes;
}

