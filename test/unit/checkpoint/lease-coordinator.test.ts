import assert from 'node:assert/strict';
import { LeaseCoordinator, type LeaseView } from '../../../lib/checkpoint/lease-coordinator.js';

const FAILOVER = 10000;

function lease(leaseKey: string, owner: string | undefined, counter = 1, checkpoint = 'TRIM_HORIZON', parentShardIds: string[] = []): LeaseView {
  return { leaseKey, owner, counter, checkpoint, parentShardIds };
}

function coordinator(workerId = 'me', maxLeasesForWorker = Number.POSITIVE_INFINITY): LeaseCoordinator {
  return new LeaseCoordinator({ workerId, failoverTimeMs: FAILOVER, maxLeasesForWorker });
}

describe('LeaseCoordinator', () => {
  it('takes free leases up to an even share', () => {
    const c = coordinator();
    const leases = [lease('s0', undefined), lease('s1', undefined), lease('s2', 'other'), lease('s3', 'other')];
    c.observe(leases, 0);
    const decision = c.decide(leases, new Set(), 0);
    assert.deepEqual(decision.take.map((l) => l.leaseKey), ['s0', 's1']);
    assert.equal(decision.steal, undefined);
  });

  it('alone, takes every free lease', () => {
    const c = coordinator();
    const leases = ['s0', 's1', 's2', 's3'].map((k) => lease(k, undefined));
    c.observe(leases, 0);
    assert.equal(c.decide(leases, new Set(), 0).take.length, 4);
  });

  it('a lease seen for the first time is not expired: its owner gets a failover time to renew it', () => {
    const c = coordinator();
    const leases = [lease('s0', 'other', 5)];
    c.observe(leases, 1000);
    assert.equal(c.isExpired(leases[0], 1000 + FAILOVER), false);
    assert.equal(c.isExpired(leases[0], 1000 + FAILOVER + 1), true);
  });

  it('takes the leases of a dead worker once their counters stop moving for failoverTimeMs, not before', () => {
    const c = coordinator();
    let t = 0;
    let alive = [lease('s0', 'me', 1), lease('s1', 'me', 1), lease('s2', 'dead', 7), lease('s3', 'dead', 7)];
    const held = new Set(['s0', 's1']);
    c.observe(alive, t);
    assert.deepEqual(c.decide(alive, held, t).take, []);
    t += FAILOVER;
    alive = [lease('s0', 'me', 4), lease('s1', 'me', 4), lease('s2', 'dead', 7), lease('s3', 'dead', 7)];
    c.observe(alive, t);
    assert.deepEqual(c.decide(alive, held, t).take, [], 'exactly failoverTimeMs is not yet expired');
    t += 1;
    c.observe(alive, t);
    assert.deepEqual(c.decide(alive, held, t).take.map((l) => l.leaseKey), ['s2', 's3']);
  });

  it('a live worker that renews keeps its leases', () => {
    const c = coordinator();
    for (let t = 0, counter = 1; t < 5 * FAILOVER; t += FAILOVER / 3, counter++) {
      const leases = [lease('s0', 'other', counter), lease('s1', 'other', counter)];
      c.observe(leases, t);
      const decision = c.decide(leases, new Set(), t);
      assert.deepEqual(decision.take, []);
      // It has 2, I have 0: stealing one evens things out.
      assert.equal(decision.steal?.owner, 'other');
    }
  });

  it('steals one lease at a time from the busiest worker, and stops at an even split', () => {
    const c = coordinator();
    let leases = ['s0', 's1', 's2', 's3'].map((k) => lease(k, 'busy', 1));
    c.observe(leases, 0);
    let decision = c.decide(leases, new Set(), 0);
    assert.equal(decision.take.length, 0);
    assert.equal(decision.steal?.leaseKey, 's3');
    leases = [lease('s0', 'busy', 2), lease('s1', 'busy', 2), lease('s2', 'busy', 2), lease('s3', 'me', 2)];
    c.observe(leases, 100);
    decision = c.decide(leases, new Set(['s3']), 100);
    assert.equal(decision.steal?.leaseKey, 's2');
    leases = [lease('s0', 'busy', 3), lease('s1', 'busy', 3), lease('s2', 'me', 3), lease('s3', 'me', 3)];
    c.observe(leases, 200);
    decision = c.decide(leases, new Set(['s2', 's3']), 200);
    assert.deepEqual(decision, { take: [], steal: undefined });
  });

  it('does not steal when the split is as even as it gets (3 leases, 2 workers)', () => {
    const c = coordinator();
    const leases = [lease('s0', 'other', 1), lease('s1', 'other', 1), lease('s2', 'me', 1)];
    c.observe(leases, 0);
    assert.deepEqual(c.decide(leases, new Set(['s2']), 0), { take: [], steal: undefined });
  });

  it('ignores finished (SHARD_END) leases and prefers parents to children', () => {
    const c = coordinator();
    const leases = [lease('child', undefined, 0, 'TRIM_HORIZON', ['parent']), lease('parent', undefined), lease('old', undefined, 3, 'SHARD_END')];
    c.observe(leases, 0);
    assert.deepEqual(c.decide(leases, new Set(), 0).take.map((l) => l.leaseKey), ['parent', 'child']);
  });

  it('respects maxLeasesForWorker', () => {
    const c = coordinator('me', 1);
    const leases = ['s0', 's1', 's2'].map((k) => lease(k, undefined));
    c.observe(leases, 0);
    assert.equal(c.decide(leases, new Set(), 0).take.length, 1);
    const after = [lease('s0', 'me', 2), lease('s1', undefined), lease('s2', undefined)];
    c.observe(after, 1);
    assert.deepEqual(c.decide(after, new Set(['s0']), 1), { take: [], steal: undefined });
  });

  it('retakes a lease the table says it owns but this process does not hold (restart with the same workerId)', () => {
    const c = coordinator();
    const leases = [lease('s0', 'me', 9)];
    c.observe(leases, 0);
    assert.deepEqual(c.decide(leases, new Set(), 0).take.map((l) => l.leaseKey), ['s0']);
  });
});
