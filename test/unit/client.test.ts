import assert from 'node:assert/strict';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createKinesisClient, resolveClient } from '../../lib/client.js';
import { ValidationError } from '../../lib/errors.js';

describe('client', () => {
  it('uses an HTTP/1.1 handler for plain http:// endpoints, with local credentials and region', async () => {
    const client = createKinesisClient({ endpoint: 'http://127.0.0.1:4567' });
    try {
      assert.ok(client.config.requestHandler instanceof NodeHttpHandler);
      assert.equal(await client.config.region(), process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1');
      const endpoint = await client.config.endpoint?.();
      assert.equal(endpoint?.hostname, '127.0.0.1');
      assert.equal(endpoint?.port, 4567);
    } finally {
      client.destroy();
    }
  });

  it('keeps the SDK default handler and credential chain for AWS endpoints', async () => {
    const client = createKinesisClient({ region: 'eu-west-1' });
    try {
      assert.equal(client.config.requestHandler instanceof NodeHttpHandler, false);
      assert.equal(await client.config.region(), 'eu-west-1');
      assert.equal(await client.config.maxAttempts(), 1, 'retries are ours');
    } finally {
      client.destroy();
    }
  });

  it('passes explicit credentials through', async () => {
    const client = createKinesisClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' } });
    try {
      const credentials = await client.config.credentials();
      assert.equal(credentials.accessKeyId, 'AKID');
    } finally {
      client.destroy();
    }
  });

  it('uses a given client as is and does not own it', () => {
    const client = new KinesisClient({ region: 'us-east-1' });
    const resolved = resolveClient({ client, region: 'ignored' });
    assert.equal(resolved.client, client);
    assert.equal(resolved.owned, false);
    client.destroy();
  });

  it('rejects a bad endpoint or region naming the field', () => {
    assert.throws(() => createKinesisClient({ endpoint: 'not a url' }), (e: unknown) => e instanceof ValidationError && e.field === 'endpoint');
    assert.throws(() => createKinesisClient({ region: '' }), (e: unknown) => e instanceof ValidationError && e.field === 'region');
    assert.throws(() => resolveClient({ client: {} as KinesisClient }), (e: unknown) => e instanceof ValidationError && e.field === 'client');
  });
});
