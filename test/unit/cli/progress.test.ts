import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { ProgressModel, formatPlain, formatTable, redraw, startProgressView, type ProgressSnapshot } from '../../../lib/cli/progress.js';
import {
  publishLeaseGained,
  publishLeaseLost,
  publishPutRecords,
  publishRecordsRead,
  publishRetry,
  publishShardLag,
  publishShardStart,
  publishShardStop,
} from '../../../lib/metrics/channels.js';

const snapshot: ProgressSnapshot = {
  at: new Date('2026-05-01T12:00:01.000Z'),
  records: 12345,
  rate: 2345.6,
  written: 0,
  throttles: 2,
  retries: 1,
  rows: [
    { streamName: 'clicks', shardId: 'shardId-000000000000', state: 'reading', records: 6170, rate: 1172.4, lagMs: 0, owner: 'host:42:ab12cd' },
    { streamName: 'clicks', shardId: 'shardId-000000000001', state: 'ended', records: 6175, rate: 0, lagMs: 1250, owner: undefined },
  ],
};

describe('cli progress view', () => {
  it('formats the terminal table: totals, then one aligned row per shard', () => {
    assert.deepEqual(formatTable(snapshot, 'read clicks'), [
      'read clicks · read 12,345 · 2,346/s · throttles 2 · retries 1 · 12:00:01',
      'shard                 state    lag ms  records/s  records  lease owner',
      'shardId-000000000000  reading       0      1,172    6,170  host:42:ab12cd',
      'shardId-000000000001  ended     1,250          0    6,175  -',
    ]);
  });

  it('cuts the table to the terminal height and says how many shards it left out', () => {
    const lines = formatTable(snapshot, 'read clicks', 1);
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '… 2 more shard(s)');
  });

  it('formats plain key=value lines for logs, one per shard and a total', () => {
    assert.deepEqual(formatPlain(snapshot, 'read clicks'), [
      '2026-05-01T12:00:01.000Z clicks shardId-000000000000 state=reading lag_ms=0 rate=1172 records=6170 owner=host:42:ab12cd',
      '2026-05-01T12:00:01.000Z clicks shardId-000000000001 state=ended lag_ms=1250 rate=0 records=6175 owner=-',
      '2026-05-01T12:00:01.000Z read clicks total records=12345 rate=2346 written=0 throttles=2 retries=1',
    ]);
  });

  it('redraws in place: back over the previous lines, clearing each, then clears below', () => {
    assert.equal(redraw(0, ['a', 'b']), '\x1b[2Ka\n\x1b[2Kb\n\x1b[J');
    assert.equal(redraw(2, ['c']), '\x1b[2F\x1b[2Kc\n\x1b[J');
  });

  it('on a terminal, redraws the table in place every interval, and draws it once more on stop', async () => {
    let written = '';
    const tty = { isTTY: true, rows: 24, write: (chunk: string) => ((written += chunk), true) } as unknown as NodeJS.WriteStream;
    const view = startProgressView({ title: 'read clicks', out: tty, intervalMs: 20 });
    publishRecordsRead('clicks', 'shardId-000000000000', 'GetRecords', undefined, 10, 100);
    await delay(70);
    view.stop();
    view.stop(); // idempotent
    const draws = written.split('\x1b[J').filter((part) => part.length > 0);
    assert.ok(draws.length >= 3, `${draws.length} draws`);
    assert.ok(draws[0].startsWith('\x1b[2Kread clicks · read 10 · '), JSON.stringify(draws[0].slice(0, 40)));
    // Every later draw first moves back over the 3 lines of the previous one.
    for (const draw of draws.slice(1)) assert.ok(draw.startsWith('\x1b[3F\x1b[2Kread clicks'), JSON.stringify(draw.slice(0, 30)));
    assert.match(draws[draws.length - 1], /shardId-000000000000 +reading/);
  });

  it('counts what the channels report: records and rate per shard, lag, lease owner, totals', () => {
    const model = new ProgressModel(0);
    try {
      publishShardStart('clicks', 'shardId-1', undefined);
      publishLeaseGained({ tableName: 't', workerId: 'w1', leaseKey: 'shardId-1', streamKey: 'clicks', shardId: 'shardId-1' }, false, undefined);
      publishRecordsRead('clicks', 'shardId-1', 'GetRecords', undefined, 300, 3000);
      publishShardLag('clicks', 'shardId-1', undefined, 800);
      publishRecordsRead('clicks', 'shardId-2', 'GetRecords', undefined, 100, 1000);
      publishShardStop('clicks', 'shardId-2', undefined, 'end');
      publishPutRecords('copy', [{ size: 1 }, { size: 1 }], [
        { SequenceNumber: '1', ShardId: 'a' },
        { ErrorCode: 'ProvisionedThroughputExceededException' },
      ]);
      publishRetry({ source: 'writer', operation: 'PutRecords', streamName: 'copy', attempt: 1, delayMs: 1, error: new Error('x') });
      const first = model.snapshot(2000);
      assert.equal(first.records, 400);
      assert.equal(first.rate, 200);
      assert.equal(first.written, 1);
      assert.equal(first.throttles, 1);
      assert.equal(first.retries, 1);
      assert.deepEqual(
        first.rows.map((r) => [r.shardId, r.state, r.records, r.rate, r.lagMs, r.owner]),
        [
          ['shardId-1', 'reading', 300, 150, 800, 'w1'],
          ['shardId-2', 'ended', 100, 50, undefined, undefined],
        ],
      );
      publishLeaseLost({ tableName: 't', workerId: 'w1', leaseKey: 'shardId-1', streamKey: 'clicks', shardId: 'shardId-1' }, 'taken');
      const second = model.snapshot(3000);
      assert.equal(second.rate, 0, 'rates are per interval');
      assert.deepEqual([second.rows[0].state, second.rows[0].owner], ['lost', undefined]);
    } finally {
      model.close();
    }
    publishRecordsRead('clicks', 'shardId-1', 'GetRecords', undefined, 1, 1); // after close: not counted, no error
  });
});
