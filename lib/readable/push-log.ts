/**
 * What the consumer has read out of a merged Readable, per source (shard). The Readable's
 * buffer is first in, first out: of the records pushed, all but the last `readableLength`
 * have been read out. The log keeps each pushed record with its source until it is known
 * read, then moves it into the source's `lastConsumed`. Pure logic, no I/O.
 */

/** A source of records whose last record read out by the consumer is tracked. */
export interface ConsumedMark<R> {
  lastConsumed: R | undefined;
}

export class PushLog<S extends ConsumedMark<R>, R> {
  private sources: S[] = [];
  private records: R[] = [];
  private head = 0;

  /** True when every record noted has been marked read. */
  get empty(): boolean {
    return this.head === this.sources.length;
  }

  /**
   * Pushes `record` into `readable` and notes it. A record handed straight to a 'data'
   * listener (nothing buffered before or after) is read at once: it is marked before the
   * push, so a checkpoint() inside the listener includes it, and never enters the log, so
   * it can die young. Returns what push() returned.
   */
  push(source: S, record: R, readable: { push(chunk: R): boolean; readonly readableLength: number }): boolean {
    if (readable.readableLength !== 0) {
      this.add(source, record);
      return readable.push(record);
    }
    if (!this.empty) this.trim(0);
    const previous = source.lastConsumed;
    source.lastConsumed = record;
    const more = readable.push(record);
    if (readable.readableLength !== 0) {
      // Buffered after all (no user code ran): noted as unread.
      source.lastConsumed = previous;
      this.add(source, record);
    }
    return more;
  }

  /** Notes a pushed record that waits, unread, in the Readable's buffer. */
  add(source: S, record: R): void {
    this.sources.push(source);
    this.records.push(record);
  }

  /** Marks read every record noted but the last `unread` (those still in the Readable's buffer). */
  trim(unread: number): void {
    const readUpTo = this.sources.length - unread;
    for (; this.head < readUpTo; this.head++) this.sources[this.head].lastConsumed = this.records[this.head];
    // Drop the read part once it is most of the arrays (amortised: each entry is copied at most once).
    if (this.head > 1024 && this.head * 2 > this.sources.length) {
      this.sources = this.sources.slice(this.head);
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }
}
