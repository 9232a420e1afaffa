/**
 * A lane: what the writer keeps per target stream. Its queue of pending records (one
 * FIFO, or one per shard behind token buckets with rate limiting), the requests in
 * flight, its timers (linger, backoff, token wait, shard map retry) and, with aggregation
 * or rate limiting, the shard map and what waits for it.
 */
import type { Logger } from '../log.js';
import { Aggregator } from './aggregator.js';
import { RecordQueue } from './batcher.js';
import { ShardRateLimiter, type ShardRates } from './rate-limiter.js';
import type { PendingRecord } from './record.js';
import type { ShardMap } from './shard-map.js';

export interface Lane<T> {
  readonly streamName: string;
  /** Pending records: one FIFO, or one per shard behind token buckets with rate limiting. */
  readonly queue: RecordQueue<PendingRecord<T>> | ShardRateLimiter<PendingRecord<T>>;
  readonly limiter: ShardRateLimiter<PendingRecord<T>> | undefined;
  /** Rate limiting: every waiting shard is out of tokens until this fires. */
  rateTimer: NodeJS.Timeout | undefined;
  /** When saturated shards were last logged. */
  loggedSaturationAt: number;
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
  /** With aggregation or rate limiting: the packer, the shard map they need, and records waiting for the map. */
  aggregator: Aggregator<T> | undefined;
  shardMap: ShardMap | undefined;
  loadingMap: boolean;
  mapRetryTimer: NodeJS.Timeout | undefined;
  unmapped: PendingRecord<T>[];
  /** Aggregates stored on another shard than planned, waiting for a fresh map to be checked. */
  misplaced: PendingRecord<T>[];
  /** Shard maps in a row that were wrong: the next load waits a backoff. */
  misplacedStreak: number;
}

export function createLane<T>(streamName: string, rates: ShardRates | undefined, preserveOrder: boolean, aggregateMaxBytes: number | undefined): Lane<T> {
  const limiter = rates === undefined ? undefined : new ShardRateLimiter<PendingRecord<T>>(streamName, rates);
  return {
    streamName,
    queue: limiter ?? new RecordQueue(),
    limiter,
    rateTimer: undefined,
    loggedSaturationAt: 0,
    inFlightKeys: preserveOrder ? new Set() : undefined,
    inFlight: 0,
    lingerTimer: undefined,
    lingerExpired: false,
    backoffTimer: undefined,
    backoffUntil: 0,
    blocked: false,
    aggregator: aggregateMaxBytes === undefined ? undefined : new Aggregator<T>(streamName, aggregateMaxBytes, preserveOrder),
    shardMap: undefined,
    loadingMap: false,
    mapRetryTimer: undefined,
    unmapped: [],
    misplaced: [],
    misplacedStreak: 0,
  };
}

/** Clears every timer of the lane (the writer stops). */
export function stopTimers<T>(lane: Lane<T>): void {
  clearTimeout(lane.lingerTimer);
  clearTimeout(lane.backoffTimer);
  clearTimeout(lane.mapRetryTimer);
  clearTimeout(lane.rateTimer);
  lane.lingerTimer = undefined;
  lane.backoffTimer = undefined;
  lane.mapRetryTimer = undefined;
  lane.rateTimer = undefined;
}

/** Logs the lane's saturated shards and their hot keys, at most once a second (only with the debug log on). */
export function logSaturation<T>(lane: Lane<T>, limiter: ShardRateLimiter<PendingRecord<T>>, log: Logger): void {
  if (!log.enabled || Date.now() - lane.loggedSaturationAt < 1000) return;
  lane.loggedSaturationAt = Date.now();
  for (const shard of limiter.saturated()) {
    const hot = shard.hotKeys.map((k) => `${JSON.stringify(k.partitionKey.slice(0, 64))} ${(k.share * 100).toFixed(0)}%`).join(', ');
    log('%s/%s saturated: %d record(s) wait for its write rate; hot partition keys: %s', shard.streamName, shard.shardId, shard.queued, hot || 'none');
  }
}
