/**
 * createKinesisWritable: an object-mode Writable that batches items into PutRecords
 * requests, retries exactly the entries that failed, and finishes only when every
 * record is acknowledged. Per target stream it keeps a lane: a queue of pending records,
 * the requests in flight, a linger timer and a backoff timer.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { Writable } from 'node:stream';
import { resolveClient, type ClientOptions } from '../client.js';
import {
  AbortError,
  KinesisStreamsError,
  PutRecordsError,
  ValidationError,
  describeError,
  type FailedRecord,
} from '../errors.js';
import { hashKeyOf, inRange } from '../aggregation/hash-key.js';
import { LIMITS, WRITABLE_DEFAULTS } from '../limits.js';
import { logger } from '../log.js';
import { booleanOption, describeValue, nonEmptyString, nonNegativeNumber, optionalFunction, positiveInteger } from '../options.js';
import { AGGREGATE_FRAMING_BYTES } from '../aggregation/aggregate.js';
import { RetryPolicy, classifyError, errorCode, isRetriableEntryCode, type RetryEvent, type RetryOptions } from '../retry.js';
import { Aggregator } from './aggregator.js';
import { RecordQueue, type BatchLimits } from './batcher.js';
import { validatePartitionKey } from './partition-key.js';
import { putRecords, type PutOutcome } from './put-records.js';
import { ShardMap } from './shard-map.js';
import { encodeJson, toPendingRecord, type PendingRecord, type RecordData, type RecordRules } from './record.js';

const log = logger('writable');

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
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

/** Counters of a KinesisWritable. */
export interface WritableStats {
  /** Records stored by Kinesis. */
  recordsWritten: number;
  /** Bytes (data + partition keys) stored by Kinesis. */
  bytesWritten: number;
  /** PutRecords requests sent. */
  requests: number;
  /** Records sent again after a failure. */
  retries: number;
  /** Records given up on (reported through `failedRecords` or the error). */
  failed: number;
  /** PutRecords requests in flight. */
  inFlight: number;
  /** Records accepted and not yet acknowledged. */
  buffered: number;
}

interface Lane<T> {
  readonly streamName: string;
  readonly queue: RecordQueue<PendingRecord<T>>;
  /** Keys with a record in flight (preserveOrder only). */
  readonly inFlightKeys: Set<string> | undefined;
  inFlight: number;
  lingerTimer: NodeJS.Timeout | undefined;
  /** The oldest queued record has waited lingerMs: partial batches may go. */
  lingerExpired: boolean;
  backoffTimer: NodeJS.Timeout | undefined;
  backoffUntil: number;
  /**
   * preserveOrder: the last scan found every queued key in flight. Scanning again before
   * a request completes would find the same, so writes do not rescan the queue.
   */
  blocked: boolean;
  /** With aggregation: the packer, the shard map it needs, and records waiting for the map. */
  aggregator: Aggregator<T> | undefined;
  shardMap: ShardMap | undefined;
  loadingMap: boolean;
  mapRetryTimer: NodeJS.Timeout | undefined;
  unmapped: PendingRecord<T>[];
  /** Aggregates stored on another shard than planned, waiting for a fresh map to be checked. */
  misplaced: PendingRecord<T>[];
}

interface AckWaiter {
  /** Resolve when every record with an id up to this one is acknowledged. */
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

type WriteCallback = (error?: Error | null) => void;

/**
 * An object-mode Writable into Kinesis Data Streams. Create it with createKinesisWritable.
 *
 * Events beyond Writable's: `retry` ({@link RetryEvent}) and `failedRecords`
 * ({@link FailedRecord}[]; with `failOnError: false`).
 */
export class KinesisWritable<T = unknown> extends Writable {
  private readonly client: KinesisClient;
  private readonly ownsClient: boolean;
  private readonly rules: RecordRules<T>;
  private readonly limits: BatchLimits;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly preserveOrder: boolean;
  private readonly maxBufferedRecords: number;
  private readonly failOnError: boolean;
  private readonly retryPolicy: RetryPolicy;
  /** Largest aggregate (data + key) with aggregation on, else undefined. */
  private readonly aggregateMaxBytes: number | undefined;
  private readonly lanes = new Map<string, Lane<T>>();
  private readonly inFlightBatches = new Set<PendingRecord<T>[]>();
  private readonly abortController = new AbortController();
  /** Records accepted and not yet acknowledged. */
  private buffered = 0;
  private nextId = 0;
  /** flush() waiters, in call order (so by non-decreasing target). */
  private waiters: AckWaiter[] = [];
  /** Unacknowledged records with an id up to the first waiter's target. */
  private firstWaiterPending = 0;
  private heldCallback: WriteCallback | undefined;
  private inFlightRequests = 0;
  private readonly counters = { recordsWritten: 0, bytesWritten: 0, requests: 0, retries: 0, failed: 0 };

  constructor(options: KinesisWritableOptions<T>) {
    const resolved = resolveOptions(options);
    // Every check before super(): a stream that fails to construct must not start anything.
    const { client, owned } = resolveClient(options);
    super({ objectMode: true, signal: options.signal });
    this.client = client;
    this.ownsClient = owned;
    this.rules = resolved.rules;
    this.limits = { maxRecords: resolved.maxBatchRecords, maxBytes: resolved.maxBatchBytes };
    this.lingerMs = resolved.lingerMs;
    this.maxInFlight = resolved.maxInFlight;
    this.preserveOrder = resolved.preserveOrder;
    this.maxBufferedRecords = resolved.maxBufferedRecords;
    this.failOnError = resolved.failOnError;
    this.retryPolicy = resolved.retryPolicy;
    this.aggregateMaxBytes = resolved.aggregateMaxBytes;
  }

  /**
   * Resolves when every record written before this call is acknowledged by Kinesis
   * (stored, or reported through `failedRecords` with `failOnError: false`). Rejects if
   * the stream errors or is destroyed first.
   */
  flush(): Promise<void> {
    if (this.destroyed) return Promise.reject(this.stopReason());
    // Items still in Writable's own buffer were written before this call too.
    const notYetAccepted = this.writableLength - (this.heldCallback !== undefined ? 1 : 0);
    return this.whenAcknowledged(this.nextId - 1 + Math.max(0, notYetAccepted));
  }

  /** Counters for monitoring. */
  stats(): WritableStats {
    return { ...this.counters, inFlight: this.inFlightRequests, buffered: this.buffered };
  }

  override _write(item: T, _encoding: BufferEncoding, callback: WriteCallback): void {
    let record: PendingRecord<T>;
    try {
      record = toPendingRecord(item, this.nextId, this.rules);
    } catch (error) {
      // Deliver everything accepted before the bad item, then fail with its error.
      this.whenAcknowledged(this.nextId - 1).then(
        () => callback(error as Error),
        (stopError: Error) => callback(stopError),
      );
      return;
    }
    this.nextId++;
    this.buffered++;
    if (this.waiters.length > 0 && record.id <= this.waiters[0].target) this.firstWaiterPending++;
    const lane = this.laneFor(record.streamName);
    this.enqueue(lane, record);
    this.pump(lane);
    if (this.buffered < this.maxBufferedRecords) callback();
    else this.heldCallback = callback;
  }

  override _final(callback: WriteCallback): void {
    this.whenAcknowledged(this.nextId - 1).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abortController.abort();
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.lingerTimer);
      clearTimeout(lane.backoffTimer);
      clearTimeout(lane.mapRetryTimer);
      lane.lingerTimer = undefined;
      lane.backoffTimer = undefined;
      lane.mapRetryTimer = undefined;
    }
    const reason = error ?? new AbortError('the writer was destroyed');
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(reason);
    const held = this.heldCallback;
    this.heldCallback = undefined;
    held?.(reason);
    if (this.ownsClient) this.client.destroy();
    log('destroyed (%s), %d record(s) unacknowledged', error ? describeError(error) : 'no error', this.buffered);
    callback(error);
  }

  private stopReason(): Error {
    return this.errored ?? new AbortError('the writer was destroyed');
  }

  private laneFor(streamName: string): Lane<T> {
    let lane = this.lanes.get(streamName);
    if (lane === undefined) {
      lane = {
        streamName,
        queue: new RecordQueue(),
        inFlightKeys: this.preserveOrder ? new Set() : undefined,
        inFlight: 0,
        lingerTimer: undefined,
        lingerExpired: false,
        backoffTimer: undefined,
        backoffUntil: 0,
        blocked: false,
        aggregator:
          this.aggregateMaxBytes === undefined ? undefined : new Aggregator<T>(streamName, this.aggregateMaxBytes, this.preserveOrder),
        shardMap: undefined,
        loadingMap: false,
        mapRetryTimer: undefined,
        unmapped: [],
        misplaced: [],
      };
      this.lanes.set(streamName, lane);
    }
    return lane;
  }

  /** A user record goes to the queue, or into an aggregate (once the shard map is known). */
  private enqueue(lane: Lane<T>, record: PendingRecord<T>): void {
    if (lane.aggregator === undefined) {
      lane.queue.push(record);
    } else if (lane.shardMap === undefined) {
      lane.unmapped.push(record);
      this.loadShardMap(lane);
    } else {
      for (const ready of lane.aggregator.add(record, lane.shardMap)) lane.queue.push(ready);
    }
  }

  /** Sends what may go now: full batches always, partial ones once lingered or flushing. */
  private pump(lane: Lane<T>): void {
    if (this.destroyed || lane.backoffTimer !== undefined) return;
    // Someone waits for acknowledgements, or write() waits for room: lingering gains nothing.
    const urgent = this.waiters.length > 0 || this.buffered >= this.maxBufferedRecords;
    if (lane.aggregator?.hasOpen === true && (urgent || lane.lingerExpired)) {
      for (const ready of lane.aggregator.closeAll()) lane.queue.push(ready);
    }
    while (lane.inFlight < this.maxInFlight && lane.queue.length > 0 && !lane.blocked) {
      if (!urgent && !lane.lingerExpired && !lane.queue.hasFullBatch(this.limits)) break;
      const batch = lane.queue.take(this.limits, lane.inFlightKeys);
      if (batch.length === 0) {
        lane.blocked = true; // every queued key already has a record in flight
        break;
      }
      this.send(lane, batch);
    }
    if (lane.queue.length === 0 && lane.aggregator?.hasOpen !== true) {
      lane.lingerExpired = false;
      clearTimeout(lane.lingerTimer);
      lane.lingerTimer = undefined;
    } else if (lane.lingerTimer === undefined && !lane.lingerExpired) {
      lane.lingerTimer = setTimeout(() => {
        lane.lingerTimer = undefined;
        lane.lingerExpired = true;
        this.pump(lane);
      }, this.lingerMs);
    }
  }

  /** Lists the lane's shards for the aggregator, retrying like a request; then packs what waited. */
  private loadShardMap(lane: Lane<T>, attempt = 1): void {
    if (lane.loadingMap || this.destroyed) return;
    lane.loadingMap = true;
    ShardMap.load(this.client, lane.streamName, this.abortController.signal).then(
      (map) => {
        lane.loadingMap = false;
        if (this.destroyed) return;
        lane.shardMap = map;
        log('shard map of %s loaded', lane.streamName);
        this.recheckMisplaced(lane, map);
        const waiting = lane.unmapped;
        lane.unmapped = [];
        for (const record of waiting) this.enqueue(lane, record);
        this.afterProgress(lane);
      },
      (cause: unknown) => {
        lane.loadingMap = false;
        if (this.destroyed) return;
        const error = classifyError('ListShards', cause, lane.streamName);
        if (!error.retriable || !this.retryPolicy.canRetry(attempt)) {
          this.fail(error, []);
          return;
        }
        const delayMs = this.retryPolicy.delayFor(attempt);
        this.emit('retry', { operation: 'ListShards', attempt, delayMs, error } satisfies RetryEvent);
        clearTimeout(lane.mapRetryTimer);
        lane.mapRetryTimer = setTimeout(() => {
          lane.mapRetryTimer = undefined;
          this.loadShardMap(lane, attempt + 1);
        }, delayMs);
      },
    );
  }

  /**
   * Aggregates that landed on another shard than planned (the map was stale: the stream
   * was resharded). KCL consumers drop sub-records outside the shard they are read
   * from, so those are written again; the rest are stored.
   */
  private recheckMisplaced(lane: Lane<T>, map: ShardMap): void {
    const misplaced = lane.misplaced;
    lane.misplaced = [];
    for (const aggregate of misplaced) {
      const range = map.rangeOf(aggregate.storedShardId ?? '');
      const stored: PendingRecord<T>[] = [];
      for (const member of aggregate.members ?? []) {
        // Keyless members carry the aggregate's own key, which placed it: always in range.
        const inside =
          member.keyless || (range !== undefined && inRange(hashKeyOf(member.entry.PartitionKey as string, member.entry.ExplicitHashKey), range));
        if (inside) stored.push(member);
        else lane.unmapped.push(member);
      }
      this.acknowledge(stored);
      log('%s: aggregate planned for %s stored on %s; %d record(s) written again', lane.streamName, aggregate.expectedShardId, aggregate.storedShardId, (aggregate.members?.length ?? 0) - stored.length);
    }
  }

  private send(lane: Lane<T>, batch: PendingRecord<T>[]): void {
    lane.inFlight++;
    this.inFlightRequests++;
    this.counters.requests++;
    this.inFlightBatches.add(batch);
    for (const record of batch) {
      record.attempts++;
      lane.inFlightKeys?.add(record.partitionKey);
    }
    putRecords(this.client, lane.streamName, batch, this.abortController.signal)
      .then(
        (outcome) => this.onOutcome(lane, batch, outcome),
        (error: unknown) => this.onRequestError(lane, batch, error),
      )
      // A bug in the handlers above must surface as a stream error, not an unhandled rejection.
      .catch((error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))));
  }

  /** Bookkeeping common to every answer; false when the stream is gone and the answer is moot. */
  private settle(lane: Lane<T>, batch: PendingRecord<T>[]): boolean {
    if (this.destroyed) return false;
    lane.inFlight--;
    this.inFlightRequests--;
    this.inFlightBatches.delete(batch);
    lane.blocked = false;
    if (lane.inFlightKeys !== undefined) for (const record of batch) lane.inFlightKeys.delete(record.partitionKey);
    return true;
  }

  private onOutcome(lane: Lane<T>, batch: PendingRecord<T>[], outcome: PutOutcome<T>): void {
    if (!this.settle(lane, batch)) return;
    let stored = outcome.stored;
    if (lane.aggregator !== undefined) {
      const misplaced = stored.filter((r) => r.members !== undefined && r.storedShardId !== undefined && r.storedShardId !== r.expectedShardId);
      if (misplaced.length > 0) {
        stored = stored.filter((r) => !misplaced.includes(r));
        lane.misplaced.push(...misplaced);
        lane.shardMap = undefined; // stale: load it again before packing more
        this.loadShardMap(lane);
      }
    }
    this.acknowledge(stored);
    log('PutRecords %s: %d stored, %d failed', lane.streamName, outcome.stored.length, outcome.failed.length);
    if (outcome.failed.length > 0) {
      const first = outcome.failed[0];
      const error = new PutRecordsError(
        `${outcome.failed.length} of ${batch.length} record(s) rejected by PutRecords to stream ${JSON.stringify(lane.streamName)} (${first.lastErrorCode}: ${first.lastErrorMessage})`,
        outcome.failed.flatMap(toFailedRecords),
        { retriable: true },
      );
      if (!this.retryOrGiveUp(lane, outcome.failed, error, (record) => isRetriableEntryCode(record.lastErrorCode ?? ''))) return;
    }
    this.afterProgress(lane);
  }

  private onRequestError(lane: Lane<T>, batch: PendingRecord<T>[], cause: unknown): void {
    if (!this.settle(lane, batch)) return;
    const error = classifyError('PutRecords', cause, lane.streamName);
    log('PutRecords %s failed: %s', lane.streamName, describeError(cause));
    const code = errorCode(cause);
    for (const record of batch) {
      record.lastErrorCode = code;
      record.lastErrorMessage = cause instanceof Error ? cause.message : String(cause);
    }
    if (!error.retriable) {
      this.fail(error, batch);
      return;
    }
    if (!this.retryOrGiveUp(lane, batch, error, () => true)) return;
    this.afterProgress(lane);
  }

  /**
   * Queues the records that may be retried ahead of newer ones and pauses the lane for
   * a backoff; gives up on the rest. Returns false when the stream failed.
   */
  private retryOrGiveUp(
    lane: Lane<T>,
    records: PendingRecord<T>[],
    error: KinesisStreamsError,
    retriable: (record: PendingRecord<T>) => boolean,
  ): boolean {
    const retry: PendingRecord<T>[] = [];
    const exhausted: PendingRecord<T>[] = [];
    let attempt = 0;
    for (const record of records) {
      if (retriable(record) && this.retryPolicy.canRetry(record.attempts)) {
        retry.push(record);
        attempt = Math.max(attempt, record.attempts);
      } else {
        exhausted.push(record);
      }
    }
    lane.queue.unshift(retry);
    if (exhausted.length > 0) {
      const failedRecords = exhausted.flatMap(toFailedRecords);
      if (this.failOnError) {
        this.fail(
          new PutRecordsError(
            `${exhausted.length} record(s) not stored in stream ${JSON.stringify(lane.streamName)} after ${this.retryPolicy.maxAttempts} attempt(s): ${failedRecords[0].errorCode}: ${failedRecords[0].errorMessage}`,
            failedRecords,
            { cause: error },
          ),
          exhausted,
        );
        return false;
      }
      this.counters.failed += this.release(exhausted);
      this.emit('failedRecords', failedRecords);
    }
    if (retry.length > 0) {
      const delayMs = this.retryPolicy.delayFor(attempt);
      this.counters.retries += retry.length;
      this.emit('retry', { operation: 'PutRecords', attempt, delayMs, error } satisfies RetryEvent);
      this.backOff(lane, delayMs);
    }
    return true;
  }

  private backOff(lane: Lane<T>, delayMs: number): void {
    const until = Date.now() + delayMs;
    if (lane.backoffTimer !== undefined && until <= lane.backoffUntil) return;
    clearTimeout(lane.backoffTimer);
    lane.backoffUntil = until;
    lane.backoffTimer = setTimeout(() => {
      lane.backoffTimer = undefined;
      // Retried records have waited long enough: send them even as a partial batch.
      lane.lingerExpired = true;
      this.pump(lane);
    }, delayMs);
  }

  private acknowledge(records: readonly PendingRecord<T>[]): void {
    let bytes = 0;
    for (const record of records) bytes += record.size;
    this.counters.bytesWritten += bytes;
    this.counters.recordsWritten += this.release(records);
  }

  /** User records leave the buffer: stored, or given up on with failOnError false. Returns how many. */
  private release(records: readonly PendingRecord<T>[]): number {
    let count = 0;
    const target = this.waiters.length > 0 ? this.waiters[0].target : -1;
    for (const record of records) {
      if (record.members === undefined) {
        count++;
        if (record.id <= target) this.firstWaiterPending--;
      } else {
        count += record.members.length;
        if (target >= 0) for (const member of record.members) if (member.id <= target) this.firstWaiterPending--;
      }
    }
    this.buffered -= count;
    return count;
  }

  /** After acknowledgements: send more, wake flush() waiters, release a held write. */
  private afterProgress(lane: Lane<T>): void {
    this.pump(lane);
    this.resolveWaiters();
    if (this.heldCallback !== undefined && this.buffered < this.maxBufferedRecords) {
      const callback = this.heldCallback;
      this.heldCallback = undefined;
      callback();
    }
  }

  private whenAcknowledged(target: number): Promise<void> {
    if (this.destroyed) return Promise.reject(this.stopReason());
    if (this.waiters.length === 0 && target < this.nextId && this.countUpTo(target) === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      if (this.waiters.length === 1) this.firstWaiterPending = this.countUpTo(target);
      // Someone is waiting: partial batches go now instead of lingering.
      for (const lane of this.lanes.values()) this.pump(lane);
    });
  }

  /** Unacknowledged records with an id up to `target`: a scan, done once per flush() waiter. */
  private countUpTo(target: number): number {
    if (this.buffered === 0) return 0;
    let count = 0;
    const upTo = (record: PendingRecord<T>): void => {
      if (record.members !== undefined) record.members.forEach(upTo);
      else if (record.id <= target) count++;
    };
    for (const lane of this.lanes.values()) {
      lane.queue.forEach(upTo);
      lane.aggregator?.forEachOpen(upTo);
      lane.unmapped.forEach(upTo);
      lane.misplaced.forEach(upTo);
    }
    for (const batch of this.inFlightBatches) batch.forEach(upTo);
    return count;
  }

  private resolveWaiters(): void {
    while (this.waiters.length > 0 && this.firstWaiterPending === 0 && this.waiters[0].target < this.nextId) {
      const waiter = this.waiters.shift() as AckWaiter;
      if (this.waiters.length > 0) this.firstWaiterPending = this.countUpTo(this.waiters[0].target);
      waiter.resolve();
    }
  }

  /** Stops the stream with `error`, listing every record not stored (`first` ahead of the rest). */
  private fail(error: KinesisStreamsError, first: PendingRecord<T>[]): void {
    if (this.destroyed) return;
    const failedRecords: FailedRecord[] = first.flatMap(toFailedRecords);
    const list = (records: Iterable<PendingRecord<T>>, errorCode: string, errorMessage: string): void => {
      for (const record of records) {
        for (const user of record.members ?? [record]) failedRecords.push({ item: user.item, errorCode, errorMessage });
      }
    };
    for (const batch of this.inFlightBatches) list(batch, 'ERR_KINESIS_IN_FLIGHT', 'in flight when the writer stopped: it may or may not have been stored');
    for (const lane of this.lanes.values()) {
      for (const record of lane.queue.drain()) {
        if (record.lastErrorCode !== undefined) failedRecords.push(...toFailedRecords(record));
        else list([record], 'ERR_KINESIS_NOT_SENT', 'not sent: the writer stopped first');
      }
      list(lane.aggregator?.drain() ?? [], 'ERR_KINESIS_NOT_SENT', 'not sent: the writer stopped first');
      list(lane.unmapped, 'ERR_KINESIS_NOT_SENT', 'not sent: the writer stopped first');
      list(lane.misplaced, 'ERR_KINESIS_MISPLACED', 'stored in an aggregate on another shard than planned (the stream was resharded): KCL consumers may drop it');
    }
    error.failedRecords = failedRecords;
    this.counters.failed += failedRecords.length;
    log('failing with %s: %d record(s) not stored', error.code, failedRecords.length);
    this.destroy(error);
  }
}

/** One FailedRecord per user record (an aggregate holds many). */
function toFailedRecords<T>(record: PendingRecord<T>): FailedRecord<T>[] {
  const errorCode = record.lastErrorCode ?? 'ERR_KINESIS_NOT_SENT';
  const errorMessage = record.lastErrorMessage ?? 'not sent';
  return (record.members ?? [record]).map((user) => ({ item: user.item, errorCode, errorMessage }));
}

interface ResolvedOptions<T> {
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
}

function resolveOptions<T>(options: KinesisWritableOptions<T>): ResolvedOptions<T> {
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

/**
 * Creates an object-mode Writable that writes every item into Kinesis Data Streams.
 *
 * @example
 * ```ts
 * await pipeline(Readable.from(rows), createKinesisWritable({ streamName: 'events', partitionKey: (row) => row.userId }));
 * ```
 */
export function createKinesisWritable<T = unknown>(options: KinesisWritableOptions<T>): KinesisWritable<T> {
  return new KinesisWritable<T>(options);
}
