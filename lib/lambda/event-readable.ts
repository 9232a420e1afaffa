/**
 * kinesisEventReadable: the records of one Lambda Kinesis event as the object-mode
 * Readable createKinesisReadable would give (same record objects, decode, KPL
 * de-aggregation, checkpoint()), plus the partial batch response that tells Lambda
 * where to retry. Records are decoded when the consumer asks for them (highWaterMark 0),
 * so a record that cannot be decoded stops the stream exactly there and is reported.
 */
import { Readable } from 'node:stream';
import { compareCheckpoints, isCheckpoint, type Checkpoint, type CheckpointStore } from '../checkpoint/store.js';
import { CheckpointError, ValidationError, describeError } from '../errors.js';
import { logger } from '../log.js';
import { booleanOption, describeValue, nonEmptyString } from '../options.js';
import { BUFFER_DECODER, createDecoder, type DecodeOption, type Decoder } from '../readable/decode.js';
import type { KinesisRecord } from '../readable/shard-reader.js';
import { batchItemFailures, entryPosition, planBatch, resumePoint, type BatchPlan } from './batch.js';
import { parseKinesisEvent, type KinesisBatchResponse, type LambdaKinesisEvent } from './event.js';

const log = logger('lambda');

/** Options of kinesisEventReadable. */
export interface KinesisEventReadableOptions<T = Buffer> {
  /** How to decode record data, as for createKinesisReadable. Default 'buffer'. */
  decode?: DecodeOption<T>;
  /** Split KPL aggregated records into their user records. Default true. */
  deaggregate?: boolean;
  /**
   * Where checkpoint() also stores the position, so that a retry of this batch skips the
   * user records already done, inside an aggregate too. Without it a retry repeats the
   * done sub-records of the aggregate Lambda retries from. Keys: `applicationName/streamName` and shardId.
   */
  checkpointStore?: CheckpointStore;
  /** Namespaces the store's keys (one per consumer of the stream). */
  applicationName?: string;
}

/** Checked options. */
export interface ResolvedEventReadableOptions<T> {
  decode: Decoder<T>;
  deaggregate: boolean;
  store: CheckpointStore | undefined;
  applicationName: string | undefined;
}

/** Checks the options; a ValidationError names the one at fault. */
export function resolveEventReadableOptions<T>(options: KinesisEventReadableOptions<T> = {}): ResolvedEventReadableOptions<T> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', `must be an object, got ${describeValue(options)}`);
  const store = options.checkpointStore;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.get !== 'function' || typeof store.set !== 'function')) {
    throw new ValidationError('checkpointStore', 'must have get() and set()');
  }
  return {
    decode: createDecoder(options.decode),
    deaggregate: booleanOption(options.deaggregate ?? true, 'deaggregate'),
    store,
    applicationName: options.applicationName === undefined ? undefined : nonEmptyString(options.applicationName, 'applicationName'),
  };
}

/**
 * An object-mode Readable of the {@link KinesisRecord}s of one Lambda Kinesis event.
 * Create it with kinesisEventReadable, or let createKinesisHandler do it.
 */
export class KinesisEventReadable<T = Buffer> extends Readable {
  /** The event's stream (from `eventSourceARN`); undefined for an event without records. */
  readonly streamName: string | undefined;
  /** The event's shard (from `eventID`); undefined for an event without records. */
  readonly shardId: string | undefined;
  private readonly plan: BatchPlan;
  private readonly decode: Decoder<T>;
  private readonly store: CheckpointStore | undefined;
  private readonly storeKey: string;
  /** Sequence number → index of the Kinesis record in the batch. */
  private readonly recordIndex = new Map<string, number>();
  /** First entry to deliver (after what a stored checkpoint says is done), and the next to push. */
  private start = 0;
  private next = 0;
  /** Processed up to and including this position (what the batch response is computed from). */
  private done: Checkpoint | undefined;
  /** Highest position written or being written to the store, the last one stored, and the write chain. */
  private target: Checkpoint | undefined;
  private stored: Checkpoint | undefined;
  private writes: Promise<void> = Promise.resolve();
  /** The stored checkpoint has been read (or there is no store). */
  private loaded = false;
  private loadError: Error | undefined;
  private readonly ready: Promise<void>;

  /** Throws a ValidationError naming the field when the event is not a well-formed Kinesis event. */
  constructor(event: LambdaKinesisEvent, options: KinesisEventReadableOptions<T> = {}) {
    const resolved = resolveEventReadableOptions(options);
    const parsed = parseKinesisEvent(event);
    // highWaterMark 0: nothing is decoded or buffered before the consumer asks for it.
    super({ objectMode: true, highWaterMark: 0 });
    this.streamName = parsed.streamName;
    this.shardId = parsed.shardId;
    this.plan = planBatch(parsed.records, resolved.deaggregate);
    this.decode = resolved.decode;
    this.store = resolved.store;
    this.storeKey = resolved.applicationName === undefined ? `${parsed.streamName}` : `${resolved.applicationName}/${parsed.streamName}`;
    parsed.records.forEach((record, index) => this.recordIndex.set(record.sequenceNumber, index));
    this.loaded = this.store === undefined;
    this.ready = this.loaded
      ? Promise.resolve()
      : this.loadCheckpoint().then(() => {
          this.loaded = true;
        });
    for (const index of this.plan.corrupt) {
      log('%s/%s: record %s has the KPL magic but is corrupt: delivered whole', this.streamName, this.shardId, parsed.records[index].sequenceNumber);
    }
  }

  /** `for await (const record of records)` gets typed records. */
  override [Symbol.asyncIterator](): AsyncIterableIterator<KinesisRecord<T>> {
    return super[Symbol.asyncIterator]();
  }

  /**
   * Marks records processed; resolves once the checkpoint store (if any) has them. With
   * records: done up to and including them. Without: every record read out of the
   * stream so far. Never moves backwards. Records never read out count as unprocessed.
   */
  checkpoint(records?: KinesisRecord<unknown> | readonly KinesisRecord<unknown>[]): Promise<void> {
    let position: Checkpoint | undefined;
    try {
      position = records === undefined ? this.readOutPosition() : this.positionOfRecords(records);
    } catch (error) {
      return Promise.reject(error);
    }
    if (position === undefined) return this.writes;
    if (this.done === undefined || compareCheckpoints(position, this.done) > 0) this.done = position;
    return this.storeCheckpoint(position);
  }

  /**
   * The partial batch response for what has been checkpointed: empty when every record
   * is done, else the first Kinesis record not done (an aggregate with some sub-records
   * done is named whole). Waits for checkpoint writes in flight, so nothing is pending
   * when a handler returns it.
   */
  async batchResponse(): Promise<KinesisBatchResponse> {
    await this.ready;
    await this.writes.catch(() => undefined);
    return { batchItemFailures: batchItemFailures(this.plan, this.done) };
  }

  /** Reads the stored checkpoint (if any) to skip what an earlier attempt at this batch did. Never rejects. */
  private async loadCheckpoint(): Promise<void> {
    const store = this.store;
    const shardId = this.shardId;
    if (store === undefined || shardId === undefined) return;
    let stored: Checkpoint | undefined;
    try {
      stored = await store.get(this.storeKey, shardId);
    } catch (cause) {
      this.loadError = new CheckpointError(`cannot read the checkpoint of ${this.storeKey}/${shardId}: ${describeError(cause)}`, { cause, retriable: true });
      return;
    }
    if (stored !== undefined && !isCheckpoint(stored)) {
      this.loadError = new CheckpointError(`the checkpoint stored for ${this.storeKey}/${shardId} is not a checkpoint`);
      return;
    }
    const resume = resumePoint(this.plan, stored);
    this.start = this.next = resume.start;
    this.done = resume.done;
    this.target = this.stored = resume.done;
    if (resume.start > 0) log('%s/%s: %d user record(s) done by an earlier attempt, skipped', this.streamName, shardId, resume.start);
  }

  override _read(): void {
    if (!this.loaded) {
      // Not _construct(): with highWaterMark 0 a stream constructed late is never asked to read again.
      void this.ready.then(() => {
        if (!this.destroyed) this._read();
      });
      return;
    }
    if (this.loadError !== undefined) {
      this.destroy(this.loadError);
      return;
    }
    if (this.next >= this.plan.entries.length) {
      this.push(null);
      return;
    }
    let record: KinesisRecord<T>;
    try {
      record = this.toRecord(this.next);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    this.next++;
    this.push(record);
  }

  private toRecord(index: number): KinesisRecord<T> {
    const entry = this.plan.entries[index];
    const source = this.plan.records[entry.recordIndex];
    const streamName = this.streamName as string;
    const shardId = this.shardId as string;
    const data =
      this.decode === (BUFFER_DECODER as unknown as Decoder<T>)
        ? (entry.data as unknown as T)
        : this.decode(entry.data, { streamName, shardId, sequenceNumber: source.sequenceNumber, partitionKey: entry.partitionKey });
    const record: KinesisRecord<T> = {
      data,
      partitionKey: entry.partitionKey,
      sequenceNumber: source.sequenceNumber,
      approximateArrivalTimestamp: source.approximateArrivalTimestamp,
      streamName,
      shardId,
    };
    if (entry.subSequenceNumber !== undefined) record.subSequenceNumber = entry.subSequenceNumber;
    if (entry.explicitHashKey !== undefined) record.explicitHashKey = entry.explicitHashKey;
    return record;
  }

  /** The last record the consumer has read out of the stream (pushed and no longer buffered). */
  private readOutPosition(): Checkpoint | undefined {
    const last = this.next - this.readableLength - 1;
    return last < this.start ? undefined : entryPosition(this.plan, last);
  }

  private positionOfRecords(records: KinesisRecord<unknown> | readonly KinesisRecord<unknown>[]): Checkpoint | undefined {
    const list: readonly KinesisRecord<unknown>[] = Array.isArray(records) ? records : [records as KinesisRecord<unknown>];
    let highest: Checkpoint | undefined;
    for (const record of list) {
      const position = entryPosition(this.plan, this.entryOf(record));
      if (highest === undefined || compareCheckpoints(position, highest) > 0) highest = position;
    }
    return highest;
  }

  /** The entry a record delivered by this stream came from; a ValidationError for anything else. */
  private entryOf(record: KinesisRecord<unknown>): number {
    if (typeof record !== 'object' || record === null || typeof record.sequenceNumber !== 'string') {
      throw new ValidationError('record', `checkpoint() takes records read from this stream, got ${describeValue(record)}`);
    }
    const recordIndex = this.recordIndex.get(record.sequenceNumber);
    if (record.streamName !== this.streamName || record.shardId !== this.shardId || recordIndex === undefined) {
      throw new ValidationError('record', `record ${record.sequenceNumber} of ${String(record.streamName)}/${String(record.shardId)} is not in this event`);
    }
    const sub = record.subSequenceNumber;
    const aggregated = this.plan.aggregated[recordIndex];
    const count = this.plan.entryCount[recordIndex];
    if (aggregated ? !(Number.isInteger(sub) && (sub as number) >= 0 && (sub as number) < count) : sub !== undefined) {
      throw new ValidationError('record', `record ${record.sequenceNumber}: subSequenceNumber ${describeValue(sub)} is not one of its user records`);
    }
    const index = this.plan.firstEntry[recordIndex] + (sub ?? 0);
    if (index < this.start || index >= this.next) {
      throw new ValidationError('record', `record ${record.sequenceNumber} of ${this.streamName}/${this.shardId} was not delivered by this stream`);
    }
    return index;
  }

  private storeCheckpoint(position: Checkpoint): Promise<void> {
    const store = this.store;
    const shardId = this.shardId;
    if (store === undefined || shardId === undefined) return Promise.resolve();
    // Already stored or being stored: wait for that write.
    if (this.target !== undefined && compareCheckpoints(position, this.target) <= 0) return this.writes;
    this.target = position;
    const write = this.writes
      .catch(() => undefined)
      .then(() => store.set(this.storeKey, shardId, position))
      .then(
        () => {
          if (this.stored === undefined || compareCheckpoints(position, this.stored) > 0) this.stored = position;
        },
        (cause: unknown) => {
          // Let a later call write this position again.
          if (this.target === position) this.target = this.stored;
          throw cause instanceof CheckpointError
            ? cause
            : new CheckpointError(`cannot store the checkpoint of ${this.storeKey}/${shardId}: ${describeError(cause)}`, { cause, retriable: true });
        },
      );
    this.writes = write;
    return write;
  }
}

/**
 * The records of a Lambda Kinesis event as an object-mode Readable, with checkpoint()
 * and the partial batch response to return. Throws a ValidationError naming the field
 * when the event is malformed.
 *
 * @example
 * ```ts
 * export const handler = async (event: KinesisStreamEvent) => {
 *   const records = kinesisEventReadable<Order>(event, { decode: 'json' });
 *   try {
 *     for await (const record of records) { await save(record.data); await records.checkpoint(record); }
 *   } catch (error) { console.error(error); }
 *   return records.batchResponse(); // names the first record not checkpointed
 * };
 * ```
 */
export function kinesisEventReadable<T = Buffer>(event: LambdaKinesisEvent, options?: KinesisEventReadableOptions<T>): KinesisEventReadable<T> {
  return new KinesisEventReadable<T>(event, options);
}
