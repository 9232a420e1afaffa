import assert from 'node:assert/strict';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../../lib/client.js';
import { ValidationError } from '../../../lib/errors.js';
import { useFastWire } from '../../../lib/wire/fast-json.js';

const FAST = Symbol.for('kinesis-node-streams.fastWire');
const isFast = (client: KinesisClient): boolean => (client.config as unknown as { protocol: Record<symbol, unknown> }).protocol[FAST] === true;

describe('wire: useFastWire', () => {
  it('is on for clients created here unless wire is sdk', () => {
    const fast = createKinesisClient({ endpoint: 'http://127.0.0.1:4567' });
    const sdk = createKinesisClient({ endpoint: 'http://127.0.0.1:4567', wire: 'sdk' });
    try {
      assert.equal(isFast(fast), true);
      assert.equal(isFast(sdk), false);
    } finally {
      fast.destroy();
      sdk.destroy();
    }
  });

  it('rejects an unknown wire naming the field', () => {
    assert.throws(() => createKinesisClient({ wire: 'cbor' as 'fast' }), (e: unknown) => e instanceof ValidationError && e.field === 'wire');
  });

  it('changes only the one client, and only once', () => {
    const a = new KinesisClient({ region: 'us-east-1' });
    const b = new KinesisClient({ region: 'us-east-1' });
    try {
      assert.equal(useFastWire(a), true);
      const wrapped = (a.config as unknown as { protocol: { serializeRequest: unknown } }).protocol.serializeRequest;
      assert.equal(useFastWire(a), true);
      assert.equal((a.config as unknown as { protocol: { serializeRequest: unknown } }).protocol.serializeRequest, wrapped);
      assert.equal(isFast(b), false);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('leaves clients of another protocol or shape alone', () => {
    assert.equal(useFastWire({} as KinesisClient), false);
    assert.equal(useFastWire({ config: {} } as unknown as KinesisClient), false);
    const other = { getShapeId: () => 'smithy.protocols#rpcv2Cbor', serializeRequest: () => undefined, deserializeResponse: () => undefined };
    assert.equal(useFastWire({ config: { protocol: other } } as unknown as KinesisClient), false);
    assert.equal((other as Record<symbol, unknown>)[FAST], undefined);
  });
});
