/**
 * A token bucket: what Kinesis meters per shard (records and bytes written per second,
 * bytes and calls read per second). Tokens refill continuously at `ratePerSecond` up to
 * `capacity` (one second of rate, like the service's per-second metering). A cost above
 * the capacity may still be taken from a full bucket and leaves a debt, as the service
 * does with a 10 MiB GetRecords answer against 2 MiB/s. Pure logic: time is passed in.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Tokens now (negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** True when `cost` may be taken now: enough tokens, or a full bucket for a cost above capacity. */
  canTake(cost: number, now: number): boolean {
    this.refill(now);
    return this.tokens >= Math.min(cost, this.capacity);
  }

  /** Takes `cost` tokens, into debt if need be (check canTake first to stay within the rate). */
  take(cost: number, now: number): void {
    this.refill(now);
    this.tokens -= cost;
  }

  /** Milliseconds until canTake(cost) holds. */
  waitMs(cost: number, now: number): number {
    this.refill(now);
    const missing = Math.min(cost, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSecond);
  }

  /** Drops every token (keeps a debt): the service refused us, so someone else uses this capacity too. */
  empty(now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(now: number): void {
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    this.updatedAt = now;
  }
}
