/**
 * createKinesisWritable: an object-mode Writable that batches items into PutRecords
 * requests, retries exactly the entries that failed, and finishes only when every
 * record is acknowledged. Per target stream it keeps a lane: a queue of pending records,
 * the requests in flight, a linger timer, a backoff timer and, with rate limiting (on by
 * default), one queue per shard behind token buckets (rate-limiter.ts).
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { Writable } from 'node:stream';
import { resolveClient } from '../client.js';
import { AbortError, KinesisStreamsError, PutRecordsError, describeError, type FailedRecord } from '../errors.js';
import { WRITABLE_DEFAULTS } from '../limits.js';
import { logger } from '../log.js';
import { publishRetry } from '../metrics/channels.js';
import { RetryPolicy, classifyError, errorCode, isRetriableEntryCode, isThrottlingCode, type RetryEvent } from '../retry.js';
import type { BatchLimits } from './batcher.js';
import { createLane, logSaturation, stopTimers, type Lane } from './lane.js';
import { putRecords, type PutOutcome } from './put-records.js';
import type { SaturatedShard, ShardRateLimiter, ShardRates } from './rate-limiter.js';
import { planShard } from './placement.js';
import { ShardMap } from './shard-map.js';
import { toPendingRecord, type PendingRecord, type RecordRules } from './record.js';
import { resolveOptions, type KinesisWritableOptions } from './writable-options.js';

export type { KinesisWritableOptions } from './writable-options.js';

const log = logger('writable');

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
  /** Entries PutRecords refused for going over a shard's (or the account's) rate. */
  throttled: number;
  /** With rate limiting: shards whose records wait for tokens now, with their hot partition keys. */
  saturatedShards: SaturatedShard[];
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
  /** Per-shard write rates, or undefined when rate limiting is off. */
  private readonly rates: ShardRates | undefined;
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
  /** Items in the held write (one for _write, the chunk array's length for _writev). */
  private heldCount = 0;
  /** Lanes that took records since the last pump: one, or any number (`acceptedIntoMany`). */
  private acceptedInto: Lane<T> | undefined;
  private acceptedIntoMany = false;
  private inFlightRequests = 0;
  private readonly counters = { recordsWritten: 0, bytesWritten: 0, requests: 0, retries: 0, failed: 0, throttled: 0 };

  constructor(options: KinesisWritableOptions<T>) {
    const resolved = resolveOptions(options);
    // Every check before super(): a stream that fails to construct must not start anything.
    const { client, owned } = resolveClient(options);
    // While write() waits for room, Writable's own buffer holds the next items: about a
    // batch of them, so each release hands them over in one _writev call instead of one
    // _write each (and at most maxBufferedRecords, so small buffers stay small).
    super({ objectMode: true, signal: options.signal, highWaterMark: Math.min(resolved.maxBatchRecords, resolved.maxBufferedRecords) });
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
    this.rates = resolved.rates;
  }

  /**
   * Resolves when every record written before this call is acknowledged by Kinesis
   * (stored, or reported through `failedRecords` with `failOnError: false`). Rejects if
   * the stream errors or is destroyed first.
   */
  flush(): Promise<void> {
    if (this.destroyed) return Promise.reject(this.stopReason());
    // Items still in Writable's own buffer were written before this call too.
    const notYetAccepted = this.writableLength - this.heldCount;
    return this.whenAcknowledged(this.nextId - 1 + Math.max(0, notYetAccepted));
  }

  /** Counters for monitoring. */
  stats(): WritableStats {
    const saturatedShards: SaturatedShard[] = [];
    for (const lane of this.lanes.values()) if (lane.limiter !== undefined) saturatedShards.push(...lane.limiter.saturated());
    return { ...this.counters, inFlight: this.inFlightRequests, buffered: this.buffered, saturatedShards };
  }

  override _write(item: T, _encoding: BufferEncoding, callback: WriteCallback): void {
    const error = this.accept(item);
    if (error !== undefined) this.rejectAfterAccepted(error, callback);
    else this.accepted(1, callback);
  }

  /** Items Writable buffered (while write() waited, or corked): accepted, pumped and called back as one. */
  override _writev(chunks: Array<{ chunk: T }>, callback: WriteCallback): void {
    for (let i = 0; i < chunks.length; i++) {
      const error = this.accept(chunks[i].chunk);
      if (error !== undefined) {
        this.pumpAccepted();
        this.rejectAfterAccepted(error, callback);
        return;
      }
    }
    this.accepted(chunks.length, callback);
  }

  /** Queues one item as a record (nothing is sent yet: see pumpAccepted); the ValidationError when it cannot be one. */
  private accept(item: T): Error | undefined {
    let record: PendingRecord<T>;
    try {
      record = toPendingRecord(item, this.nextId, this.rules);
    } catch (error) {
      return error as Error;
    }
    this.nextId++;
    this.buffered++;
    if (this.waiters.length > 0 && record.id <= this.waiters[0].target) this.firstWaiterPending++;
    const lane = this.laneFor(record.streamName);
    this.enqueue(lane, record);
    if (this.acceptedInto === undefined) this.acceptedInto = lane;
    else if (this.acceptedInto !== lane) this.acceptedIntoMany = true;
    return undefined;
  }

  /** Sends what the lanes that took records may send now: once per write call, not per record. */
  private pumpAccepted(): void {
    const lane = this.acceptedInto;
    this.acceptedInto = undefined;
    if (this.acceptedIntoMany) {
      this.acceptedIntoMany = false;
      for (const each of this.lanes.values()) this.pump(each);
    } else if (lane !== undefined) {
      this.pump(lane);
    }
  }

  /** After a write call's `count` items were queued: pump, then call back, or hold the callback while the buffer is full. */
  private accepted(count: number, callback: WriteCallback): void {
    this.pumpAccepted();
    if (this.buffered < this.maxBufferedRecords) {
      callback();
    } else {
      this.heldCallback = callback;
      this.heldCount = count;
    }
  }

  /** Delivers everything accepted before a bad item, then fails the write with its error. */
  private rejectAfterAccepted(error: Error, callback: WriteCallback): void {
    this.whenAcknowledged(this.nextId - 1).then(
      () => callback(error),
      (stopError: Error) => callback(stopError),
    );
  }

  override _final(callback: WriteCallback): void {
    this.whenAcknowledged(this.nextId - 1).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abortController.abort();
    for (const lane of this.lanes.values()) stopTimers(lane);
    const reason = error ?? new AbortError('the writer was destroyed');
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(reason);
    const held = this.heldCallback;
    this.heldCallback = undefined;
    this.heldCount = 0;
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
      lane = createLane<T>(streamName, this.rates, this.preserveOrder, this.aggregateMaxBytes);
      this.lanes.set(streamName, lane);
    }
    return lane;
  }

  /**
   * A user record goes to the queue, or into an aggregate; with aggregation or rate
   * limiting, once the shard map is known. A rate-limited record is queued for its shard
   * (placement.ts).
   */
  private enqueue(lane: Lane<T>, record: PendingRecord<T>): void {
    if (lane.aggregator === undefined && lane.limiter === undefined) {
      lane.queue.push(record);
    } else if (lane.shardMap === undefined) {
      lane.unmapped.push(record);
      this.loadShardMap(lane);
    } else if (lane.aggregator !== undefined) {
      for (const ready of lane.aggregator.add(record, lane.shardMap)) lane.queue.push(ready);
    } else if (lane.limiter !== undefined) {
      planShard(record, lane.shardMap, lane.limiter);
      lane.limiter.push(record);
    }
  }

  /** Sends what may go now: full batches always, partial ones once lingered or flushing. */
  private pump(lane: Lane<T>): void {
    if (this.destroyed || lane.backoffTimer !== undefined || lane.rateTimer !== undefined) return;
    // Someone waits for acknowledgements, or write() waits for room: lingering gains nothing.
    const urgent = this.waiters.length > 0 || this.buffered >= this.maxBufferedRecords;
    if (lane.aggregator?.hasOpen === true && (urgent || lane.lingerExpired)) {
      for (const ready of lane.aggregator.closeAll()) lane.queue.push(ready);
    }
    while (lane.inFlight < this.maxInFlight && lane.queue.length > 0 && !lane.blocked) {
      if (!urgent && !lane.lingerExpired && !lane.queue.hasFullBatch(this.limits)) break;
      const batch = lane.queue.take(this.limits, lane.inFlightKeys);
      if (batch.length === 0) {
        if (lane.limiter !== undefined && this.waitForTokens(lane, lane.limiter)) break;
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

  /**
   * Rate limiting: every waiting shard is out of tokens. Pumps again when one has them,
   * at least rateLimitMinWaitMs later so that each request carries that much of the rate.
   * False when nothing waits on tokens and an answer in flight will pump again
   * (the batch was empty because every key is in flight, with preserveOrder).
   */
  private waitForTokens(lane: Lane<T>, limiter: ShardRateLimiter<PendingRecord<T>>): boolean {
    const waitMs = limiter.waitMs();
    // 0 with nothing in flight: the tokens came back between take() and now (a clock
    // tick), and no answer would pump again; wait briefly rather than block forever.
    if (waitMs <= 0 && lane.inFlight > 0) return false;
    lane.rateTimer = setTimeout(() => {
      lane.rateTimer = undefined;
      this.pump(lane);
    }, Math.max(waitMs, WRITABLE_DEFAULTS.rateLimitMinWaitMs));
    logSaturation(lane, limiter, log);
    return true;
  }

  /** Lists the lane's shards for the aggregator and the rate limiter, retrying like a request; then places what waited. */
  private loadShardMap(lane: Lane<T>, attempt = 1): void {
    if (lane.loadingMap || this.destroyed || lane.mapRetryTimer !== undefined) return;
    lane.loadingMap = true;
    ShardMap.load(this.client, lane.streamName, this.abortController.signal).then(
      (map) => {
        lane.loadingMap = false;
        if (this.destroyed) return;
        lane.shardMap = map;
        lane.limiter?.setOpenShards(map.openShards());
        log('shard map of %s loaded', lane.streamName);
        this.recheckMisplaced(lane, map);
        if (this.destroyed) return; // records ran out of rewrites with failOnError
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
        publishRetry({ source: 'writer', operation: 'ListShards', streamName: lane.streamName, attempt, delayMs, error });
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
    const exhausted: PendingRecord<T>[] = [];
    for (const aggregate of misplaced) {
      const stored: PendingRecord<T>[] = [];
      for (const member of aggregate.members ?? []) {
        // Keyless members carry the aggregate's own key, which placed it: always in range.
        const inside =
          member.keyless || map.holds(aggregate.storedShardId ?? '', member.entry.PartitionKey as string, member.entry.ExplicitHashKey);
        if (inside) {
          stored.push(member);
          continue;
        }
        // Each rewrite is an attempt of the record: a server that keeps misplacing it cannot loop us forever.
        member.attempts = Math.max(member.attempts, aggregate.attempts) + 1;
        member.lastErrorCode = 'ERR_KINESIS_MISPLACED';
        member.lastErrorMessage = `stored in an aggregate on shard ${aggregate.storedShardId ?? '?'} instead of ${aggregate.expectedShardId ?? '?'} (the shard map kept being wrong): KCL consumers may drop it`;
        if (this.retryPolicy.canRetry(member.attempts)) lane.unmapped.push(member);
        else exhausted.push(member);
      }
      this.acknowledge(stored);
      log('%s: aggregate planned for %s stored on %s; %d record(s) written again', lane.streamName, aggregate.expectedShardId, aggregate.storedShardId, (aggregate.members?.length ?? 0) - stored.length);
    }
    if (exhausted.length > 0) {
      const error = new PutRecordsError(`${exhausted.length} record(s) kept landing on another shard than planned in stream ${JSON.stringify(lane.streamName)}`, [], { retriable: true });
      this.retryOrGiveUp(lane, exhausted, error, () => false);
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
    if (outcome.misplaced > 0) {
      const misplaced = stored.filter((r) => r.members !== undefined && r.storedShardId !== undefined && r.storedShardId !== r.expectedShardId);
      stored = misplaced.length > 0 ? stored.filter((r) => !misplaced.includes(r)) : stored;
      lane.misplaced.push(...misplaced);
      this.reloadShardMap(lane);
    } else {
      lane.misplacedStreak = 0;
    }
    this.acknowledge(stored);
    log('PutRecords %s: %d stored, %d failed', lane.streamName, outcome.stored.length, outcome.failed.length);
    if (outcome.failed.length > 0) {
      for (const record of outcome.failed) if (isThrottlingCode(record.lastErrorCode ?? '')) this.counters.throttled++;
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

  /**
   * Records landed on other shards than the map said (the stream was resharded): load the
   * map again before placing more, after a backoff when maps keep being wrong.
   */
  private reloadShardMap(lane: Lane<T>): void {
    lane.shardMap = undefined;
    lane.misplacedStreak++;
    if (lane.loadingMap || lane.mapRetryTimer !== undefined) return;
    const delayMs = lane.misplacedStreak > 1 ? this.retryPolicy.delayFor(lane.misplacedStreak - 1) : 0;
    lane.mapRetryTimer = setTimeout(() => {
      lane.mapRetryTimer = undefined;
      this.loadShardMap(lane);
    }, delayMs);
  }

  private onRequestError(lane: Lane<T>, batch: PendingRecord<T>[], cause: unknown): void {
    if (!this.settle(lane, batch)) return;
    const error = classifyError('PutRecords', cause, lane.streamName);
    log('PutRecords %s failed: %s', lane.streamName, describeError(cause));
    const code = errorCode(cause);
    if (isThrottlingCode(code)) this.counters.throttled += batch.length;
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
      publishRetry({ source: 'writer', operation: 'PutRecords', streamName: lane.streamName, attempt, delayMs, error, records: retry.length });
      // With rate limiting, a shard that refused entries backs off alone; other shards keep flowing.
      const perShard = lane.limiter !== undefined && retry.every((r) => r.expectedShardId !== undefined && isThrottlingCode(r.lastErrorCode ?? ''));
      if (perShard) for (const record of retry) lane.limiter?.penalize(record.expectedShardId as string, this.retryPolicy.delayFor(record.attempts));
      else this.backOff(lane, delayMs);
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
    // Writable hands everything it buffered behind the held write to one _writev: release
    // only when all of it fits, so accepted records never exceed maxBufferedRecords.
    if (this.heldCallback !== undefined && this.buffered + Math.max(1, this.writableLength - this.heldCount) <= this.maxBufferedRecords) {
      const callback = this.heldCallback;
      this.heldCallback = undefined;
      this.heldCount = 0;
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
