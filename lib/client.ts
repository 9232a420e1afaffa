/**
 * The KinesisClient both streams use: the caller's own client as given, or one built
 * from region / endpoint / credentials. Plain http:// endpoints (local servers) get an
 * HTTP/1.1 NodeHttpHandler, because the SDK's default HTTP/2 handler cannot speak to them.
 */
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { ValidationError } from './errors.js';
import { CLIENT_DEFAULTS } from './limits.js';
import { logger } from './log.js';
import { instrumentClient } from './metrics/client-middleware.js';
import { nonEmptyString } from './options.js';
import { useFastWire } from './wire/fast-json.js';

const log = logger('client');

/** Client options accepted by createKinesisReadable and createKinesisWritable. */
export interface ClientOptions {
  /** A ready client, used as given (its own retry and HTTP settings apply). */
  client?: KinesisClient;
  /** AWS region; default from the SDK's chain (AWS_REGION, profile). */
  region?: string;
  /** Endpoint URL, e.g. http://127.0.0.1:4567 for a local server; default AWS_ENDPOINT_URL_KINESIS or AWS. */
  endpoint?: string;
  /** Credentials or a provider; default: the SDK's default chain (env, profile, SSO, IMDS). */
  credentials?: KinesisClientConfig['credentials'];
  /** Timeout of one HTTP request in ms (clients created here only). Default 30000. */
  requestTimeoutMs?: number;
  /**
   * How PutRecords bodies are written and PutRecords/GetRecords answers read, for clients
   * created here only (a `client` you pass is used as given). `'fast'` (default): the
   * SDK's client and protocol with those two bodies done directly (lib/wire), the same
   * requests and the same output objects at a fraction of the CPU (benchmarks/RESULTS.md,
   * "The wire"). `'sdk'`: the SDK's generic serializer and deserializer for everything.
   */
  wire?: 'fast' | 'sdk';
}

/** What the streams need to know about their client. */
export interface ResolvedClient {
  client: KinesisClient;
  /** True when this package created the client and must destroy it on close. */
  owned: boolean;
}

/**
 * The user's client, or a new one configured from the options. Either way it carries the
 * request middleware of lib/metrics (silent unless someone subscribes to its channels).
 */
export function resolveClient(options: ClientOptions): ResolvedClient {
  if (options.client !== undefined) {
    if (!(options.client instanceof KinesisClient) && typeof (options.client as { send?: unknown }).send !== 'function') {
      throw new ValidationError('client', 'must be a KinesisClient');
    }
    return { client: instrumentClient(options.client, 'kinesis'), owned: false };
  }
  return { client: createKinesisClient(options), owned: true };
}

/** A KinesisClient from region / endpoint / credentials, with an HTTP/1.1 handler for http:// endpoints. */
export function createKinesisClient(options: Omit<ClientOptions, 'client'> = {}): KinesisClient {
  const config: KinesisClientConfig = {
    // Retries are ours (lib/retry.ts): per-entry and per-request, visible as `retry` events.
    maxAttempts: 1,
  };
  if (options.region !== undefined) config.region = nonEmptyString(options.region, 'region');
  const wire = options.wire ?? CLIENT_DEFAULTS.wire;
  if (wire !== 'fast' && wire !== 'sdk') throw new ValidationError('wire', `must be 'fast' or 'sdk', got ${JSON.stringify(wire)}`);
  if (options.credentials !== undefined) config.credentials = options.credentials;
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_KINESIS ?? process.env.AWS_ENDPOINT_URL;
  const requestTimeout = options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs;
  if (options.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(nonEmptyString(options.endpoint, 'endpoint'));
    } catch (cause) {
      if (cause instanceof ValidationError) throw cause;
      throw new ValidationError('endpoint', `is not a URL: ${JSON.stringify(options.endpoint)}`, { cause });
    }
    config.endpoint = url.toString();
  }
  const plainHttp = endpoint !== undefined && endpoint.startsWith('http:');
  if (plainHttp) {
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    config.requestHandler = new NodeHttpHandler({
      connectionTimeout: CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout,
      throwOnRequestTimeout: true,
      // requestTimeout ends when headers arrive: a body that stalls after them needs an idle timeout.
      socketTimeout: requestTimeout,
      httpAgent: new Agent(agentOptions),
    });
  } else {
    // Options for the SDK's default (HTTP/2) handler.
    config.requestHandler = { requestTimeout };
  }
  // Local servers accept any credentials; the SDK chain would otherwise fail with none configured.
  if (plainHttp && config.credentials === undefined && !hasEnvCredentials()) {
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  if (plainHttp && config.region === undefined && process.env.AWS_REGION === undefined && process.env.AWS_DEFAULT_REGION === undefined) {
    config.region = 'us-east-1';
  }
  log('client for %s (http/1.1: %s, wire: %s)', endpoint ?? 'AWS', plainHttp, wire);
  const client = new KinesisClient(config);
  if (wire === 'fast' && !useFastWire(client)) log('fast wire unavailable for this SDK version; using the SDK serde');
  return instrumentClient(client, 'kinesis');
}

function hasEnvCredentials(): boolean {
  return process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
}
