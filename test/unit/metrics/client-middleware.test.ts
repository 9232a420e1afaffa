import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CHANNELS, type RequestEndMessage, type RequestStartMessage, type ThrottleMessage } from '../../../lib/metrics/channels.js';
import { METRICS_MIDDLEWARE_NAME, instrumentClient, streamOfArn } from '../../../lib/metrics/client-middleware.js';
import { createKinesisClient, resolveClient } from '../../../lib/client.js';
import { DynamoDBLeaseStore } from '../../../lib/checkpoint/dynamodb-lease-store.js';

interface FakeAnswer {
  status: number;
  body: unknown;
}

/** A request body as text (the SDK hands over a string or bytes). */
function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '{}';
  return body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : String(body);
}

/** An SDK request handler that answers from a function of the operation and the JSON body. */
function fakeHandler(answer: (operation: string, body: Record<string, unknown>) => FakeAnswer): { handle(request: { headers: Record<string, string>; body?: unknown }): Promise<unknown> } {
  return {
    async handle(request) {
      const target = request.headers['x-amz-target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      const body = JSON.parse(bodyText(request.body)) as Record<string, unknown>;
      const { status, body: out } = answer(operation, body);
      return {
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'test' },
          body: Readable.from([Buffer.from(JSON.stringify(out))]),
        },
      };
    },
  };
}

function kinesis(answer: (operation: string, body: Record<string, unknown>) => FakeAnswer): KinesisClient {
  return instrumentClient(
    new KinesisClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'SECRETTEST' },
      maxAttempts: 1,
      requestHandler: fakeHandler(answer) as never,
    }),
    'kinesis',
  );
}

/** Iterators hand over like Kinesis: each answer names the next one. */
function shardServer(): (operation: string, body: Record<string, unknown>) => FakeAnswer {
  let n = 0;
  return (operation, body) => {
    switch (operation) {
      case 'GetShardIterator':
        return { status: 200, body: { ShardIterator: `it-${body.ShardId as string}-${n++}` } };
      case 'GetRecords':
        if (body.ShardIterator === 'throttle-me') return { status: 400, body: { __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded; data SECRET' } };
        return { status: 200, body: { Records: [], NextShardIterator: `${String(body.ShardIterator).replace(/-\d+$/, '')}-${n++}`, MillisBehindLatest: 0 } };
      case 'ListShards':
        return { status: 200, body: { Shards: [] } };
      case 'PutRecords':
        return { status: 200, body: { FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }] } };
      default:
        return { status: 400, body: { __type: 'ValidationException', message: 'no' } };
    }
  };
}

function listen(): { starts: RequestStartMessage[]; ends: RequestEndMessage[]; throttles: ThrottleMessage[]; stop(): void } {
  const starts: RequestStartMessage[] = [];
  const ends: RequestEndMessage[] = [];
  const throttles: ThrottleMessage[] = [];
  const onStart = (m: unknown): void => void starts.push(m as RequestStartMessage);
  const onEnd = (m: unknown): void => void ends.push(m as RequestEndMessage);
  const onThrottle = (m: unknown): void => void throttles.push(m as ThrottleMessage);
  diagnosticsChannel.subscribe(CHANNELS.requestStart, onStart);
  diagnosticsChannel.subscribe(CHANNELS.requestEnd, onEnd);
  diagnosticsChannel.subscribe(CHANNELS.throttle, onThrottle);
  return {
    starts,
    ends,
    throttles,
    stop() {
      diagnosticsChannel.unsubscribe(CHANNELS.requestStart, onStart);
      diagnosticsChannel.unsubscribe(CHANNELS.requestEnd, onEnd);
      diagnosticsChannel.unsubscribe(CHANNELS.throttle, onThrottle);
    },
  };
}

describe('metrics request middleware', () => {
  it('publishes start and end of each request with operation, stream, shard, duration and outcome', async () => {
    const client = kinesis(shardServer());
    const seen = listen();
    try {
      await client.send(new ListShardsCommand({ StreamName: 'clicks' }));
      await client.send(new PutRecordsCommand({ StreamName: 'clicks', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }));
    } finally {
      seen.stop();
      client.destroy();
    }
    assert.deepEqual(
      seen.starts.map((s) => [s.service, s.operation, s.streamName, s.shardId]),
      [
        ['kinesis', 'ListShards', 'clicks', undefined],
        ['kinesis', 'PutRecords', 'clicks', undefined],
      ],
    );
    assert.deepEqual(
      seen.ends.map((e) => [e.id, e.operation, e.errorCode, e.httpStatusCode, e.throttled]),
      seen.starts.map((s) => [s.id, s.operation, undefined, 200, false]),
    );
    for (const end of seen.ends) assert.ok(end.durationMs >= 0 && end.durationMs < 5000);
  });

  it('knows the shard of GetRecords from its iterator, even for a subscriber that attaches after GetShardIterator', async () => {
    const client = kinesis(shardServer());
    let seen: ReturnType<typeof listen> | undefined;
    try {
      const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: 'clicks', ShardId: 'shardId-000000000007', ShardIteratorType: 'TRIM_HORIZON' }));
      seen = listen(); // late: the iterator was issued while nobody listened
      let iterator = ShardIterator;
      for (let i = 0; i < 3; i++) {
        const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
        iterator = out.NextShardIterator;
      }
    } finally {
      seen?.stop();
      client.destroy();
    }
    assert.deepEqual(
      seen.ends.map((e) => [e.operation, e.streamName, e.shardId]),
      Array.from({ length: 3 }, () => ['GetRecords', 'clicks', 'shardId-000000000007']),
    );
  });

  it('reports a throttled request with its error code (never the message), and on the throttle channel', async () => {
    const client = kinesis(shardServer());
    const seen = listen();
    try {
      await assert.rejects(client.send(new GetRecordsCommand({ ShardIterator: 'throttle-me' })), { name: 'ProvisionedThroughputExceededException' });
    } finally {
      seen.stop();
      client.destroy();
    }
    assert.equal(seen.ends.length, 1);
    assert.equal(seen.ends[0].errorCode, 'ProvisionedThroughputExceededException');
    assert.equal(seen.ends[0].httpStatusCode, 400);
    assert.equal(seen.ends[0].throttled, true);
    assert.deepEqual(seen.throttles, [
      {
        service: 'kinesis',
        operation: 'GetRecords',
        streamName: undefined,
        shardId: undefined,
        tableName: undefined,
        errorCode: 'ProvisionedThroughputExceededException',
        scope: 'request',
        count: 1,
      },
    ]);
    assert.doesNotMatch(JSON.stringify([seen.starts, seen.ends, seen.throttles]), /SECRET|Rate exceeded|throttle-me/);
  });

  it('names the stream of a SubscribeToShard from its consumer ARN', () => {
    assert.equal(streamOfArn('arn:aws:kinesis:eu-west-1:123456789012:stream/clicks/consumer/app:1700000000'), 'clicks');
    assert.equal(streamOfArn('arn:aws:kinesis:eu-west-1:123456789012:stream/clicks'), 'clicks');
    assert.equal(streamOfArn('nonsense'), undefined);
  });

  it('is added once per client, to clients created here and to the user\'s own', () => {
    const mine = createKinesisClient({ region: 'us-east-1' });
    const users = new KinesisClient({ region: 'us-east-1' });
    try {
      const count = (client: KinesisClient): number => client.middlewareStack.identify().filter((entry) => entry.startsWith(METRICS_MIDDLEWARE_NAME)).length;
      assert.equal(count(mine), 1);
      assert.equal(count(users), 0);
      resolveClient({ client: users });
      resolveClient({ client: users });
      instrumentClient(users, 'kinesis');
      assert.equal(count(users), 1);
      // A test double without a middleware stack is left alone.
      const double = { send: async () => ({}) };
      assert.equal(resolveClient({ client: double as never }).client, double);
    } finally {
      mine.destroy();
      users.destroy();
    }
  });

  it('times DynamoDB requests of the lease store, with the table', async () => {
    const dynamo = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'SECRETTEST' },
      maxAttempts: 1,
      requestHandler: fakeHandler(() => ({ status: 200, body: { Item: { leaseKey: { S: 'shardId-0' }, checkpoint: { S: '49' } } } })) as never,
    });
    const store = new DynamoDBLeaseStore({ tableName: 'leases', client: dynamo });
    const seen = listen();
    try {
      await dynamo.send(new GetItemCommand({ TableName: 'leases', Key: { leaseKey: { S: 'shardId-0' } } }));
    } finally {
      seen.stop();
      await store.detach();
      dynamo.destroy();
    }
    assert.deepEqual(
      seen.ends.map((e) => [e.service, e.operation, e.tableName, e.streamName, e.errorCode]),
      [['dynamodb', 'GetItem', 'leases', undefined, undefined]],
    );
  });
});
