import assert from 'node:assert/strict';
import { PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { putRecordsBody } from '../../../lib/wire/put-records-body.js';
import { cannedClient } from './sdk-twin.js';

const OK = (n: number): string => JSON.stringify({ FailedRecordCount: 0, Records: Array.from({ length: n }, (_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-000000000000' })) });

/** The request body each client sends for the same input. */
async function bodies(input: PutRecordsCommandInput): Promise<{ sdk: Buffer; fast: Buffer }> {
  const out: Record<string, Buffer> = {};
  for (const fast of [false, true]) {
    const sent: Uint8Array[] = [];
    const client = cannedClient(fast, () => ({ statusCode: 200, body: OK(input.Records?.length ?? 0) }), sent);
    await client.send(new PutRecordsCommand(input));
    client.destroy();
    out[fast ? 'fast' : 'sdk'] = Buffer.from(sent[0]);
  }
  return out as { sdk: Buffer; fast: Buffer };
}

describe('wire: PutRecords body', () => {
  it('means the same JSON as the SDK serializer writes, for awkward keys and data', async () => {
    const whole = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    const { sdk, fast } = await bodies({
      StreamName: 'strëam"\\name',
      StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/x',
      Records: [
        { Data: Buffer.from('héllo wörld'), PartitionKey: 'ké"y\n\u2028😀' },
        { Data: new Uint8Array(0), PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211455' },
        { Data: new Uint8Array(whole.buffer, whole.byteOffset + 2, 5), PartitionKey: '\u0000\u001f' },
        { Data: Buffer.alloc(3000, 7), PartitionKey: 'x'.repeat(256), ExplicitHashKey: undefined },
      ],
    });
    assert.deepEqual(JSON.parse(fast.toString('utf8')), JSON.parse(sdk.toString('utf8')));
    assert.notDeepEqual(fast, sdk, 'the fast path wrote the body (member order differs)');
  });

  it('writes 500 entries exactly, with nothing after the closing brace', async () => {
    const Records = Array.from({ length: 500 }, (_, i) => ({ Data: Buffer.alloc(i % 7, i), PartitionKey: `pk-${i}`, ...(i % 3 === 0 ? { ExplicitHashKey: String(i) } : {}) }));
    const { sdk, fast } = await bodies({ StreamName: 's', Records });
    assert.equal(fast[fast.length - 1], 0x7d);
    assert.deepEqual(JSON.parse(fast.toString('utf8')), JSON.parse(sdk.toString('utf8')));
  });

  it('appends to an empty head and sizes it exactly', () => {
    const body = putRecordsBody(Buffer.from('{}'), [{ Data: Buffer.from('a'), PartitionKey: 'k' }]);
    assert.equal(body?.toString('utf8'), '{"Records":[{"Data":"YQ==","PartitionKey":"k"}]}');
    const withHead = putRecordsBody(Buffer.from('{"StreamName":"s"}'), []);
    assert.equal(withHead?.toString('utf8'), '{"StreamName":"s","Records":[]}');
  });

  it('leaves entries of another shape to the SDK (undefined)', () => {
    assert.equal(putRecordsBody(Buffer.from('{}'), [{ Data: 'text', PartitionKey: 'k' }]), undefined);
    assert.equal(putRecordsBody(Buffer.from('{}'), [{ Data: Buffer.from('a') }]), undefined);
    assert.equal(putRecordsBody(Buffer.from('{}'), [{ Data: Buffer.from('a'), PartitionKey: 'k', ExplicitHashKey: 12 }]), undefined);
    assert.equal(putRecordsBody(Buffer.from('[]'), []), undefined);
  });

  it('lets the SDK validate and send entries it would not write itself', async () => {
    // A string Data is not a blob the fast path writes: the SDK's serializer handles it as it always did.
    const { sdk, fast } = await bodies({ StreamName: 's', Records: [{ Data: 'plain' as unknown as Uint8Array, PartitionKey: 'k' }] });
    assert.deepEqual(fast, sdk);
  });
});
