import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Meter } from '@opentelemetry/api';
import {
  CHANNELS,
  publishCheckpoint,
  publishLeaseGained,
  publishLeaseLost,
  publishLeaseReleased,
  publishLeasesHeld,
  publishPutRecords,
  publishRecordsRead,
  publishRequestEnd,
  publishRetry,
  publishShardLag,
  publishShardStop,
} from '../../../lib/metrics/channels.js';
import { ATTRIBUTES, METRICS, instrument, type MeterLike } from '../../../lib/metrics/otel.js';
import { MetricsHarness } from '../../helpers/metrics.js';

const KINESIS = { [ATTRIBUTES.system]: 'aws_kinesis' };
const lease = (workerId: string, shardId: string) => ({ tableName: 'leases', workerId, leaseKey: shardId, streamKey: 'clicks', shardId });

describe('OpenTelemetry adapter', () => {
  let metrics: MetricsHarness;
  beforeEach(() => {
    metrics = new MetricsHarness();
  });
  afterEach(() => metrics.close());

  it('accepts an @opentelemetry/api Meter as is (structural type, no runtime import)', () => {
    const typed = (meter: Meter): MeterLike => meter;
    assert.equal(typeof typed, 'function');
  });

  it('records request durations in seconds: Kinesis as messaging, DynamoDB as db, with error.type on failures', async () => {
    const base = { id: 1, streamName: 'clicks', shardId: 'shardId-0', tableName: undefined, httpStatusCode: 200, throttled: false };
    publishRequestEnd({ ...base, service: 'kinesis', operation: 'GetRecords', durationMs: 20, errorCode: undefined });
    publishRequestEnd({ ...base, service: 'kinesis', operation: 'GetRecords', durationMs: 40, errorCode: undefined });
    publishRequestEnd({ ...base, service: 'kinesis', operation: 'PutRecords', shardId: undefined, durationMs: 5, errorCode: 'InternalFailure', httpStatusCode: 500 });
    publishRequestEnd({ ...base, service: 'dynamodb', operation: 'UpdateItem', streamName: undefined, shardId: undefined, tableName: 'leases', durationMs: 8, errorCode: undefined });
    await metrics.collect();
    const [get] = metrics.points(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'GetRecords' });
    assert.deepEqual(get.attributes, {
      ...KINESIS,
      [ATTRIBUTES.operationName]: 'GetRecords',
      [ATTRIBUTES.operationType]: 'receive',
      [ATTRIBUTES.destination]: 'clicks',
      [ATTRIBUTES.partition]: 'shardId-0',
    });
    assert.equal(get.count, 2);
    assert.ok(Math.abs((get.sum ?? 0) - 0.06) < 1e-9);
    const [put] = metrics.points(METRICS.operationDuration, { [ATTRIBUTES.operationName]: 'PutRecords' });
    assert.equal(put.attributes[ATTRIBUTES.errorType], 'InternalFailure');
    assert.equal(put.attributes[ATTRIBUTES.operationType], 'send');
    assert.deepEqual(metrics.points(METRICS.dbOperationDuration)[0].attributes, {
      [ATTRIBUTES.dbSystem]: 'aws.dynamodb',
      [ATTRIBUTES.dbOperation]: 'UpdateItem',
      [ATTRIBUTES.dbCollection]: 'leases',
    });
    assert.equal(metrics.metric(METRICS.operationDuration)?.descriptor.unit, 's');
  });

  it('counts messages and bytes sent per shard and rejected per code, consumed per shard, throttles per scope', async () => {
    publishPutRecords(
      'clicks',
      [{ size: 10 }, { size: 20, members: [1, 2] }, { size: 30 }],
      [{ SequenceNumber: '1', ShardId: 'shardId-0' }, { SequenceNumber: '2', ShardId: 'shardId-1' }, { ErrorCode: 'ProvisionedThroughputExceededException' }],
    );
    publishRecordsRead('clicks', 'shardId-0', 'GetRecords', 'billing', 100, 5000);
    publishRecordsRead('clicks', 'shardId-0', 'GetRecords', 'billing', 50, 2500);
    await metrics.collect();
    assert.deepEqual(metrics.sumBy(METRICS.sentMessages, ATTRIBUTES.partition), { 'shardId-0': 1, 'shardId-1': 2, undefined: 1 });
    assert.equal(metrics.sum(METRICS.sentMessages, { [ATTRIBUTES.errorType]: 'ProvisionedThroughputExceededException' }), 1);
    assert.equal(metrics.sum(METRICS.sentRecords), 3);
    assert.equal(metrics.sum(METRICS.sentBytes), 30);
    assert.deepEqual(metrics.points(METRICS.consumedMessages), [
      {
        attributes: { ...KINESIS, [ATTRIBUTES.operationName]: 'GetRecords', [ATTRIBUTES.destination]: 'clicks', [ATTRIBUTES.partition]: 'shardId-0', [ATTRIBUTES.consumerGroup]: 'billing' },
        value: 150,
      },
    ]);
    assert.equal(metrics.sum(METRICS.consumedBytes), 7500);
    assert.equal(metrics.sum(METRICS.throttles, { [ATTRIBUTES.throttleScope]: 'record', [ATTRIBUTES.operationName]: 'PutRecords' }), 1);
  });

  it('keeps the last lag per shard as a gauge, and drops a shard once its reader stops it', async () => {
    publishShardLag('clicks', 'shardId-0', undefined, 5000);
    publishShardLag('clicks', 'shardId-1', undefined, 70);
    publishShardLag('clicks', 'shardId-0', undefined, 0);
    await metrics.collect();
    assert.deepEqual(metrics.sumBy(METRICS.lag, ATTRIBUTES.partition), { 'shardId-0': 0, 'shardId-1': 70 });
    assert.equal(metrics.metric(METRICS.lag)?.descriptor.unit, 'ms');
    publishShardStop('clicks', 'shardId-1', undefined, 'end');
    await metrics.collect();
    assert.deepEqual(metrics.sumBy(METRICS.lag, ATTRIBUTES.partition), { 'shardId-0': 0 });
  });

  it('counts retries, lease events and checkpoints; leases held is a gauge per worker', async () => {
    publishRetry({ source: 'reader', operation: 'GetRecords', streamName: 'clicks', shardId: 'shardId-0', attempt: 1, delayMs: 10, error: Object.assign(new Error('x'), { name: 'InternalFailure' }) });
    publishLeaseGained(lease('w1', 'shardId-0'), false, undefined);
    publishLeaseGained(lease('w1', 'shardId-1'), true, 'w2');
    publishLeaseLost(lease('w1', 'shardId-1'), 'taken');
    publishLeaseReleased(lease('w1', 'shardId-0'));
    publishLeasesHeld('leases', 'w1', 1, false);
    publishLeasesHeld('leases', 'w2', 3, false);
    publishCheckpoint({ streamName: 'clicks', shardId: 'shardId-0', consumerGroup: undefined, sequenceNumber: '49', subSequenceNumber: undefined, durationMs: 12, errorCode: undefined });
    await metrics.collect();
    assert.equal(metrics.sum(METRICS.retries, { [ATTRIBUTES.errorType]: 'InternalFailure', [ATTRIBUTES.partition]: 'shardId-0' }), 1);
    assert.deepEqual(metrics.sumBy(METRICS.leaseEvents, ATTRIBUTES.leaseEvent), { gained: 1, stolen: 1, lost: 1, released: 1 });
    assert.deepEqual(metrics.sumBy(METRICS.leasesHeld, ATTRIBUTES.clientId), { w1: 1, w2: 3 });
    assert.equal(metrics.sum(METRICS.checkpointDuration, { [ATTRIBUTES.partition]: 'shardId-0' }), 1);
    publishLeasesHeld('leases', 'w2', 0, true);
    await metrics.collect();
    assert.deepEqual(metrics.sumBy(METRICS.leasesHeld, ATTRIBUTES.clientId), { w1: 1 });
  });

  it('close() unsubscribes from every channel: nothing is recorded after it', async () => {
    metrics.instrumentation.close();
    metrics.instrumentation.close(); // idempotent
    for (const name of Object.values(CHANNELS)) assert.equal(diagnosticsChannel.channel(name).hasSubscribers, false, name);
    publishRecordsRead('clicks', 'shardId-0', 'GetRecords', undefined, 10, 10);
    await metrics.collect();
    assert.equal(metrics.sum(METRICS.consumedMessages), 0);
  });

  it('refuses a call without a meter', () => {
    assert.throws(() => instrument({} as never), TypeError);
  });
});
