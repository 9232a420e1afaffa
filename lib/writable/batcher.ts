/**
 * Record and byte accounting for PutRecords: a FIFO of pending records from which
 * batches are cut within the entry and byte limits. Pure logic, no I/O.
 */

/** What the queue needs to know of a record. */
export interface QueuedRecord {
  /** Bytes counted against the request budget: data + partition key (UTF-8). */
  readonly size: number;
  readonly partitionKey: string;
}

/** Limits of one batch. */
export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

/** FIFO of records waiting to be sent; retried records go back to its front. */
export class RecordQueue<R extends QueuedRecord> {
  private items: R[] = [];
  private head = 0;
  private queuedBytes = 0;

  /** Records waiting. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of the records waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** True when the waiting records fill at least one batch. */
  hasFullBatch(limits: BatchLimits): boolean {
    return this.length >= limits.maxRecords || this.queuedBytes >= limits.maxBytes;
  }

  /** The record at the front, if any. */
  peek(): R | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  push(record: R): void {
    this.items.push(record);
    this.queuedBytes += record.size;
  }

  /** Puts `records` back in front, in their order, ahead of everything queued. */
  unshift(records: readonly R[]): void {
    if (records.length === 0) return;
    const rest = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = records.concat(rest);
    this.head = 0;
    for (const r of records) this.queuedBytes += r.size;
  }

  /** Calls `fn` for every waiting record, front to back. */
  forEach(fn: (record: R) => void): void {
    for (let i = this.head; i < this.items.length; i++) fn(this.items[i]);
  }

  /** Removes and returns every waiting record. */
  drain(): R[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    return all;
  }

  /**
   * Cuts the next batch from the front: at most `maxRecords` records and `maxBytes`
   * bytes (always at least one record if any is eligible, so a record at the size limit
   * still goes). With `blockedKeys`, at most one record per partition key is taken, none
   * whose key is blocked, and no record overtakes an earlier one of its key.
   */
  take(limits: BatchLimits, blockedKeys?: ReadonlySet<string>): R[] {
    return blockedKeys === undefined ? this.takeInOrder(limits) : this.takeOnePerKey(limits, blockedKeys);
  }

  /**
   * Moves records from the front onto the end of `batch`, in order, within the limits (at
   * least one if any waits); returns their bytes. take() without blocked keys, without a
   * new array: the rate limiter fills one batch from many shards.
   */
  moveInto(batch: R[], maxRecords: number, maxBytes: number): number {
    const { items } = this;
    const start = this.head;
    let end = start;
    let bytes = 0;
    while (end < items.length && end - start < maxRecords) {
      const record = items[end];
      if (bytes + record.size > maxBytes && end > start) break;
      bytes += record.size;
      batch.push(record);
      end++;
    }
    this.head = end;
    this.queuedBytes -= bytes;
    this.compact();
    return bytes;
  }

  private takeInOrder(limits: BatchLimits): R[] {
    const { items } = this;
    let end = this.head;
    let bytes = 0;
    while (end < items.length && end - this.head < limits.maxRecords) {
      const size = items[end].size;
      if (bytes + size > limits.maxBytes && end > this.head) break;
      bytes += size;
      end++;
    }
    const batch = items.slice(this.head, end);
    this.head = end;
    this.queuedBytes -= bytes;
    this.compact();
    return batch;
  }

  private takeOnePerKey(limits: BatchLimits, blockedKeys: ReadonlySet<string>): R[] {
    const batch: R[] = [];
    const kept: R[] = [];
    const passedOver = new Set<string>();
    let bytes = 0;
    let i = this.head;
    for (; i < this.items.length && batch.length < limits.maxRecords; i++) {
      const record = this.items[i];
      const key = record.partitionKey;
      const fits = bytes + record.size <= limits.maxBytes || batch.length === 0;
      if (fits && !blockedKeys.has(key) && !passedOver.has(key)) {
        batch.push(record);
        bytes += record.size;
      } else {
        kept.push(record);
      }
      // Whether taken or not, no later record of this key may join this batch.
      passedOver.add(key);
    }
    this.items = i < this.items.length ? kept.concat(this.items.slice(i)) : kept;
    this.head = 0;
    this.queuedBytes -= bytes;
    return batch;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
