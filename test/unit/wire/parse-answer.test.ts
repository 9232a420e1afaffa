import assert from 'node:assert/strict';
import { GetRecordsCommand, PutRecordsCommand, ResourceNotFoundException, type KinesisClient } from '@aws-sdk/client-kinesis';
import { parseGetRecords, parsePutRecords } from '../../../lib/wire/parse-answer.js';
import { cannedClient, type Canned } from './sdk-twin.js';

/** What each client returns for the same canned answer. */
async function outputs<T>(answer: Canned, call: (client: KinesisClient) => Promise<T>): Promise<{ sdk: T; fast: T }> {
  const out: Record<string, T> = {};
  for (const fast of [false, true]) {
    const client = cannedClient(fast, () => answer);
    try {
      out[fast ? 'fast' : 'sdk'] = await call(client);
    } finally {
      client.destroy();
    }
  }
  return out as { sdk: T; fast: T };
}

const getRecords = (client: KinesisClient) => client.send(new GetRecordsCommand({ ShardIterator: 'it' }));
const putRecords = (client: KinesisClient) => client.send(new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('a'), PartitionKey: 'k' }] }));

describe('wire: answers', () => {
  it('reads a GetRecords answer into the same output as the SDK', async () => {
    const body = JSON.stringify({
      MillisBehindLatest: 1234,
      NextShardIterator: 'AAAA/next+iterator==',
      Records: [
        { SequenceNumber: '49590338271490256608559692538361571095921575989136588898', ApproximateArrivalTimestamp: 1700000000.123, Data: Buffer.from('héllo').toString('base64'), PartitionKey: 'ké"y😀' },
        { SequenceNumber: '2', ApproximateArrivalTimestamp: 1700000000, Data: '', PartitionKey: 'k', EncryptionType: 'KMS' },
        { SequenceNumber: '3', ApproximateArrivalTimestamp: 1700000000.0005, Data: Buffer.alloc(3000, 9).toString('base64'), PartitionKey: 'k', EncryptionType: null },
      ],
      ChildShards: [{ ShardId: 'shardId-000000000001', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }],
    });
    const { sdk, fast } = await outputs({ statusCode: 200, body, headers: { 'x-amz-id-2': 'ext' } }, getRecords);
    assert.deepStrictEqual(fast, sdk);
    assert.ok(fast.Records?.[0].Data instanceof Uint8Array);
    assert.equal(Buffer.from(fast.Records![0].Data!).toString('utf8'), 'héllo');
    assert.equal(fast.Records?.[0].ApproximateArrivalTimestamp?.getTime(), 1700000000123);
    assert.equal(fast.$metadata.requestId, 'req-1');
  });

  it('reads empty and caught-up GetRecords answers like the SDK', async () => {
    for (const body of ['{"Records":[],"NextShardIterator":"x","MillisBehindLatest":0}', '{"Records":[],"ChildShards":[],"MillisBehindLatest":0}', '']) {
      const { sdk, fast } = await outputs({ statusCode: 200, body }, getRecords);
      assert.deepStrictEqual(fast, sdk, JSON.stringify(body));
    }
  });

  it('reads a PutRecords answer with failed entries like the SDK', async () => {
    const body = JSON.stringify({
      FailedRecordCount: 1,
      Records: [
        { SequenceNumber: '1', ShardId: 'shardId-000000000000' },
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded', SequenceNumber: null },
      ],
      EncryptionType: 'NONE',
    });
    const { sdk, fast } = await outputs({ statusCode: 200, body }, putRecords);
    assert.deepStrictEqual(fast, sdk);
    assert.equal('SequenceNumber' in fast.Records![1], false, 'null members are left out, as the SDK does');
  });

  it('leaves error answers to the SDK: the same exception', async () => {
    const answer = { statusCode: 400, body: JSON.stringify({ __type: 'ResourceNotFoundException', message: 'Stream s not found' }), headers: { 'x-amzn-errortype': 'ResourceNotFoundException:' } };
    for (const call of [getRecords, putRecords] as Array<(client: KinesisClient) => Promise<unknown>>) {
      const { sdk, fast } = await outputs(answer, (client) => call(client).then(() => assert.fail('resolved'), (error: unknown) => error));
      assert.ok(fast instanceof ResourceNotFoundException);
      assert.equal((fast as Error).name, (sdk as Error).name);
      assert.equal((fast as Error).message, (sdk as Error).message);
    }
  });

  it('rejects an answer that is not a JSON object', () => {
    assert.throws(() => parseGetRecords(Buffer.from('[1]')), SyntaxError);
    assert.throws(() => parsePutRecords(Buffer.from('{"Records":')), SyntaxError);
  });

  it('decodes non-ASCII answers as UTF-8', () => {
    const out = parseGetRecords(Buffer.from(JSON.stringify({ Records: [{ PartitionKey: 'ключ', Data: 'YQ==', ApproximateArrivalTimestamp: 1 }] })));
    assert.deepStrictEqual(out, { Records: [{ PartitionKey: 'ключ', Data: new Uint8Array([0x61]), ApproximateArrivalTimestamp: new Date(1000) }] });
  });
});
