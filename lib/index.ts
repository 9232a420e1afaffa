/**
 * kinesis-node-streams: Node.js streams for Amazon Kinesis Data Streams.
 * Public exports only.
 */
export { createKinesisWritable, KinesisWritable } from './writable/kinesis-writable.js';
export type { KinesisWritableOptions, WritableStats } from './writable/kinesis-writable.js';
export type { KinesisEnvelope, RecordData } from './writable/record.js';
export type { RateLimitOptions, SaturatedShard } from './writable/rate-limiter.js';
export type { HotKey } from './writable/hot-keys.js';
export { createKinesisReadable, KinesisReadable } from './readable/kinesis-readable.js';
export type {
  CheckpointEvent,
  KinesisReadableOptions,
  LeaseEvent,
  ReadableStats,
  ShardEndEvent,
  ShardStartEvent,
  ShardStats,
} from './readable/kinesis-readable.js';
export type { KinesisRecord } from './readable/shard-reader.js';
export type { DecodeMeta, DecodeOption } from './readable/decode.js';
export type { InitialPosition, StartPosition, ShardPhase } from './readable/shard-tracker.js';
export { createKinesisHandler, createKinesisRecordHandler } from './lambda/handler.js';
export type { KinesisEventHandler, KinesisHandlerOptions, LambdaContext } from './lambda/handler.js';
export { KinesisEventReadable, kinesisEventReadable } from './lambda/event-readable.js';
export type { KinesisEventReadableOptions } from './lambda/event-readable.js';
export type {
  KinesisBatchItemFailure,
  KinesisBatchResponse,
  LambdaKinesisEvent,
  LambdaKinesisEventRecord,
  LambdaKinesisPayload,
} from './lambda/event.js';
export { MemoryCheckpointStore } from './checkpoint/memory-store.js';
export { FileCheckpointStore } from './checkpoint/file-store.js';
export { DynamoDBLeaseStore, isLeaseManager } from './checkpoint/dynamodb-lease-store.js';
export type { DynamoDBLeaseStoreOptions, LeaseListener, LeaseManager, LeaseShard, LeaseStart } from './checkpoint/dynamodb-lease-store.js';
export { SHARD_END } from './checkpoint/store.js';
export type { Checkpoint, CheckpointStore } from './checkpoint/store.js';
export { aggregate, AggregateBuilder } from './aggregation/aggregate.js';
export type { AggregateOptions, AggregatedRecord, UserRecord } from './aggregation/aggregate.js';
export { deaggregate, deaggregateRecord, isAggregated } from './aggregation/deaggregate.js';
export type { DeaggregatedRecord, DeaggregateResult } from './aggregation/deaggregate.js';
export { createKinesisClient } from './client.js';
export type { ClientOptions } from './client.js';
export type { RetryOptions, RetryEvent } from './retry.js';
export { CHANNELS, isThrottleCode } from './metrics/channels.js';
export type {
  ChannelName,
  CheckpointMessage,
  LeaseGainedMessage,
  LeaseLostMessage,
  LeaseMessage,
  LeasesHeldMessage,
  RecordsReadMessage,
  RecordsRejectedMessage,
  RecordsWrittenMessage,
  RequestEndMessage,
  RequestStartMessage,
  RetryMessage,
  ShardLagMessage,
  ShardMessage,
  ShardStopMessage,
  ThrottleMessage,
} from './metrics/channels.js';
export { instrumentClient, METRICS_MIDDLEWARE_NAME } from './metrics/client-middleware.js';
export { ATTRIBUTES, METRICS, instrument } from './metrics/otel.js';
export type { InstrumentOptions, Instrumentation, MeterLike, MetricAttributes } from './metrics/otel.js';
export {
  AbortError,
  CheckpointError,
  DecodeError,
  KinesisRequestError,
  KinesisStreamsError,
  LeaseLostError,
  PutRecordsError,
  StreamNotFoundError,
  ValidationError,
} from './errors.js';
export type { FailedRecord } from './errors.js';
export { LEASE_DEFAULTS, LIMITS, READABLE_DEFAULTS, WRITABLE_DEFAULTS, RETRY_DEFAULTS } from './limits.js';
