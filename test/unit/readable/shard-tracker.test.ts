import assert from 'node:assert/strict';
import { ShardTracker, type ListedShard } from '../../../lib/readable/shard-tracker.js';

const start = new Date('2026-01-01T00:00:00Z');

function shard(shardId: string, parents: string[] = [], closed = false, checkpoint?: string): ListedShard {
  const s: ListedShard = { shardId, parentShardIds: parents, closed };
  if (checkpoint !== undefined) s.checkpoint = { sequenceNumber: checkpoint };
  return s;
}

function ready(tracker: ShardTracker): string[] {
  return tracker.takeReady().map((r) => `${r.shardId}@${r.position.type}`);
}

describe('ShardTracker', () => {
  it('TRIM_HORIZON: a split reads the parent first, then both children from their start', () => {
    const t = new ShardTracker('TRIM_HORIZON', start);
    t.add([shard('p', [], true), shard('a', ['p']), shard('b', ['p'])], true);
    assert.deepEqual(ready(t), ['p@TRIM_HORIZON']);
    assert.deepEqual(ready(t), []);
    t.finish('p');
    assert.deepEqual(ready(t), ['a@TRIM_HORIZON', 'b@TRIM_HORIZON']);
  });

  it('a merge waits for both parents', () => {
    const t = new ShardTracker('TRIM_HORIZON', start);
    t.add([shard('p1', [], true), shard('p2', [], true), shard('m', ['p1', 'p2'])], true);
    assert.deepEqual(ready(t), ['p1@TRIM_HORIZON', 'p2@TRIM_HORIZON']);
    t.finish('p1');
    assert.deepEqual(ready(t), []);
    t.finish('p2');
    assert.deepEqual(ready(t), ['m@TRIM_HORIZON']);
  });

  it('LATEST: closed shards are skipped and open ones start at LATEST', () => {
    const t = new ShardTracker('LATEST', start);
    t.add([shard('p', [], true), shard('a', ['p']), shard('b', ['p'])], true);
    assert.equal(t.phase('p'), 'finished');
    assert.deepEqual(ready(t), ['a@LATEST', 'b@LATEST']);
  });

  it('LATEST: children of a shard read here start at TRIM_HORIZON; shards found later with no known parent are pinned to the start time', () => {
    const t = new ShardTracker('LATEST', start);
    t.add([shard('a')], true);
    assert.deepEqual(ready(t), ['a@LATEST']);
    t.add([shard('a', [], true), shard('c', ['a']), shard('x', ['gone'])], false);
    const later = t.takeReady();
    assert.deepEqual(later.map((r) => r.shardId), ['x']);
    assert.deepEqual(later[0].position, { type: 'AT_TIMESTAMP', timestamp: start });
    t.finish('a');
    assert.deepEqual(ready(t), ['c@TRIM_HORIZON']);
  });

  it('a checkpoint wins over the initial position; SHARD_END shards are finished', () => {
    const t = new ShardTracker('LATEST', start);
    t.add([shard('p', [], true, 'SHARD_END'), shard('a', ['p'], false, '42'), shard('q', [], true, '7'), shard('b', ['q'])], true);
    const r = t.takeReady();
    assert.deepEqual(r.map((x) => [x.shardId, x.position]), [
      ['a', { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '42' }],
      ['q', { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '7' }],
    ]);
    assert.deepEqual(r[0].checkpoint, { sequenceNumber: '42' });
    t.finish('q');
    assert.deepEqual(ready(t), ['b@TRIM_HORIZON'], 'q was resumed here, so its child continues from its start');
  });

  it('a child of a shard finished by an earlier run starts at TRIM_HORIZON, even with LATEST', () => {
    const t = new ShardTracker('LATEST', start);
    t.add([shard('p', [], true, 'SHARD_END'), shard('c', ['p'])], true);
    assert.deepEqual(ready(t), ['c@TRIM_HORIZON']);
  });

  it('a timestamp start reads roots AT_TIMESTAMP', () => {
    const timestamp = new Date('2025-06-01T00:00:00Z');
    const t = new ShardTracker({ timestamp }, start);
    t.add([shard('a')], true);
    assert.deepEqual(t.takeReady()[0].position, { type: 'AT_TIMESTAMP', timestamp });
  });

  it('parents no longer listed do not block their children', () => {
    const t = new ShardTracker('TRIM_HORIZON', start);
    t.add([shard('c', ['expired-parent'])], true);
    assert.deepEqual(ready(t), ['c@TRIM_HORIZON']);
  });

  it('adding a shard twice keeps the first', () => {
    const t = new ShardTracker('TRIM_HORIZON', start);
    t.add([shard('a')], true);
    assert.deepEqual(ready(t), ['a@TRIM_HORIZON']);
    t.add([shard('a', [], true)], false);
    assert.deepEqual(ready(t), []);
    assert.equal(t.phase('a'), 'reading');
  });
});
