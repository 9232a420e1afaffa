import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CHANNELS,
  isThrottleCode,
  publishLeaseGained,
  publishPutRecords,
  publishRetry,
  publishShardLag,
  retryErrorCode,
  shardNumber,
  type LeaseGainedMessage,
  type RecordsRejectedMessage,
  type RecordsWrittenMessage,
  type RetryMessage,
  type ThrottleMessage,
} from '../../../lib/metrics/channels.js';
import { KinesisRequestError, PutRecordsError } from '../../../lib/errors.js';
import { serviceError } from '../../helpers/fake-kinesis.js';

/** Messages published on `names` while `run` runs. */
function capture(names: string[], run: () => void): Array<{ channel: string; message: unknown }> {
  const seen: Array<{ channel: string; message: unknown }> = [];
  const handlers = names.map((channel) => [channel, (message: unknown) => seen.push({ channel, message })] as const);
  for (const [channel, handler] of handlers) diagnosticsChannel.subscribe(channel, handler);
  try {
    run();
  } finally {
    for (const [channel, handler] of handlers) diagnosticsChannel.unsubscribe(channel, handler);
  }
  return seen;
}

describe('metrics channels', () => {
  it('names every channel kinesis-node-streams:<area>:<event>, each once', () => {
    const names = Object.values(CHANNELS);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^kinesis-node-streams:[a-z]+:[a-z]+$/);
  });

  it('publishes nothing, and builds nothing, when nobody subscribes', () => {
    for (const name of Object.values(CHANNELS)) assert.equal(diagnosticsChannel.channel(name).hasSubscribers, false, name);
    // Records whose `size` getter would throw: a publish helper that looked at them without subscribers would fail.
    const poisoned = [
      {
        get size(): number {
          throw new Error('read without subscribers');
        },
      },
    ];
    publishPutRecords('s', poisoned, [{ SequenceNumber: '1', ShardId: 'shardId-0' }]);
    publishShardLag('s', 'shardId-0', undefined, 5);
  });

  it('one PutRecords answer: stored records per shard (user and Kinesis records, bytes), rejections per code, entry throttles', () => {
    const records = [
      { size: 10 },
      { size: 20, members: [1, 2, 3] }, // a KPL aggregate of three user records
      { size: 30 },
      { size: 40 },
      { size: 50 },
      { size: 60 },
    ];
    const results = [
      { SequenceNumber: '1', ShardId: 'shardId-0' },
      { SequenceNumber: '2', ShardId: 'shardId-0' },
      { SequenceNumber: '3', ShardId: 'shardId-1' },
      { ErrorCode: 'ProvisionedThroughputExceededException' },
      { ErrorCode: 'ProvisionedThroughputExceededException' },
      { ErrorCode: 'InternalFailure' },
    ];
    const seen = capture([CHANNELS.recordsWritten, CHANNELS.recordsRejected, CHANNELS.throttle], () => publishPutRecords('clicks', records, results));
    const of = <M>(channel: string): M[] => seen.filter((s) => s.channel === channel).map((s) => s.message as M);
    assert.deepEqual(of<RecordsWrittenMessage>(CHANNELS.recordsWritten), [
      { streamName: 'clicks', shardId: 'shardId-0', records: 4, kinesisRecords: 2, bytes: 30 },
      { streamName: 'clicks', shardId: 'shardId-1', records: 1, kinesisRecords: 1, bytes: 30 },
    ]);
    assert.deepEqual(of<RecordsRejectedMessage>(CHANNELS.recordsRejected), [
      { streamName: 'clicks', errorCode: 'ProvisionedThroughputExceededException', records: 2, kinesisRecords: 2, throttled: true },
      { streamName: 'clicks', errorCode: 'InternalFailure', records: 1, kinesisRecords: 1, throttled: false },
    ]);
    assert.deepEqual(of<ThrottleMessage>(CHANNELS.throttle), [
      {
        service: 'kinesis',
        operation: 'PutRecords',
        streamName: 'clicks',
        shardId: undefined,
        tableName: undefined,
        errorCode: 'ProvisionedThroughputExceededException',
        scope: 'record',
        count: 2,
      },
    ]);
  });

  it('groups by the shard number of standard shard ids, and by the id itself otherwise', () => {
    assert.equal(shardNumber('shardId-000000000123'), 123);
    assert.equal(shardNumber('shardId-000000000000'), 0);
    for (const other of ['shard-7', 'shardId-', 'shardId-1', 'shardId-00000000012a', 'shardId-0000000001234', undefined]) assert.equal(shardNumber(other), other);
    const seen = capture([CHANNELS.recordsWritten], () =>
      publishPutRecords('s', [{ size: 1 }, { size: 2 }, { size: 4 }], [
        { SequenceNumber: '1', ShardId: 'shardId-000000000001' },
        { SequenceNumber: '2', ShardId: 'custom' },
        { SequenceNumber: '3', ShardId: 'shardId-000000000001' },
      ]),
    );
    assert.deepEqual(
      seen.map((s) => [(s.message as RecordsWrittenMessage).shardId, (s.message as RecordsWrittenMessage).bytes]),
      [
        ['shardId-000000000001', 5],
        ['custom', 2],
      ],
    );
  });

  it('an entry without a result is rejected as MissingResult, never counted stored', () => {
    const seen = capture([CHANNELS.recordsWritten, CHANNELS.recordsRejected], () => publishPutRecords('s', [{ size: 1 }, { size: 2 }], [{ SequenceNumber: '1', ShardId: 'a' }]));
    assert.deepEqual(
      seen.map((s) => [s.channel, (s.message as { records: number }).records, (s.message as { errorCode?: string }).errorCode]),
      [
        [CHANNELS.recordsWritten, 1, undefined],
        [CHANNELS.recordsRejected, 1, 'MissingResult'],
      ],
    );
  });

  it('retries carry the service error code, never the error or its message', () => {
    const cause = serviceError('ProvisionedThroughputExceededException', 400, 'Rate exceeded for shard; data: SECRET-PAYLOAD');
    const seen = capture([CHANNELS.retry], () => {
      publishRetry({ source: 'reader', operation: 'GetRecords', streamName: 's', shardId: 'shardId-0', attempt: 2, delayMs: 40, error: cause });
      publishRetry({ source: 'writer', operation: 'PutRecords', streamName: 's', attempt: 1, delayMs: 5, error: new KinesisRequestError('PutRecords on s', cause, true), records: 7 });
    });
    const messages = seen.map((s) => s.message as RetryMessage);
    assert.deepEqual(messages[0], {
      source: 'reader',
      operation: 'GetRecords',
      streamName: 's',
      shardId: 'shardId-0',
      tableName: undefined,
      attempt: 2,
      delayMs: 40,
      errorCode: 'ProvisionedThroughputExceededException',
      records: undefined,
    });
    assert.equal(messages[1].errorCode, 'ProvisionedThroughputExceededException');
    assert.equal(messages[1].records, 7);
    assert.doesNotMatch(JSON.stringify(messages), /SECRET-PAYLOAD|Rate exceeded/);
  });

  it('retryErrorCode: a PutRecordsError names its first rejected entry\'s code', () => {
    const error = new PutRecordsError('2 record(s) rejected', [{ item: 'x', errorCode: 'InternalFailure', errorMessage: 'm' }]);
    assert.equal(retryErrorCode(error), 'InternalFailure');
    assert.equal(retryErrorCode(Object.assign(new Error('socket'), { code: 'ECONNRESET' })), 'ECONNRESET');
  });

  it('lease messages split the reader\'s applicationName/streamName store key back', () => {
    const seen = capture([CHANNELS.leaseGained], () => {
      publishLeaseGained({ tableName: 't', workerId: 'w1', leaseKey: 'shardId-1', streamKey: 'billing/clicks', shardId: 'shardId-1' }, true, 'w2');
      publishLeaseGained({ tableName: 't', workerId: 'w1', leaseKey: 'clicks:shardId-2', streamKey: 'clicks', shardId: 'shardId-2' }, false, undefined);
    });
    const [a, b] = seen.map((s) => s.message as LeaseGainedMessage);
    assert.deepEqual(a, { tableName: 't', workerId: 'w1', leaseKey: 'shardId-1', streamName: 'clicks', shardId: 'shardId-1', consumerGroup: 'billing', stolen: true, previousOwner: 'w2' });
    assert.equal(b.streamName, 'clicks');
    assert.equal(b.consumerGroup, undefined);
  });

  it('isThrottleCode knows Kinesis, DynamoDB and KMS throttling, nothing else', () => {
    for (const code of ['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'KMSThrottlingException']) {
      assert.equal(isThrottleCode(code), true, code);
    }
    for (const code of ['InternalFailure', 'ResourceNotFoundException', 'ExpiredIteratorException', undefined]) assert.equal(isThrottleCode(code), false, String(code));
  });
});
