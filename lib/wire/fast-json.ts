/**
 * The fast wire path of a KinesisClient: the client keeps its own protocol object (the
 * SDK's awsJson1_1), and only two of its methods are wrapped on that one instance:
 * - serializeRequest: the SDK writes the PutRecords request without its Records, and the
 *   entries are appended by lib/wire/put-records-body.ts;
 * - deserializeResponse: successful PutRecords and GetRecords answers are read by
 *   lib/wire/parse-answer.ts.
 * Everything else (every other operation, error answers, endpoint, headers, SigV4,
 * retries, middleware) stays the SDK's. A client whose protocol is not the SDK's
 * awsJson1_1 object (another SDK generation, a test double) is left as it is.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { parseGetRecords, parsePutRecords } from './parse-answer.js';
import { putRecordsBody, type PutRecordsEntryLike } from './put-records-body.js';

/** The protocol's shape relied on here (structural, so no SDK-internal package is imported). */
interface OperationLike {
  name: string;
}
interface RequestLike {
  body?: unknown;
}
interface ResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body?: unknown;
}
interface ContextLike {
  streamCollector?: (body: unknown) => Promise<Uint8Array>;
}
interface ProtocolLike {
  getShapeId?: () => string;
  serializeRequest(operation: OperationLike, input: unknown, context: unknown): Promise<RequestLike>;
  deserializeResponse(operation: OperationLike, context: ContextLike, response: ResponseLike): Promise<unknown>;
  [FAST]?: true;
}

const FAST = Symbol.for('kinesis-node-streams.fastWire');
const AWS_JSON_1_1 = 'aws.protocols#awsJson1_1';

/**
 * Puts the fast PutRecords/GetRecords path on the client's protocol object. Returns
 * false, changing nothing, when the client's protocol is not one this was written for.
 * Idempotent.
 */
export function useFastWire(client: KinesisClient): boolean {
  const config = (client as unknown as { config?: { protocol?: unknown } }).config;
  const protocol = config?.protocol as ProtocolLike | undefined;
  if (
    protocol === undefined ||
    protocol === null ||
    typeof protocol !== 'object' ||
    typeof protocol.serializeRequest !== 'function' ||
    typeof protocol.deserializeResponse !== 'function' ||
    typeof protocol.getShapeId !== 'function' ||
    protocol.getShapeId() !== AWS_JSON_1_1
  ) {
    return false;
  }
  if (protocol[FAST] === true) return true;
  const serialize = protocol.serializeRequest.bind(protocol);
  const deserialize = protocol.deserializeResponse.bind(protocol);
  const metadata = (protocol as { deserializeMetadata?: (r: ResponseLike) => unknown }).deserializeMetadata?.bind(protocol) ?? responseMetadata;

  protocol.serializeRequest = async (operation, input, context) => {
    if (operation.name !== 'PutRecords' || input === null || typeof input !== 'object') return serialize(operation, input, context);
    const { Records, ...rest } = input as { Records?: unknown };
    if (!Array.isArray(Records)) return serialize(operation, input, context);
    const request = await serialize(operation, rest, context);
    const head = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    const body = head instanceof Uint8Array ? putRecordsBody(head, Records as PutRecordsEntryLike[]) : undefined;
    // Entries of another shape: the SDK's own serializer, with its own validation.
    if (body === undefined) return serialize(operation, input, context);
    request.body = body;
    return request;
  };

  protocol.deserializeResponse = async (operation, context, response) => {
    const name = operation.name;
    if ((name !== 'GetRecords' && name !== 'PutRecords') || response.statusCode >= 300) return deserialize(operation, context, response);
    const bytes = await collect(response.body, context);
    const output = name === 'GetRecords' ? parseGetRecords(bytes) : parsePutRecords(bytes);
    output.$metadata = metadata(response);
    return output;
  };
  protocol[FAST] = true;
  return true;
}

/** The body as bytes: the SDK's own collector when the context has one. */
async function collect(body: unknown, context: ContextLike): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof context.streamCollector === 'function') return context.streamCollector(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** What the SDK's protocols put in $metadata (used only if the protocol object has no such method). */
function responseMetadata(response: ResponseLike): Record<string, unknown> {
  return {
    httpStatusCode: response.statusCode,
    requestId: response.headers['x-amzn-requestid'] ?? response.headers['x-amzn-request-id'] ?? response.headers['x-amz-request-id'],
    extendedRequestId: response.headers['x-amz-id-2'],
    cfId: response.headers['x-amz-cf-id'],
  };
}
