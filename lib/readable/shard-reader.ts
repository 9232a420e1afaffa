/**
 * One shard's polling loop: get an iterator, GetRecords, hand the batch to the merger,
 * wait until the merger has pushed all of it (backpressure) and the consumer wants
 * more, pace the next call, repeat until SHARD_END. Expired iterators are renewed from
 * the last delivered record; throttling, 5xx and network errors are retried with backoff.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type ChildShard,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { HashKeyRange } from '../aggregation/hash-key.js';
import { AbortError, KinesisRequestError, KinesisStreamsError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { logger } from '../log.js';
import { classifyError, delay, errorCode, isRetriableError, isThrottlingCode, type RetryEvent, type RetryPolicy } from '../retry.js';
import { TokenBucket } from '../token-bucket.js';
import type { Decoder } from './decode.js';
import { RecordBatch, type BatchShard } from './record-batch.js';
import type { StartPosition } from './shard-tracker.js';

const log = logger('shard');

export type { KinesisRecord } from './record-batch.js';

/** What a shard reader needs from the Readable that owns it. */
export interface ShardReaderHost<T> {
  readonly client: KinesisClient;
  readonly decode: Decoder<T>;
  readonly maxRecordsPerCall: number;
  readonly pollIntervalMs: number;
  /** Share of the shard's read limits (calls and bytes per second) this reader takes, in (0, 1]. */
  readonly readShare: number;
  readonly retryPolicy: RetryPolicy;
  readonly signal: AbortSignal;
  /** Split KPL aggregated records into their user records. */
  readonly deaggregate: boolean;
  /** Resolves when every record of the batch has been pushed to the consumer. */
  deliver(batch: RecordBatch<T>): Promise<void>;
  /** Resolves when the consumer is not applying backpressure. */
  whenFlowing(): Promise<void>;
  /** Called once the shard's first iterator is obtained: reading has begun at `position`. */
  started(position: StartPosition): void;
  /** Called after each GetRecords answer. */
  observe(millisBehindLatest: number | undefined): void;
  retry(event: RetryEvent): void;
}

/** What a shard reader knows of its shard. */
export interface ShardInfo {
  streamName: string;
  shardId: string;
  /** Set for shards created by resharding: sub-records outside it are dropped, as the KCL does. */
  filterRange: HashKeyRange | undefined;
}

/** How a shard read ended. */
export interface ShardEnd {
  /** Children announced in the last GetRecords answer (not every server sends them). */
  childShards: ChildShard[];
}

const MIN_CALL_INTERVAL_MS = 1000 / LIMITS.shardGetRecordsCallsPerSecond;

/** Bytes of a GetRecords answer as the shard's read limit counts them (data + partition keys). */
function answerBytes(raw: readonly _Record[]): number {
  let bytes = 0;
  for (const r of raw) bytes += (r.Data?.byteLength ?? 0) + (r.PartitionKey?.length ?? 0);
  return bytes;
}

export class ShardReader<T> {
  protected lastSequenceNumber: string | undefined;
  private lastCallAt = Number.NEGATIVE_INFINITY;
  protected failures = 0;
  /** When LATEST was asked: a renewed iterator must not skip what came since. */
  private firstIteratorAt: Date | undefined;
  /** Resuming inside an aggregate: sub-records of this record up to `subSequenceNumber` are done. */
  private skipThrough: { sequenceNumber: string; subSequenceNumber: number } | undefined;
  readonly streamName: string;
  readonly shardId: string;
  private readonly batchShard: BatchShard<T>;

  constructor(
    protected readonly host: ShardReaderHost<T>,
    shard: ShardInfo,
    protected readonly position: StartPosition,
  ) {
    this.streamName = shard.streamName;
    this.shardId = shard.shardId;
    this.batchShard = { streamName: shard.streamName, shardId: shard.shardId, filterRange: shard.filterRange, deaggregate: host.deaggregate, decode: host.decode };
    if (position.type === 'AFTER_SEQUENCE_NUMBER' && position.subSequenceNumber !== undefined) {
      this.skipThrough = { sequenceNumber: position.sequenceNumber, subSequenceNumber: position.subSequenceNumber };
    }
  }

  /** Reads the shard to its end. Rejects with the error that should stop the stream, or AbortError. */
  async run(): Promise<ShardEnd> {
    return this.poll(this.position);
  }

  /** The shard was seen closed by discovery. Polling finds the end by itself. */
  markClosed(): void {}

  /** Once, when reading has begun. */
  protected reportStarted(): void {
    if (this.startReported) return;
    this.startReported = true;
    this.host.started(this.position);
  }

  private startReported = false;

  /** The GetRecords loop from `position` to SHARD_END. */
  protected async poll(position: StartPosition): Promise<ShardEnd> {
    let iterator = await this.getIterator(position);
    this.reportStarted();
    // The shard's read limits, our share of them: calls per second, and bytes per second
    // (a large answer leaves a debt to wait out before the next call, as the service counts it).
    const callIntervalMs = MIN_CALL_INTERVAL_MS / this.host.readShare;
    const readRate = LIMITS.shardReadBytesPerSecond * this.host.readShare;
    const readBytes = new TokenBucket(readRate, readRate, Date.now());
    for (;;) {
      await this.host.whenFlowing();
      const now = Date.now();
      await this.sleep(Math.max(this.lastCallAt + callIntervalMs - now, readBytes.waitMs(0, now)));
      let output: GetRecordsCommandOutput;
      try {
        this.lastCallAt = Date.now();
        output = await this.host.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.host.maxRecordsPerCall }),
          { abortSignal: this.host.signal },
        );
      } catch (error) {
        if (errorCode(error) === 'ExpiredIteratorException') {
          log('%s/%s: iterator expired, renewing', this.streamName, this.shardId);
          iterator = await this.getIterator(this.resumePosition());
          continue;
        }
        await this.backOff('GetRecords', error);
        continue;
      }
      if (output.Records === undefined) {
        // Every real answer lists its records (maybe none): an empty body must not read as SHARD_END.
        await this.backOff('GetRecords', Object.assign(new Error('GetRecords answer without Records'), { name: 'InternalFailure', $retryable: {} }));
        continue;
      }
      const raw = output.Records;
      readBytes.take(answerBytes(raw), Date.now());
      await this.handOver(raw, output.MillisBehindLatest);
      if (output.NextShardIterator === undefined || output.NextShardIterator === null) {
        log('%s/%s: SHARD_END', this.streamName, this.shardId);
        return { childShards: output.ChildShards ?? [] };
      }
      iterator = output.NextShardIterator;
      const caughtUp = raw.length === 0 || (output.MillisBehindLatest === 0 && raw.length < this.host.maxRecordsPerCall);
      if (caughtUp) await this.sleep(this.host.pollIntervalMs);
    }
  }

  /** One answer's records to the consumer; resolves once they are all pushed (backpressure). */
  protected async handOver(raw: _Record[], millisBehindLatest: number | undefined): Promise<void> {
    this.failures = 0;
    this.host.observe(millisBehindLatest);
    if (raw.length === 0) return;
    let skipFirstThrough = -1;
    if (this.skipThrough !== undefined) {
      if (this.skipThrough.sequenceNumber === raw[0].SequenceNumber) skipFirstThrough = this.skipThrough.subSequenceNumber;
      this.skipThrough = undefined;
    }
    const batch = new RecordBatch<T>(raw, this.batchShard, millisBehindLatest, skipFirstThrough);
    this.lastSequenceNumber = raw[raw.length - 1].SequenceNumber;
    await this.host.deliver(batch);
  }

  /** Where to continue after an expired iterator: after the last delivered record. */
  protected resumePosition(): StartPosition {
    if (this.lastSequenceNumber !== undefined) {
      return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequenceNumber };
    }
    if (this.position.type === 'LATEST' && this.firstIteratorAt !== undefined) {
      return { type: 'AT_TIMESTAMP', timestamp: this.firstIteratorAt };
    }
    return this.position;
  }

  private async getIterator(position: StartPosition): Promise<string> {
    const input: GetShardIteratorCommandInput = {
      StreamName: this.streamName,
      ShardId: this.shardId,
      ShardIteratorType: position.type,
    };
    if (position.type === 'AFTER_SEQUENCE_NUMBER') {
      input.StartingSequenceNumber = position.sequenceNumber;
      // Inside an aggregate: read the record again and skip its finished sub-records.
      if (position.subSequenceNumber !== undefined) input.ShardIteratorType = 'AT_SEQUENCE_NUMBER';
    }
    if (position.type === 'AT_TIMESTAMP') input.Timestamp = position.timestamp;
    for (;;) {
      try {
        if (position.type === 'LATEST') this.firstIteratorAt ??= new Date();
        const output = await this.host.client.send(new GetShardIteratorCommand(input), { abortSignal: this.host.signal });
        if (output.ShardIterator === undefined) throw new KinesisRequestError('GetShardIterator', new Error('no ShardIterator in the answer'));
        this.failures = 0;
        log('%s/%s: iterator at %s', this.streamName, this.shardId, position.type);
        return output.ShardIterator;
      } catch (error) {
        await this.backOff('GetShardIterator', error);
      }
    }
  }

  /** Waits before the next try of a retriable failure; throws the error that stops the stream otherwise. */
  protected async backOff(operation: string, error: unknown): Promise<void> {
    if (this.host.signal.aborted) throw new AbortError();
    if (error instanceof KinesisStreamsError && !error.retriable) throw error;
    this.failures++;
    // Throttling is the shard's read limit (shared with other consumers): back off and keep
    // the iterator, as long as it takes; it never stops the stream.
    const throttled = isThrottlingCode(errorCode(error));
    if (!isRetriableError(error) || (!throttled && !this.host.retryPolicy.canRetry(this.failures))) {
      throw classifyError(operation, error, this.streamName, this.shardId);
    }
    const delayMs = this.host.retryPolicy.delayFor(this.failures);
    this.host.retry({ operation, attempt: this.failures, delayMs, error });
    await this.sleep(delayMs);
  }

  /** A timer that the stream's AbortSignal clears. */
  protected sleep(ms: number): Promise<void> {
    return delay(ms, this.host.signal);
  }
}
