/**
 * Instrumentation points on node:diagnostics_channel: every channel name, the shape of
 * its messages, and the helpers the streams call to publish. A helper checks
 * `hasSubscribers` before it builds anything, so with nobody listening a publish point
 * costs one property read.
 *
 * Messages carry names, counts, durations and error codes only: never record data,
 * partition keys, shard iterators, error messages (service messages may quote input) or
 * credentials.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { KinesisStreamsError, PutRecordsError } from '../errors.js';
import { errorCode, isThrottlingCode } from '../retry.js';

/** Every channel this package publishes to, `kinesis-node-streams:<area>:<event>`. */
export const CHANNELS = {
  /** {@link RequestStartMessage}: a Kinesis or DynamoDB request (one HTTP attempt) begins. */
  requestStart: 'kinesis-node-streams:request:start',
  /** {@link RequestEndMessage}: it ended, with its duration and outcome. */
  requestEnd: 'kinesis-node-streams:request:end',
  /** {@link RecordsWrittenMessage}: records PutRecords stored, per stream and shard. */
  recordsWritten: 'kinesis-node-streams:records:written',
  /** {@link RecordsRejectedMessage}: PutRecords entries rejected, per stream and error code. */
  recordsRejected: 'kinesis-node-streams:records:rejected',
  /** {@link RecordsReadMessage}: records pulled from Kinesis for the consumer, per stream and shard. */
  recordsRead: 'kinesis-node-streams:records:read',
  /** {@link ThrottleMessage}: a throttled request, or throttled PutRecords entries. */
  throttle: 'kinesis-node-streams:client:throttle',
  /** {@link RetryMessage}: a failed call will be tried again after a backoff. */
  retry: 'kinesis-node-streams:client:retry',
  /** {@link ShardMessage}: a reader began reading a shard. */
  shardStart: 'kinesis-node-streams:shard:start',
  /** {@link ShardLagMessage}: how far behind the tip of its shard a read was. */
  shardLag: 'kinesis-node-streams:shard:lag',
  /** {@link ShardStopMessage}: a reader stopped reading a shard. */
  shardStop: 'kinesis-node-streams:shard:stop',
  /** {@link LeaseGainedMessage}: this worker took a lease (free, expired or stolen). */
  leaseGained: 'kinesis-node-streams:lease:gained',
  /** {@link LeaseLostMessage}: another worker holds a lease this worker held. */
  leaseLost: 'kinesis-node-streams:lease:lost',
  /** {@link LeaseMessage}: this worker gave a lease up (shutdown). */
  leaseReleased: 'kinesis-node-streams:lease:released',
  /** {@link LeasesHeldMessage}: leases held by a worker, after each lease pass. */
  leasesHeld: 'kinesis-node-streams:lease:held',
  /** {@link CheckpointMessage}: a checkpoint was written to the store (or failed). */
  checkpoint: 'kinesis-node-streams:checkpoint:write',
} as const;

export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

/** The service a request went to. */
export type Service = 'kinesis' | 'dynamodb';

/** `kinesis-node-streams:request:start`. */
export interface RequestStartMessage {
  /** Pairs a start with its end; unique in the process. */
  id: number;
  service: Service;
  /** The API operation: PutRecords, GetRecords, ListShards, UpdateItem, ... */
  operation: string;
  /** The stream, when the request names one (GetRecords: known from its iterator's shard). */
  streamName: string | undefined;
  shardId: string | undefined;
  /** DynamoDB: the table. */
  tableName: string | undefined;
}

/** `kinesis-node-streams:request:end`. */
export interface RequestEndMessage extends RequestStartMessage {
  durationMs: number;
  /** Undefined on success; else the AWS error code (exception name) or the Node error code. */
  errorCode: string | undefined;
  httpStatusCode: number | undefined;
  /** The service refused the request for its rate (see {@link isThrottleCode}). */
  throttled: boolean;
}

/** `kinesis-node-streams:records:written`: one message per shard of each PutRecords answer. */
export interface RecordsWrittenMessage {
  streamName: string;
  /** The shard the records landed on, as PutRecords reported it. */
  shardId: string | undefined;
  /** User records stored (each record of a KPL aggregate counts). */
  records: number;
  /** Kinesis records stored (an aggregate counts once). */
  kinesisRecords: number;
  /** Bytes stored: data + partition keys of the Kinesis records. */
  bytes: number;
}

/** `kinesis-node-streams:records:rejected`: one message per error code of each PutRecords answer. */
export interface RecordsRejectedMessage {
  streamName: string;
  errorCode: string;
  records: number;
  kinesisRecords: number;
  throttled: boolean;
}

/** `kinesis-node-streams:records:read`: one message per batch pulled from Kinesis (a GetRecords answer or an EFO event), as handed to the consumer's queue. */
export interface RecordsReadMessage {
  streamName: string;
  shardId: string;
  /** GetRecords or SubscribeToShard. */
  operation: string;
  /** The reader's applicationName, else its EFO consumerName. */
  consumerGroup: string | undefined;
  records: number;
  /** Bytes of record data. */
  bytes: number;
}

/** `kinesis-node-streams:client:throttle`. */
export interface ThrottleMessage {
  service: Service;
  operation: string;
  streamName: string | undefined;
  shardId: string | undefined;
  tableName: string | undefined;
  errorCode: string;
  /** 'request': the whole request was refused; 'record': PutRecords entries were. */
  scope: 'request' | 'record';
  /** 1 for a request; the number of entries for 'record'. */
  count: number;
}

/** Who retries. */
export type RetrySource = 'reader' | 'writer' | 'lease';

/** `kinesis-node-streams:client:retry`: the same data as the streams' `retry` events, with the error reduced to its code. */
export interface RetryMessage {
  source: RetrySource;
  operation: string;
  streamName: string | undefined;
  shardId: string | undefined;
  tableName: string | undefined;
  /** The attempt that failed, 1 for the first. */
  attempt: number;
  delayMs: number;
  errorCode: string;
  /** Writer: the records sent again. */
  records: number | undefined;
}

/** `kinesis-node-streams:shard:start`. */
export interface ShardMessage {
  streamName: string;
  shardId: string;
  consumerGroup: string | undefined;
}

/** `kinesis-node-streams:shard:lag`: after every GetRecords answer or EFO event. */
export interface ShardLagMessage extends ShardMessage {
  millisBehindLatest: number;
}

/** `kinesis-node-streams:shard:stop`. */
export interface ShardStopMessage extends ShardMessage {
  /** 'end': read to SHARD_END; 'leaseLost': another worker holds it; 'closed': the reader was destroyed. */
  reason: 'end' | 'leaseLost' | 'closed';
}

/** `kinesis-node-streams:lease:released` (and the base of the other lease messages). */
export interface LeaseMessage {
  tableName: string;
  workerId: string;
  leaseKey: string;
  streamName: string;
  shardId: string;
  /** The reader's applicationName, when it namespaces its checkpoints. */
  consumerGroup: string | undefined;
}

/** `kinesis-node-streams:lease:gained`. */
export interface LeaseGainedMessage extends LeaseMessage {
  /** Taken from a live worker towards an even split (else it was free or expired). */
  stolen: boolean;
  previousOwner: string | undefined;
}

/** `kinesis-node-streams:lease:lost`. */
export interface LeaseLostMessage extends LeaseMessage {
  /** 'taken': the table names another owner; 'notRenewed': renewals failed for failoverTimeMs. */
  reason: 'taken' | 'notRenewed';
}

/** `kinesis-node-streams:lease:held`. */
export interface LeasesHeldMessage {
  tableName: string;
  workerId: string;
  held: number;
  /** The worker stopped (released its leases): it reports no more. */
  stopped: boolean;
}

/** `kinesis-node-streams:checkpoint:write`. */
export interface CheckpointMessage {
  streamName: string;
  shardId: string;
  consumerGroup: string | undefined;
  sequenceNumber: string;
  subSequenceNumber: number | undefined;
  durationMs: number;
  /** Undefined on success. */
  errorCode: string | undefined;
}

const requestStart = diagnosticsChannel.channel(CHANNELS.requestStart);
const requestEnd = diagnosticsChannel.channel(CHANNELS.requestEnd);
const recordsWritten = diagnosticsChannel.channel(CHANNELS.recordsWritten);
const recordsRejected = diagnosticsChannel.channel(CHANNELS.recordsRejected);
const recordsRead = diagnosticsChannel.channel(CHANNELS.recordsRead);
const throttle = diagnosticsChannel.channel(CHANNELS.throttle);
const retry = diagnosticsChannel.channel(CHANNELS.retry);
const shardStart = diagnosticsChannel.channel(CHANNELS.shardStart);
const shardLag = diagnosticsChannel.channel(CHANNELS.shardLag);
const shardStop = diagnosticsChannel.channel(CHANNELS.shardStop);
const leaseGained = diagnosticsChannel.channel(CHANNELS.leaseGained);
const leaseLost = diagnosticsChannel.channel(CHANNELS.leaseLost);
const leaseReleased = diagnosticsChannel.channel(CHANNELS.leaseReleased);
const leasesHeld = diagnosticsChannel.channel(CHANNELS.leasesHeld);
const checkpoint = diagnosticsChannel.channel(CHANNELS.checkpoint);

/**
 * Refusals for a rate that lib/retry.ts's isThrottlingCode leaves out on purpose (the
 * writer's per-shard backoff keys on it): KMS's own limit and generic SDK names. For the
 * metrics they are throttles all the same.
 */
const OTHER_THROTTLE_CODES = new Set(['KMSThrottlingException', 'RequestThrottled', 'RequestThrottledException']);

/** True when an error code says the service refused the call for its rate. */
export function isThrottleCode(code: string | undefined): boolean {
  return code !== undefined && (isThrottlingCode(code) || OTHER_THROTTLE_CODES.has(code));
}

// ---- requests (lib/metrics/client-middleware.ts) ----------------------------------

/** True when a request publish point has a listener (the middleware skips its work otherwise). */
export function requestsObserved(): boolean {
  return requestStart.hasSubscribers || requestEnd.hasSubscribers || throttle.hasSubscribers;
}

export function publishRequestStart(message: RequestStartMessage): void {
  if (requestStart.hasSubscribers) requestStart.publish(message);
}

export function publishRequestEnd(message: RequestEndMessage): void {
  if (requestEnd.hasSubscribers) requestEnd.publish(message);
  if (message.throttled && throttle.hasSubscribers) {
    throttle.publish({
      service: message.service,
      operation: message.operation,
      streamName: message.streamName,
      shardId: message.shardId,
      tableName: message.tableName,
      errorCode: message.errorCode ?? 'Throttled',
      scope: 'request',
      count: 1,
    } satisfies ThrottleMessage);
  }
}

// ---- writer -----------------------------------------------------------------------

/** What publishPutRecords needs of a sent record (the writer's PendingRecord). */
interface SentRecord {
  /** Data + partition key bytes. */
  readonly size: number;
  /** The user records of a KPL aggregate. */
  readonly members?: readonly unknown[];
}

/** What publishPutRecords needs of a PutRecords result entry. */
interface ResultEntry {
  SequenceNumber?: string;
  ShardId?: string;
  ErrorCode?: string;
}

/**
 * One PutRecords answer: the records stored per shard, the entries rejected per error
 * code, and the throttled ones. `records[i]` was answered by `results[i]`. The messages
 * are built while counting (one object per shard, not per record).
 */
export function publishPutRecords(streamName: string, records: readonly SentRecord[], results: readonly (ResultEntry | undefined)[]): void {
  if (!recordsWritten.hasSubscribers && !recordsRejected.hasSubscribers && !throttle.hasSubscribers) return;
  // Kinesis shard ids are found by number in an array, not by hashing each answer's fresh
  // ShardId string: this loop runs once per record written. Anything else goes to a Map.
  const slots = (slotOfShard ??= new Int32Array(INDEXED_SHARDS));
  const stored: RecordsWrittenMessage[] = [];
  const touched: number[] = [];
  let otherShards: Map<string | undefined, RecordsWrittenMessage> | undefined;
  let rejected: Map<string, RecordsRejectedMessage> | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const result = results[i];
    const users = record.members === undefined ? 1 : record.members.length;
    if (result !== undefined && result.ErrorCode === undefined && result.SequenceNumber !== undefined) {
      const shardId = result.ShardId;
      const n = shardNumber(shardId);
      let message: RecordsWrittenMessage | undefined;
      if (typeof n === 'number' && n < INDEXED_SHARDS) {
        const slot = slots[n];
        if (slot === 0) {
          touched.push(n);
          slots[n] = stored.push({ streamName, shardId: (shardIdNames[n] ??= shardId as string), records: users, kinesisRecords: 1, bytes: record.size });
          continue;
        }
        message = stored[slot - 1];
      } else {
        otherShards ??= new Map();
        message = otherShards.get(shardId);
        if (message === undefined) {
          otherShards.set(shardId, { streamName, shardId, records: users, kinesisRecords: 1, bytes: record.size });
          continue;
        }
      }
      message.records += users;
      message.kinesisRecords++;
      message.bytes += record.size;
    } else {
      const errorCode = result?.ErrorCode ?? 'MissingResult';
      rejected ??= new Map();
      const message = rejected.get(errorCode);
      if (message === undefined) rejected.set(errorCode, { streamName, errorCode, records: users, kinesisRecords: 1, throttled: isThrottleCode(errorCode) });
      else {
        message.records += users;
        message.kinesisRecords++;
      }
    }
  }
  for (const n of touched) slots[n] = 0;
  if (recordsWritten.hasSubscribers) {
    for (const message of stored) recordsWritten.publish(message);
    if (otherShards !== undefined) for (const message of otherShards.values()) recordsWritten.publish(message);
  }
  if (rejected === undefined) return;
  for (const message of rejected.values()) {
    if (recordsRejected.hasSubscribers) recordsRejected.publish(message);
    if (message.throttled && throttle.hasSubscribers) {
      throttle.publish({
        service: 'kinesis',
        operation: 'PutRecords',
        streamName,
        shardId: undefined,
        tableName: undefined,
        errorCode: message.errorCode,
        scope: 'record',
        count: message.kinesisRecords,
      } satisfies ThrottleMessage);
    }
  }
}

/** Shards numbered below this are counted in an array (streams have far fewer; resharding numbers on). */
const INDEXED_SHARDS = 1 << 16;
/** For one publishPutRecords call: shard number → 1 + its message's index (0: none yet). Reset before it returns. */
let slotOfShard: Int32Array | undefined;
/**
 * One string per shard number, so subscribers that key maps by shardId hash one string
 * object per shard instead of a fresh one per answer.
 */
const shardIdNames: string[] = [];
const SHARD_ID_PREFIX = 'shardId-';
const SHARD_ID_LENGTH = SHARD_ID_PREFIX.length + 12;

/** Kinesis shard ids are `shardId-` and 12 digits: `shardId-000000000123` → 123; any other shape (or none) keys by itself. */
export function shardNumber(shardId: string | undefined): number | string | undefined {
  if (shardId === undefined || shardId.length !== SHARD_ID_LENGTH || !shardId.startsWith(SHARD_ID_PREFIX)) return shardId;
  let n = 0;
  for (let i = SHARD_ID_PREFIX.length; i < SHARD_ID_LENGTH; i++) {
    const digit = shardId.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return shardId;
    n = n * 10 + digit;
  }
  return n;
}

// ---- retries ------------------------------------------------------------------------

/** A retry as the streams see it (their `retry` event and where it happened). */
export interface RetryInfo {
  source: RetrySource;
  operation: string;
  streamName?: string;
  shardId?: string;
  tableName?: string;
  attempt: number;
  delayMs: number;
  /** Reduced to its code: messages may quote input. */
  error: unknown;
  records?: number;
}

export function publishRetry(info: RetryInfo): void {
  if (!retry.hasSubscribers) return;
  retry.publish({
    source: info.source,
    operation: info.operation,
    streamName: info.streamName,
    shardId: info.shardId,
    tableName: info.tableName,
    attempt: info.attempt,
    delayMs: info.delayMs,
    errorCode: retryErrorCode(info.error),
    records: info.records,
  } satisfies RetryMessage);
}

/** The service's code behind an error of this package (a rejected entry's, or the cause's). */
export function retryErrorCode(error: unknown): string {
  if (error instanceof PutRecordsError && error.failedRecords.length > 0) return error.failedRecords[0].errorCode;
  if (error instanceof KinesisStreamsError && error.cause !== undefined) return errorCode(error.cause);
  return errorCode(error);
}

// ---- reader -------------------------------------------------------------------------

export function publishRecordsRead(
  streamName: string,
  shardId: string,
  operation: string,
  consumerGroup: string | undefined,
  records: number,
  bytes: number,
): void {
  if (recordsRead.hasSubscribers) recordsRead.publish({ streamName, shardId, operation, consumerGroup, records, bytes } satisfies RecordsReadMessage);
}

export function publishShardStart(streamName: string, shardId: string, consumerGroup: string | undefined): void {
  if (shardStart.hasSubscribers) shardStart.publish({ streamName, shardId, consumerGroup } satisfies ShardMessage);
}

export function publishShardLag(streamName: string, shardId: string, consumerGroup: string | undefined, millisBehindLatest: number | undefined): void {
  if (millisBehindLatest !== undefined && shardLag.hasSubscribers) {
    shardLag.publish({ streamName, shardId, consumerGroup, millisBehindLatest } satisfies ShardLagMessage);
  }
}

export function publishShardStop(streamName: string, shardId: string, consumerGroup: string | undefined, reason: ShardStopMessage['reason']): void {
  if (shardStop.hasSubscribers) shardStop.publish({ streamName, shardId, consumerGroup, reason } satisfies ShardStopMessage);
}

/** True when someone listens for checkpoints (the reader then times its writes). */
export function checkpointsObserved(): boolean {
  return checkpoint.hasSubscribers;
}

export function publishCheckpoint(message: CheckpointMessage): void {
  if (checkpoint.hasSubscribers) checkpoint.publish(message);
}

// ---- leases ---------------------------------------------------------------------------

/** Where a lease key's stream and shard are, as the lease store splits it. */
export interface LeaseIdentity {
  tableName: string;
  workerId: string;
  leaseKey: string;
  /** The stream as the reader names it in the store: `applicationName/streamName` when namespaced. */
  streamKey: string;
  shardId: string;
}

/** The reader's `applicationName/streamName` store key split back (stream names cannot hold '/'). */
function leaseMessage(lease: LeaseIdentity): LeaseMessage {
  const slash = lease.streamKey.lastIndexOf('/');
  return {
    tableName: lease.tableName,
    workerId: lease.workerId,
    leaseKey: lease.leaseKey,
    streamName: slash < 0 ? lease.streamKey : lease.streamKey.slice(slash + 1),
    shardId: lease.shardId,
    consumerGroup: slash < 0 ? undefined : lease.streamKey.slice(0, slash),
  };
}

export function publishLeaseGained(lease: LeaseIdentity, stolen: boolean, previousOwner: string | undefined): void {
  if (leaseGained.hasSubscribers) leaseGained.publish({ ...leaseMessage(lease), stolen, previousOwner } satisfies LeaseGainedMessage);
}

export function publishLeaseLost(lease: LeaseIdentity, reason: LeaseLostMessage['reason']): void {
  if (leaseLost.hasSubscribers) leaseLost.publish({ ...leaseMessage(lease), reason } satisfies LeaseLostMessage);
}

export function publishLeaseReleased(lease: LeaseIdentity): void {
  if (leaseReleased.hasSubscribers) leaseReleased.publish(leaseMessage(lease));
}

export function publishLeasesHeld(tableName: string, workerId: string, held: number, stopped: boolean): void {
  if (leasesHeld.hasSubscribers) leasesHeld.publish({ tableName, workerId, held, stopped } satisfies LeasesHeldMessage);
}
