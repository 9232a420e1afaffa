/**
 * Error classes of kinesis-node-streams. Every error has a stable `code` to branch on,
 * `retriable` (would the same call succeed later?) and the underlying `cause`.
 * Messages name the offending field; they never contain record payloads or credentials.
 */

/** Options accepted by every error constructor. */
export interface KinesisStreamsErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

/** Base class of every error this package raises. */
export class KinesisStreamsError extends Error {
  /** Stable machine-readable code, `ERR_KINESIS_*`. */
  readonly code: string;
  /** True when retrying the same operation later may succeed. */
  readonly retriable: boolean;
  /**
   * Set when a writer stopped with this error: every record it had accepted and not
   * stored (queued, in flight, or out of retries).
   */
  failedRecords?: FailedRecord[];

  constructor(message: string, code = 'ERR_KINESIS', options: KinesisStreamsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad options or a bad input item. `field` names the option or item property at fault. */
export class ValidationError extends KinesisStreamsError {
  readonly field: string;

  constructor(field: string, message: string, options: KinesisStreamsErrorOptions = {}) {
    super(`${field}: ${message}`, 'ERR_KINESIS_VALIDATION', options);
    this.field = field;
  }
}

/** One record Kinesis did not store, as reported by PutRecordsError and `failedRecords`. */
export interface FailedRecord<T = unknown> {
  /** The item as it was written to the stream. */
  item: T;
  /** The Kinesis error code of the last attempt, or a code of this package. */
  errorCode: string;
  errorMessage: string;
}

/** Records could not be stored: retries were exhausted or the writer had to stop. */
export class PutRecordsError<T = unknown> extends KinesisStreamsError {
  /** Every record that was not stored, including ones never sent. */
  declare failedRecords: FailedRecord<T>[];

  constructor(message: string, failedRecords: FailedRecord<T>[], options: KinesisStreamsErrorOptions = {}) {
    super(message, 'ERR_KINESIS_PUT_FAILED', options);
    this.failedRecords = failedRecords;
  }
}

/** The stream does not exist (ResourceNotFoundException). */
export class StreamNotFoundError extends KinesisStreamsError {
  readonly streamName: string;

  constructor(streamName: string, options: KinesisStreamsErrorOptions = {}) {
    super(`streamName: stream ${JSON.stringify(streamName)} does not exist`, 'ERR_KINESIS_STREAM_NOT_FOUND', options);
    this.streamName = streamName;
  }
}

/** A checkpoint store failed or holds data it cannot trust. */
export class CheckpointError extends KinesisStreamsError {
  constructor(message: string, options: KinesisStreamsErrorOptions = {}) {
    super(message, 'ERR_KINESIS_CHECKPOINT', options);
  }
}

/** This process no longer holds the lease of a shard. */
export class LeaseLostError extends KinesisStreamsError {
  readonly shardIds: string[];

  constructor(shardIds: string[], options: KinesisStreamsErrorOptions = {}) {
    super(`lease lost for shard(s) ${shardIds.join(', ')}`, 'ERR_KINESIS_LEASE_LOST', options);
    this.shardIds = shardIds;
  }
}

/** A record's data could not be decoded as asked (`decode: 'json'` or a decode function that threw). */
export class DecodeError extends KinesisStreamsError {
  readonly streamName: string;
  readonly shardId: string;
  readonly sequenceNumber: string;

  constructor(streamName: string, shardId: string, sequenceNumber: string, cause: unknown) {
    // Only the cause's name: parser messages quote the data, and payloads never go into messages.
    super(
      `decode: record ${sequenceNumber} of ${streamName}/${shardId} could not be decoded (${cause instanceof Error ? cause.name : typeof cause}; see cause)`,
      'ERR_KINESIS_DECODE',
      { cause },
    );
    this.streamName = streamName;
    this.shardId = shardId;
    this.sequenceNumber = sequenceNumber;
  }
}

/** The operation was aborted by `destroy()` or an AbortSignal. */
export class AbortError extends KinesisStreamsError {
  constructor(message = 'the operation was aborted', options: KinesisStreamsErrorOptions = {}) {
    super(message, 'ABORT_ERR', options);
    this.name = 'AbortError';
  }
}

/** A Kinesis request failed in a way this package does not retry (access denied, ...). */
export class KinesisRequestError extends KinesisStreamsError {
  constructor(operation: string, cause: unknown, retriable = false) {
    super(`${operation} failed: ${describeError(cause)}`, 'ERR_KINESIS_REQUEST', { cause, retriable });
  }
}

/** `name: message` of any thrown value, without payloads. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
