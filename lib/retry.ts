/**
 * Retry policy shared by the reader and the writer: which failures are worth retrying,
 * and how long to wait. The delay is the SDK's own full-jitter exponential backoff
 * (random in [0, base·2^n], as in @aws-sdk/util-retry, whose backoff function is not
 * exported), with our caps. The SDK's StandardRetryStrategy is not used as is: its
 * retry quota gives up under sustained throttling, and a writer that never drops a
 * record must keep backing off instead.
 */
import { MAXIMUM_RETRY_DELAY } from '@aws-sdk/util-retry';
import { AbortError, KinesisRequestError, KinesisStreamsError, StreamNotFoundError } from './errors.js';
import { RETRY_DEFAULTS } from './limits.js';
import { nonNegativeNumber, positiveInteger } from './options.js';

/** Retry options accepted by both streams. */
export interface RetryOptions {
  /** Attempts per record or request, the first one included. Default 10. */
  maxAttempts?: number;
  /** Base of the exponential backoff, in ms. Default 100. */
  baseDelayMs?: number;
  /** Cap of one backoff delay, in ms. Default 5000. */
  maxDelayMs?: number;
}

/** Payload of the `retry` event of both streams. */
export interface RetryEvent {
  operation: string;
  /** The attempt that failed, 1 for the first. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Resolved retry policy. */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;

  constructor(options: RetryOptions = {}, field = 'retry') {
    this.maxAttempts = positiveInteger(options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts, `${field}.maxAttempts`);
    this.baseDelayMs = nonNegativeNumber(options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs, `${field}.baseDelayMs`);
    this.maxDelayMs = nonNegativeNumber(options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs, `${field}.maxDelayMs`);
  }

  /** Delay before the next try after `attempt` (1-based) failed: random in [0, base·2^(attempt-1)], capped. */
  delayFor(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, MAXIMUM_RETRY_DELAY, this.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(Math.random() * ceiling);
  }

  /** True when another attempt is allowed after `attempt` failed. */
  canRetry(attempt: number): boolean {
    return attempt < this.maxAttempts;
  }
}

/** Kinesis error codes that mean "try again later" (per request or per PutRecords entry). */
const RETRIABLE_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'RequestTimeTooSkewed',
]);

/** Node network error codes that mean the request may not have reached the service. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The Kinesis error code (SDK exception name) of a thrown value. */
export function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const e = error as ErrorLike;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.code === 'string') return e.code;
  return 'UnknownError';
}

/** True when a failed request is worth retrying: throttling, 5xx, timeouts, network errors. */
export function isRetriableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as ErrorLike;
  if (typeof e.name === 'string' && RETRIABLE_CODES.has(e.name)) return true;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || RETRIABLE_CODES.has(e.code))) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  // A response the SDK could not parse (truncated body, HTML from a proxy) carries no status.
  if (e.name === 'SyntaxError' || (error instanceof Error && /deserializ|socket hang up|aborted/i.test(error.message))) {
    return !(e.name === 'AbortError');
  }
  return false;
}

/** True for per-entry PutRecords error codes worth retrying. KMS configuration errors are not. */
export function isRetriableEntryCode(code: string): boolean {
  return RETRIABLE_CODES.has(code) || !code.startsWith('KMS');
}

/** Codes of a refusal for going over a rate (a shard's throughput, an account's API limit). */
const THROTTLING_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** True when `code` (an SDK exception name or a PutRecords entry's ErrorCode) means "too fast". */
export function isThrottlingCode(code: string): boolean {
  return THROTTLING_CODES.has(code);
}

/** Waits `ms` (a backoff, a poll interval); an abort clears the timer and rejects with AbortError. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new AbortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error that stops a stream after a failed request, typed and marked retriable or not:
 * ResourceNotFoundException is a StreamNotFoundError, the rest a KinesisRequestError
 * naming the operation and where it ran. Errors of this package pass through.
 */
export function classifyError(operation: string, error: unknown, streamName: string, shardId?: string): KinesisStreamsError {
  if (error instanceof KinesisStreamsError) return error;
  if (errorCode(error) === 'ResourceNotFoundException') return new StreamNotFoundError(streamName, { cause: error });
  const where = shardId === undefined ? streamName : `${streamName}/${shardId}`;
  return new KinesisRequestError(`${operation} on ${where}`, error, isRetriableError(error));
}
