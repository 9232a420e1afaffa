/**
 * kinesis-node-streams: Node.js streams for Amazon Kinesis Data Streams.
 * Public exports only.
 */
export { createKinesisWritable, KinesisWritable } from './writable/kinesis-writable.js';
export type { KinesisWritableOptions, WritableStats } from './writable/kinesis-writable.js';
export type { KinesisEnvelope, RecordData } from './writable/record.js';
export { createKinesisClient } from './client.js';
export type { ClientOptions } from './client.js';
export type { RetryOptions, RetryEvent } from './retry.js';
export {
  AbortError,
  CheckpointError,
  KinesisRequestError,
  KinesisStreamsError,
  LeaseLostError,
  PutRecordsError,
  StreamNotFoundError,
  ValidationError,
} from './errors.js';
export type { FailedRecord } from './errors.js';
export { LIMITS, WRITABLE_DEFAULTS, RETRY_DEFAULTS } from './limits.js';
