/**
 * The lease decisions of one worker, as the KCL makes them: which leases are expired
 * (their counter has not moved for failoverTimeMs, as seen by this worker's own clock —
 * clocks of different machines are never compared), which to take, and which single
 * lease to steal to move towards an even split. Pure logic: a table scan and the time
 * in, decisions out.
 */
import { SHARD_END } from './store.js';

/** One lease item as last read from the table. */
export interface LeaseView {
  leaseKey: string;
  owner: string | undefined;
  counter: number;
  /** Sequence number, an initial-position sentinel (TRIM_HORIZON, LATEST, AT_TIMESTAMP) or SHARD_END. */
  checkpoint: string;
  parentShardIds: string[];
}

/** Settings of the decisions. */
export interface CoordinatorOptions {
  workerId: string;
  failoverTimeMs: number;
  maxLeasesForWorker: number;
}

/** What to do after a scan. */
export interface LeaseDecision {
  /** Free or expired leases to take. */
  take: LeaseView[];
  /** A lease of an over-loaded worker to take, towards an even split (at most one per pass). */
  steal: LeaseView | undefined;
}

interface Seen {
  counter: number;
  owner: string | undefined;
  /** When this worker last saw the counter or owner change. */
  changedAt: number;
}

export class LeaseCoordinator {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly options: CoordinatorOptions) {}

  /** Records a scan taken at `now` (ms, this worker's clock). */
  observe(leases: readonly LeaseView[], now: number): void {
    const present = new Set<string>();
    for (const lease of leases) {
      present.add(lease.leaseKey);
      const seen = this.seen.get(lease.leaseKey);
      if (seen === undefined || seen.counter !== lease.counter || seen.owner !== lease.owner) {
        this.seen.set(lease.leaseKey, { counter: lease.counter, owner: lease.owner, changedAt: now });
      }
    }
    for (const key of this.seen.keys()) if (!present.has(key)) this.seen.delete(key);
  }

  /** True when nobody holds the lease, or its holder has not renewed it for failoverTimeMs. */
  isExpired(lease: LeaseView, now: number): boolean {
    if (lease.owner === undefined) return true;
    const seen = this.seen.get(lease.leaseKey);
    // Never seen before: give its owner a full failover time to show it is alive.
    return seen !== undefined && now - seen.changedAt > this.options.failoverTimeMs;
  }

  /** Which leases to take after a scan; `held` are the lease keys this worker holds. */
  decide(leases: readonly LeaseView[], held: ReadonlySet<string>, now: number): LeaseDecision {
    const me = this.options.workerId;
    const active = leases.filter((lease) => lease.checkpoint !== SHARD_END);
    const counts = new Map<string, number>([[me, 0]]);
    for (const lease of active) {
      if (lease.owner === me) {
        if (held.has(lease.leaseKey)) counts.set(me, (counts.get(me) ?? 0) + 1);
      } else if (!this.isExpired(lease, now) && lease.owner !== undefined) {
        counts.set(lease.owner, (counts.get(lease.owner) ?? 0) + 1);
      }
    }
    const target = Math.min(this.options.maxLeasesForWorker, Math.ceil(active.length / counts.size));
    const mine = counts.get(me) ?? 0;
    if (mine >= target) return { take: [], steal: undefined };
    const available = active.filter((lease) => !held.has(lease.leaseKey) && (lease.owner === me || this.isExpired(lease, now)));
    // Parents first: their children cannot start before them anyway.
    available.sort((a, b) => a.parentShardIds.length - b.parentShardIds.length || a.leaseKey.localeCompare(b.leaseKey));
    const take = available.slice(0, target - mine);
    if (take.length > 0) return { take, steal: undefined };
    // Nothing free: steal one lease from the most loaded worker, if that evens things out.
    let busiest: string | undefined;
    let most = 0;
    for (const [owner, count] of counts) {
      if (owner !== me && (count > most || (count === most && busiest !== undefined && owner < busiest))) {
        busiest = owner;
        most = count;
      }
    }
    if (busiest === undefined || most <= mine + 1 || most <= target - 1) return { take: [], steal: undefined };
    const victims = active.filter((lease) => lease.owner === busiest && !this.isExpired(lease, now));
    victims.sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    return { take: [], steal: victims[victims.length - 1] };
  }
}
