/**
 * Two clients for comparing the fast wire with the SDK's own serde, without a server:
 * requests are captured before they are sent, answers come from a canned HTTP response.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { Readable } from 'node:stream';
import { useFastWire } from '../../../lib/wire/fast-json.js';

export interface Canned {
  statusCode: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** A client answering every request with `answer()` (as a stream body, like NodeHttpHandler), recording request bodies. */
export function cannedClient(fast: boolean, answer: () => Canned, sent: Uint8Array[] = []): KinesisClient {
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        const body = request.body;
        // A copy of the bytes (Buffer.from(adapter) would call the SDK body's string conversion).
        const bytes = body as Uint8Array;
        sent.push(typeof body === 'string' ? Buffer.from(body) : Buffer.from(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
        const a = answer();
        return {
          response: {
            statusCode: a.statusCode,
            headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1', ...a.headers },
            body: Readable.from([Buffer.from(a.body)]),
          },
        };
      },
    } as never,
  });
  if (fast && !useFastWire(client)) throw new Error('fast wire not installed');
  return client;
}
