/**
 * The options of createKinesisReadable and their checks: every bad value is a
 * ValidationError naming the option, thrown before the stream starts anything.
 */
import { MemoryCheckpointStore } from '../checkpoint/memory-store.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { ClientOptions } from '../client.js';
import { ValidationError } from '../errors.js';
import { LIMITS, READABLE_DEFAULTS } from '../limits.js';
import { booleanOption, describeValue, nonEmptyString, positiveInteger } from '../options.js';
import { RetryPolicy, type RetryOptions } from '../retry.js';
import { createDecoder, type DecodeOption, type Decoder } from './decode.js';
import type { InitialPosition } from './shard-tracker.js';

/** Options of createKinesisReadable. */
export interface KinesisReadableOptions<T = Buffer> extends ClientOptions {
  /** The stream, or several streams merged into one Readable. */
  streamName: string | string[];
  /** Where shards without a checkpoint start. Default 'LATEST' (pinned to the reader's start). */
  initialPosition?: InitialPosition;
  /** Where positions are kept. Default: in memory. */
  checkpointStore?: CheckpointStore;
  /** Namespaces checkpoints: several applications can share one store. */
  applicationName?: string;
  /** GetRecords Limit, 1–10000. Default 10000. */
  maxRecordsPerCall?: number;
  /** Wait after a caught-up read, in ms (≥ 200: 5 GetRecords/s per shard). Default 250. */
  pollIntervalMs?: number;
  /**
   * Share of each shard's read limits (5 GetRecords calls/s and 2 MiB/s) this reader
   * takes, in (0, 1]. Polling consumers of one stream share those limits: give each
   * application a share so that together they stay within them (e.g. 0.5 for two).
   * Default 1.
   */
  readShare?: number;
  /** How often to look for new shards (resharding), in ms. Default 10000. */
  shardDiscoveryIntervalMs?: number;
  /** Records buffered in the Readable. Default 1000. */
  highWaterMark?: number;
  /** How to decode record data. Default 'buffer'. */
  decode?: DecodeOption<T>;
  /** Split KPL aggregated records into their user records. Default true. */
  deaggregate?: boolean;
  /** Retries of failed requests (consecutive failures per shard). */
  retry?: RetryOptions;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
  /** 'polling' (GetRecords, default) or 'efo' (enhanced fan-out, SubscribeToShard push; needs consumerName). */
  mode?: 'polling' | 'efo';
  /** EFO: the stream consumer to read as; registered if missing, reused if present. */
  consumerName?: string;
  /** EFO: deregister the consumer when the reader is destroyed. Default false. */
  deregisterConsumerOnClose?: boolean;
}

export interface ResolvedReadableOptions<T> {
  streamNames: string[];
  initialPosition: InitialPosition;
  store: CheckpointStore;
  maxRecordsPerCall: number;
  pollIntervalMs: number;
  readShare: number;
  shardDiscoveryIntervalMs: number;
  highWaterMark: number;
  decode: Decoder<T>;
  deaggregate: boolean;
  retryPolicy: RetryPolicy;
  consumerName: string | undefined;
  deregisterConsumerOnClose: boolean;
}

export function resolveOptions<T>(options: KinesisReadableOptions<T>): ResolvedReadableOptions<T> {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('options', 'createKinesisReadable needs an options object');
  }
  const d = READABLE_DEFAULTS;
  const names = Array.isArray(options.streamName) ? options.streamName : [options.streamName];
  if (names.length === 0) throw new ValidationError('streamName', 'needs at least one stream');
  const streamNames = [...new Set(names.map((name) => nonEmptyString(name, 'streamName')))];
  const mode = options.mode ?? 'polling';
  if (mode !== 'polling' && mode !== 'efo') throw new ValidationError('mode', `must be 'polling' or 'efo', got ${describeValue(mode)}`);
  if (mode === 'efo' && options.consumerName === undefined) throw new ValidationError('consumerName', "is required with mode 'efo'");
  if (mode === 'polling' && options.consumerName !== undefined) throw new ValidationError('consumerName', "is only used with mode 'efo'");
  const consumerName = options.consumerName === undefined ? undefined : nonEmptyString(options.consumerName, 'consumerName');
  const store = options.checkpointStore ?? new MemoryCheckpointStore();
  if (typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new ValidationError('checkpointStore', 'must have get() and set()');
  }
  if (options.applicationName !== undefined) nonEmptyString(options.applicationName, 'applicationName');
  const pollIntervalMs = options.pollIntervalMs ?? d.pollIntervalMs;
  if (typeof pollIntervalMs !== 'number' || !Number.isFinite(pollIntervalMs) || pollIntervalMs < d.minPollIntervalMs) {
    throw new ValidationError('pollIntervalMs', `must be at least ${d.minPollIntervalMs} (5 GetRecords/s per shard), got ${describeValue(pollIntervalMs)}`);
  }
  const readShare = options.readShare ?? d.readShare;
  if (typeof readShare !== 'number' || !(readShare > 0 && readShare <= 1)) {
    throw new ValidationError('readShare', `must be a number in (0, 1], got ${describeValue(readShare)}`);
  }
  return {
    streamNames,
    readShare,
    initialPosition: resolveInitialPosition(options.initialPosition),
    store,
    maxRecordsPerCall: positiveInteger(options.maxRecordsPerCall ?? d.maxRecordsPerCall, 'maxRecordsPerCall', LIMITS.getRecordsMaxRecords),
    pollIntervalMs,
    shardDiscoveryIntervalMs: positiveInteger(options.shardDiscoveryIntervalMs ?? d.shardDiscoveryIntervalMs, 'shardDiscoveryIntervalMs'),
    highWaterMark: positiveInteger(options.highWaterMark ?? d.highWaterMark, 'highWaterMark'),
    decode: createDecoder(options.decode),
    deaggregate: booleanOption(options.deaggregate ?? true, 'deaggregate'),
    consumerName,
    deregisterConsumerOnClose: booleanOption(options.deregisterConsumerOnClose ?? false, 'deregisterConsumerOnClose'),
    retryPolicy: new RetryPolicy(options.retry),
  };
}

function resolveInitialPosition(value: unknown): InitialPosition {
  if (value === undefined) return 'LATEST';
  if (value === 'LATEST' || value === 'TRIM_HORIZON') return value;
  if (typeof value === 'object' && value !== null && 'timestamp' in value) {
    const timestamp = (value as { timestamp: unknown }).timestamp;
    if (timestamp instanceof Date && !Number.isNaN(timestamp.getTime())) return { timestamp };
  }
  throw new ValidationError('initialPosition', `must be 'LATEST', 'TRIM_HORIZON' or { timestamp: Date }, got ${describeValue(value)}`);
}
