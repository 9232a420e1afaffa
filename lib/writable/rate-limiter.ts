/**
 * Per-shard write rate limiting, as the KPL does: a shard takes 1,000 records and 1 MiB
 * per second, and anything above is refused with ProvisionedThroughputExceededException.
 * The writer's queue for a stream is split per target shard, each with a token bucket for
 * records and one for bytes; a batch takes only what each shard's tokens allow, so records
 * for a full shard wait here instead of being sent to be refused, and other shards keep
 * flowing. Pure logic (time is read from `now`), no I/O.
 */
import { ValidationError } from '../errors.js';
import { LIMITS, WRITABLE_DEFAULTS } from '../limits.js';
import { describeValue, positiveInteger } from '../options.js';
import { TokenBucket } from '../token-bucket.js';
import { RecordQueue, type BatchLimits, type QueuedRecord } from './batcher.js';
import { HotKeys, type HotKey } from './hot-keys.js';

/** The `rateLimit` option of createKinesisWritable. */
export interface RateLimitOptions {
  /** Records per second one shard takes. Default 1000 (the service limit). */
  recordsPerSecond?: number;
  /** Bytes (data + partition key) per second one shard takes. Default 1 MiB (the service limit). */
  bytesPerSecond?: number;
  /** Share of those limits left unused, in [0, 1): e.g. 0.5 with two producers on one stream. Default 0. */
  headroom?: number;
}

/** The rates a limiter enforces per shard. */
export interface ShardRates {
  recordsPerSecond: number;
  bytesPerSecond: number;
}

/** A shard whose records wait for tokens, as `stats()` reports it. */
export interface SaturatedShard {
  streamName: string;
  shardId: string;
  /** User records waiting for the shard's tokens. */
  queued: number;
  /** Since when, in ms since the epoch. */
  since: number;
  /** Partition keys with at least 10% of the shard's records while saturated, heaviest first. */
  hotKeys: HotKey[];
}

/** What the limiter needs of a record. */
export interface LimitedRecord extends QueuedRecord {
  /** The shard the record is planned for (from the shard map). */
  expectedShardId?: string;
  /** For a KPL aggregate: its user records (one Kinesis record for the limits, many keys). */
  readonly members?: readonly QueuedRecord[];
}

interface ShardState<R extends QueuedRecord> {
  readonly shardId: string;
  readonly queue: RecordQueue<R>;
  readonly records: TokenBucket;
  readonly bytes: TokenBucket;
  /** Records (user records) waiting: an aggregate counts its members. */
  userRecords: number;
  /** Set while records wait for tokens. */
  saturatedSince: number | undefined;
  /** The service refused records for this shard: nothing goes before this time. */
  pausedUntil: number;
  readonly hot: HotKeys;
}

/** Resolves the `rateLimit` option: undefined when off. */
export function resolveRateLimit(option: unknown): ShardRates | undefined {
  if (option === false) return undefined;
  if (option !== undefined && option !== true && (typeof option !== 'object' || option === null)) {
    throw new ValidationError('rateLimit', `must be true, false or { recordsPerSecond, bytesPerSecond, headroom }, got ${describeValue(option)}`);
  }
  const o = (typeof option === 'object' ? option : {}) as RateLimitOptions;
  const recordsPerSecond = positiveInteger(o.recordsPerSecond ?? LIMITS.shardWriteRecordsPerSecond, 'rateLimit.recordsPerSecond');
  const bytesPerSecond = positiveInteger(o.bytesPerSecond ?? LIMITS.shardWriteBytesPerSecond, 'rateLimit.bytesPerSecond');
  const headroom = o.headroom ?? WRITABLE_DEFAULTS.rateLimitHeadroom;
  if (typeof headroom !== 'number' || !(headroom >= 0 && headroom < 1)) {
    throw new ValidationError('rateLimit.headroom', `must be a number in [0, 1), got ${describeValue(headroom)}`);
  }
  return { recordsPerSecond: recordsPerSecond * (1 - headroom), bytesPerSecond: bytesPerSecond * (1 - headroom) };
}

/**
 * The queue of one target stream, split per shard. Same contract as RecordQueue (FIFO
 * per shard, retried records back in front), plus token accounting in take().
 */
export class ShardRateLimiter<R extends LimitedRecord> {
  private readonly shards = new Map<string, ShardState<R>>();
  /** Shards in creation order, for round-robin batches. */
  private readonly order: ShardState<R>[] = [];
  private cursor = 0;
  private queued = 0;
  private queuedBytes = 0;
  /** Open shards of the current map, for records without a partition key. */
  private openShards: ReadonlyArray<{ readonly shardId: string; readonly startingHashKey: string }> = [];
  private keylessCursor = 0;

  constructor(
    private readonly streamName: string,
    private readonly rates: ShardRates,
    private readonly now: () => number = Date.now,
    /** Burst per shard, in ms of its rate. */
    private readonly burstMs: number = WRITABLE_DEFAULTS.rateLimitBurstMs,
  ) {}

  /** Records waiting. */
  get length(): number {
    return this.queued;
  }

  /** Bytes of the records waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** The open shards records without a partition key may be placed on (from the shard map). */
  setOpenShards(shards: ReadonlyArray<{ readonly shardId: string; readonly startingHashKey: string }>): void {
    this.openShards = shards;
  }

  /**
   * Where a record without a partition key goes: the next open shard, round robin,
   * skipping shards whose records wait for tokens. Returns its id and a hash key in it.
   */
  placeKeyless(): { shardId: string; startingHashKey: string } | undefined {
    const open = this.openShards;
    for (let i = 0; i < open.length; i++) {
      const candidate = open[(this.keylessCursor + i) % open.length];
      if (this.shards.get(candidate.shardId)?.saturatedSince === undefined) {
        this.keylessCursor = (this.keylessCursor + i + 1) % open.length;
        return candidate;
      }
    }
    // Every shard is saturated: the one with the fewest waiting.
    let best = open[0];
    for (const shard of open) if ((this.shards.get(shard.shardId)?.queue.length ?? 0) < (this.shards.get(best.shardId)?.queue.length ?? 0)) best = shard;
    return best;
  }

  /** True when the waiting records fill at least one batch. */
  hasFullBatch(limits: BatchLimits): boolean {
    return this.queued >= limits.maxRecords || this.queuedBytes >= limits.maxBytes;
  }

  push(record: R): void {
    const shard = this.shardOf(record.expectedShardId ?? '');
    shard.queue.push(record);
    this.count(shard, record, 1);
    if (shard.saturatedSince !== undefined) this.countKeys(shard, record);
  }

  /** Puts `records` back in front of their shards' queues, in their order. */
  unshift(records: readonly R[]): void {
    const byShard = new Map<ShardState<R>, R[]>();
    for (const record of records) {
      const shard = this.shardOf(record.expectedShardId ?? '');
      let list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, (list = []));
      list.push(record);
      this.count(shard, record, 1);
    }
    for (const [shard, list] of byShard) shard.queue.unshift(list);
  }

  /** Calls `fn` for every waiting record. */
  forEach(fn: (record: R) => void): void {
    for (const shard of this.order) shard.queue.forEach(fn);
  }

  /** Removes and returns every waiting record. */
  drain(): R[] {
    const all: R[] = [];
    for (const shard of this.order) {
      for (const record of shard.queue.drain()) all.push(record);
      shard.userRecords = 0;
      this.clearSaturation(shard);
    }
    this.queued = 0;
    this.queuedBytes = 0;
    return all;
  }

  /**
   * The next batch: round robin over the shards with waiting records, from each what its
   * tokens allow, within the batch limits. Empty when every waiting shard is out of
   * tokens (see waitMs()) or, with `blockedKeys` (preserveOrder), every key is in flight.
   */
  take(limits: BatchLimits, blockedKeys?: ReadonlySet<string>): R[] {
    const now = this.now();
    const batch: R[] = [];
    let bytes = 0;
    const n = this.order.length;
    for (let i = 0; i < n && batch.length < limits.maxRecords; i++) {
      const shard = this.order[(this.cursor + i) % n];
      const head = shard.queue.peek();
      if (head === undefined) continue;
      if (batch.length > 0 && bytes + head.size > limits.maxBytes) break;
      if (now < shard.pausedUntil || !shard.records.canTake(1, now) || !shard.bytes.canTake(head.size, now)) {
        this.saturate(shard, now);
        continue;
      }
      const maxRecords = Math.min(limits.maxRecords - batch.length, Math.max(1, Math.floor(shard.records.available(now))));
      const maxBytes = Math.min(limits.maxBytes - bytes, Math.max(head.size, shard.bytes.available(now)));
      const first = batch.length;
      let partBytes = 0;
      if (blockedKeys === undefined) {
        // Straight into the batch: with many shards a batch takes a record or two from each.
        partBytes = shard.queue.moveInto(batch, maxRecords, maxBytes);
      } else {
        for (const record of shard.queue.take({ maxRecords, maxBytes }, blockedKeys)) {
          partBytes += record.size;
          batch.push(record);
        }
      }
      const taken = batch.length - first;
      let userRecords = 0;
      for (let j = first; j < batch.length; j++) userRecords += batch[j].members?.length ?? 1;
      this.queued -= taken;
      this.queuedBytes -= partBytes;
      shard.userRecords -= userRecords;
      bytes += partBytes;
      shard.records.take(taken, now);
      shard.bytes.take(partBytes, now);
      if (shard.queue.length === 0) this.clearSaturation(shard);
      else if (taken > 0 && batch.length < limits.maxRecords && bytes < limits.maxBytes) this.saturate(shard, now);
    }
    this.cursor = n === 0 ? 0 : (this.cursor + 1) % n;
    return batch;
  }

  /** Milliseconds until some waiting record has its shard's tokens (0 if one has them now). */
  waitMs(): number {
    const now = this.now();
    let wait = Number.POSITIVE_INFINITY;
    for (const shard of this.order) {
      const head = shard.queue.peek();
      if (head === undefined) continue;
      wait = Math.min(wait, Math.max(shard.pausedUntil - now, shard.records.waitMs(1, now), shard.bytes.waitMs(head.size, now)));
    }
    return wait === Number.POSITIVE_INFINITY ? 0 : wait;
  }

  /**
   * The service refused records for `shardId` anyway (another producer writes to it):
   * the shard backs off alone for `delayMs`, and its tokens start again from empty.
   */
  penalize(shardId: string, delayMs: number): void {
    const shard = this.shards.get(shardId);
    if (shard === undefined) return;
    const now = this.now();
    shard.records.empty(now);
    shard.bytes.empty(now);
    shard.pausedUntil = Math.max(shard.pausedUntil, now + delayMs);
  }

  /** Shards whose records wait for tokens now. */
  saturated(): SaturatedShard[] {
    const list: SaturatedShard[] = [];
    for (const shard of this.order) {
      if (shard.saturatedSince === undefined) continue;
      list.push({
        streamName: this.streamName,
        shardId: shard.shardId,
        queued: shard.userRecords,
        since: shard.saturatedSince,
        hotKeys: shard.hot.top(WRITABLE_DEFAULTS.hotKeyMinShare),
      });
    }
    return list;
  }

  private shardOf(shardId: string): ShardState<R> {
    let shard = this.shards.get(shardId);
    if (shard === undefined) {
      const now = this.now();
      const { recordsPerSecond, bytesPerSecond } = this.rates;
      const burstMs = this.burstMs;
      shard = {
        shardId,
        queue: new RecordQueue<R>(),
        // A burst well under the service's (about one second): the reserve left there absorbs request latency jitter.
        records: new TokenBucket(recordsPerSecond, Math.max(1, (recordsPerSecond * burstMs) / 1000), now),
        bytes: new TokenBucket(bytesPerSecond, (bytesPerSecond * burstMs) / 1000, now),
        userRecords: 0,
        saturatedSince: undefined,
        pausedUntil: 0,
        hot: new HotKeys(WRITABLE_DEFAULTS.hotKeysTracked),
      };
      this.shards.set(shardId, shard);
      this.order.push(shard);
    }
    return shard;
  }

  private count(shard: ShardState<R>, record: R, sign: 1 | -1): void {
    this.queued += sign;
    this.queuedBytes += sign * record.size;
    shard.userRecords += sign * (record.members?.length ?? 1);
  }

  private saturate(shard: ShardState<R>, now: number): void {
    if (shard.saturatedSince !== undefined) return;
    shard.saturatedSince = now;
    // What waits now is what made it saturated: count its keys too.
    shard.queue.forEach((record) => this.countKeys(shard, record));
  }

  private clearSaturation(shard: ShardState<R>): void {
    if (shard.saturatedSince === undefined) return; // nothing counted: skip the clear
    shard.saturatedSince = undefined;
    shard.hot.clear();
  }

  private countKeys(shard: ShardState<R>, record: R): void {
    if (record.members === undefined) shard.hot.add(record.partitionKey);
    else for (const member of record.members) shard.hot.add(member.partitionKey);
  }
}
