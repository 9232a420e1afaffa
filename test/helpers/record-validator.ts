/**
 * Checks a delivery against what was written, as the KCL and Flink connector test suites
 * do: every expected record delivered (no loss), how many extra copies (duplicates), and
 * per-key order, judged on first deliveries only (a late duplicate of an old record is a
 * duplicate, not an order violation).
 *
 * A record is identified by (key, n). Per-key order is the order in which the expected
 * records of that key were given to `expect()`.
 */

export interface KeyedRecord {
  key: string | number;
  n: number;
}

/** A first delivery that came after a later record of the same key. */
export interface OrderViolation {
  key: string;
  n: number;
  /** The later record of the key already delivered. */
  after: number;
}

export interface ValidationReport {
  expected: number;
  delivered: number;
  /** Distinct expected records delivered at least once. */
  distinct: number;
  missing: KeyedRecord[];
  /** Extra deliveries: delivered minus first deliveries (unexpected records not counted). */
  duplicates: number;
  /** Records delivered more than once, with how often. */
  duplicated: Array<KeyedRecord & { count: number }>;
  orderViolations: OrderViolation[];
  /** Delivered records that were never expected. */
  unexpected: KeyedRecord[];
  /** No loss, no duplicates, no order violation, nothing unexpected. */
  exactlyOnceInOrder: boolean;
}

const SAMPLE = 10;

export class RecordValidator {
  /** Per key: n → position among the key's expected records. */
  private readonly positions = new Map<string, Map<number, number>>();
  private readonly expectedOrder: Array<{ key: string; n: number }> = [];
  /** Per key: n → times delivered. */
  private readonly deliveries = new Map<string, Map<number, number>>();
  /** Per key: the highest position first-delivered so far, and its n. */
  private readonly highest = new Map<string, { position: number; n: number }>();
  private readonly violations: OrderViolation[] = [];
  private readonly unexpectedRecords: KeyedRecord[] = [];
  private deliveredCount = 0;
  private firstDeliveries = 0;

  /** Records that should be delivered, in per-key order. */
  expect(records: Iterable<KeyedRecord>): this {
    for (const record of records) {
      const key = String(record.key);
      let positions = this.positions.get(key);
      if (positions === undefined) {
        positions = new Map();
        this.positions.set(key, positions);
      }
      if (positions.has(record.n)) throw new Error(`record ${key}/${record.n} expected twice`);
      positions.set(record.n, positions.size);
      this.expectedOrder.push({ key, n: record.n });
    }
    return this;
  }

  /** Records as delivered, in delivery order. */
  deliver(records: Iterable<KeyedRecord>): this {
    for (const record of records) this.deliverOne(record);
    return this;
  }

  deliverOne(record: KeyedRecord): void {
    const key = String(record.key);
    this.deliveredCount++;
    const position = this.positions.get(key)?.get(record.n);
    if (position === undefined) {
      this.unexpectedRecords.push({ key, n: record.n });
      return;
    }
    let counts = this.deliveries.get(key);
    if (counts === undefined) {
      counts = new Map();
      this.deliveries.set(key, counts);
    }
    const seen = counts.get(record.n) ?? 0;
    counts.set(record.n, seen + 1);
    if (seen > 0) return; // a duplicate: order is judged on first deliveries
    this.firstDeliveries++;
    const highest = this.highest.get(key);
    if (highest !== undefined && position < highest.position) {
      this.violations.push({ key, n: record.n, after: highest.n });
    } else {
      this.highest.set(key, { position, n: record.n });
    }
  }

  report(): ValidationReport {
    const missing = this.expectedOrder.filter((r) => (this.deliveries.get(r.key)?.get(r.n) ?? 0) === 0);
    const duplicated: Array<KeyedRecord & { count: number }> = [];
    for (const [key, counts] of this.deliveries) {
      for (const [n, count] of counts) if (count > 1) duplicated.push({ key, n, count });
    }
    const duplicates = this.deliveredCount - this.unexpectedRecords.length - this.firstDeliveries;
    return {
      expected: this.expectedOrder.length,
      delivered: this.deliveredCount,
      distinct: this.firstDeliveries,
      missing,
      duplicates,
      duplicated,
      orderViolations: this.violations.slice(),
      unexpected: this.unexpectedRecords.slice(),
      exactlyOnceInOrder: missing.length === 0 && duplicates === 0 && this.violations.length === 0 && this.unexpectedRecords.length === 0,
    };
  }

  /** One readable paragraph, with samples of each problem, for assertion messages. */
  summary(): string {
    const r = this.report();
    const sample = (records: KeyedRecord[]): string =>
      records
        .slice(0, SAMPLE)
        .map((x) => `${x.key}/${x.n}`)
        .join(', ') + (records.length > SAMPLE ? `, … (${records.length - SAMPLE} more)` : '');
    const lines = [
      `${r.expected} expected, ${r.delivered} delivered (${r.distinct} distinct): ${r.missing.length} missing, ` +
        `${r.duplicates} duplicate deliveries of ${r.duplicated.length} record(s), ${r.orderViolations.length} order violation(s), ` +
        `${r.unexpected.length} unexpected`,
    ];
    if (r.missing.length > 0) lines.push(`  missing: ${sample(r.missing)}`);
    if (r.duplicated.length > 0) {
      lines.push(`  duplicated: ${r.duplicated.slice(0, SAMPLE).map((x) => `${x.key}/${x.n}×${x.count}`).join(', ')}${r.duplicated.length > SAMPLE ? ', …' : ''}`);
    }
    if (r.orderViolations.length > 0) {
      lines.push(`  out of order: ${r.orderViolations.slice(0, SAMPLE).map((v) => `${v.key}/${v.n} after ${v.after}`).join(', ')}${r.orderViolations.length > SAMPLE ? ', …' : ''}`);
    }
    if (r.unexpected.length > 0) lines.push(`  unexpected: ${sample(r.unexpected)}`);
    return lines.join('\n');
  }
}
