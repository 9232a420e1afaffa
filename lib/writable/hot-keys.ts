/**
 * The heaviest partition keys of a saturated shard: the Space-Saving sketch (Metwally et
 * al.), `k` counters whatever the number of distinct keys. A key with more than 1/k of
 * the counted records is always among them. Pure logic, no I/O.
 */

/** A partition key and its share of the records counted. */
export interface HotKey {
  partitionKey: string;
  /** Share of the records counted, in (0, 1]; an upper bound (Space-Saving overestimates). */
  share: number;
}

export class HotKeys {
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(private readonly k: number) {}

  /** Counts one record of `partitionKey`. */
  add(partitionKey: string): void {
    this.total++;
    const count = this.counts.get(partitionKey);
    if (count !== undefined) {
      this.counts.set(partitionKey, count + 1);
      return;
    }
    if (this.counts.size < this.k) {
      this.counts.set(partitionKey, 1);
      return;
    }
    // Replace the smallest counter; the newcomer inherits its count (the sketch's bound).
    let minKey = '';
    let min = Number.POSITIVE_INFINITY;
    for (const [key, c] of this.counts) {
      if (c < min) {
        min = c;
        minKey = key;
      }
    }
    this.counts.delete(minKey);
    this.counts.set(partitionKey, min + 1);
  }

  /** Keys holding at least `minShare` of the counted records, heaviest first. */
  top(minShare: number): HotKey[] {
    if (this.total === 0) return [];
    const hot: HotKey[] = [];
    for (const [partitionKey, count] of this.counts) {
      const share = count / this.total;
      if (share >= minShare) hot.push({ partitionKey, share });
    }
    return hot.sort((a, b) => b.share - a.share);
  }

  /** Forgets everything (the shard is no longer saturated). */
  clear(): void {
    // Map#clear allocates a fresh table: skip it when nothing was counted (the common case, per batch and shard).
    if (this.total === 0) return;
    this.counts.clear();
    this.total = 0;
  }
}
