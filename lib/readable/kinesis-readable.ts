/**
 * createKinesisReadable: every shard of one or more streams as one object-mode Readable.
 * Shard readers fetch one batch each and hand it here; this class pushes records
 * round-robin across shards while the consumer wants more (push() true), and the
 * readers fetch again only once their batch is pushed and the consumer is not
 * applying backpressure. It also discovers shards, gates children on parents and keeps
 * the checkpoint bookkeeping (what was pushed, what the consumer has read out).
 */
import { ListShardsCommand, type KinesisClient, type ListShardsCommandInput, type Shard } from '@aws-sdk/client-kinesis';
import { Readable } from 'node:stream';
import { isLeaseManager, type LeaseListener, type LeaseManager, type LeaseShard } from '../checkpoint/dynamodb-lease-store.js';
import { SHARD_END, compareCheckpoints, type Checkpoint, type CheckpointStore } from '../checkpoint/store.js';
import { resolveOptions, type KinesisReadableOptions } from './readable-options.js';
import { resolveClient } from '../client.js';
import { AbortError, CheckpointError, KinesisStreamsError, LeaseLostError, ValidationError, describeError } from '../errors.js';
import { logger } from '../log.js';
import {
  checkpointsObserved,
  publishCheckpoint,
  publishRecordsRead,
  retryErrorCode,
  publishRetry,
  publishShardLag,
  publishShardStart,
  publishShardStop,
} from '../metrics/channels.js';
import { describeValue } from '../options.js';
import { decimalToHashKey } from '../aggregation/hash-key.js';
import { RetryPolicy, classifyError, delay, isRetriableError, type RetryEvent } from '../retry.js';
import type { Decoder } from './decode.js';
import { EfoShardReader, deregisterConsumer, ensureConsumer } from './efo-reader.js';
import { PushLog } from './push-log.js';
import type { RecordBatch } from './record-batch.js';
import { ShardReader, type KinesisRecord, type ShardReaderHost } from './shard-reader.js';
import { ShardTracker, type InitialPosition, type ListedShard, type ShardPhase, type StartPosition } from './shard-tracker.js';

const log = logger('readable');

export type { KinesisReadableOptions } from './readable-options.js';

/** Per-shard state in stats(). */
export interface ShardStats {
  streamName: string;
  shardId: string;
  state: ShardPhase;
  millisBehindLatest: number | undefined;
  lastSequenceNumber: string | undefined;
  checkpoint: Checkpoint | undefined;
}

/** Counters of a KinesisReadable. */
export interface ReadableStats {
  /** Records pushed to the consumer. */
  recordsRead: number;
  /** Bytes of record data pushed to the consumer. */
  bytesRead: number;
  /** Sub-records of KPL aggregates dropped because their hash key lies outside the shard (as the KCL does). */
  subRecordsDropped: number;
  /** Records with the KPL magic that failed their checksum or parse, delivered whole. */
  corruptAggregates: number;
  shards: ShardStats[];
}

/** Payload of `shardStart`. */
export interface ShardStartEvent {
  streamName: string;
  shardId: string;
  position: StartPosition;
}

/** Payload of `shardEnd`. */
export interface ShardEndEvent {
  streamName: string;
  shardId: string;
}

/** Payload of `leaseGained` and `leaseLost`. */
export interface LeaseEvent {
  streamName: string;
  shardId: string;
}

/** Payload of `checkpoint`. */
export interface CheckpointEvent {
  streamName: string;
  shardId: string;
  checkpoint: Checkpoint;
}

interface ShardState<T> {
  readonly streamName: string;
  readonly shardId: string;
  phase: ShardPhase;
  /** The answer being pushed, expanded into user records as they are pushed. */
  batch: RecordBatch<T> | undefined;
  batchPushed: (() => void) | undefined;
  batchAborted: ((error: Error) => void) | undefined;
  /** The last record pushed, and the last one the consumer has read out (positions taken when needed). */
  lastPushed: KinesisRecord<T> | undefined;
  lastConsumed: KinesisRecord<T> | undefined;
  ended: boolean;
  millisBehindLatest: number | undefined;
  /** Durable checkpoint. */
  checkpoint: Checkpoint | undefined;
  /** Highest checkpoint asked for (durable or being written). */
  target: Checkpoint | undefined;
  writes: Promise<void>;
  /** Stops this shard's reader alone (its lease was lost). */
  abort: AbortController;
  /** The lease was lost: records still in the consumer's hands cannot be checkpointed. */
  lost: boolean;
  reader: ShardReader<T> | undefined;
}

interface StreamState {
  readonly streamName: string;
  readonly tracker: ShardTracker;
  listed: boolean;
  discovering: Promise<void> | undefined;
  discoverAgain: boolean;
}

/**
 * An object-mode Readable of {@link KinesisRecord}s from every shard of the stream(s).
 * Create it with createKinesisReadable.
 *
 * Events beyond Readable's: `shardStart`, `shardEnd`, `checkpoint`, `retry`.
 */
export class KinesisReadable<T = Buffer> extends Readable {
  private readonly client: KinesisClient;
  private readonly ownsClient: boolean;
  private readonly store: CheckpointStore;
  /** Set when the store coordinates leases with other workers. */
  private readonly leases: (CheckpointStore & LeaseManager) | undefined;
  private readonly initialPosition: InitialPosition;
  /** EFO: the consumer to read as, and the ARN of it per stream once registered. */
  private readonly consumerName: string | undefined;
  private readonly deregisterOnClose: boolean;
  private readonly consumerArns = new Map<string, string>();
  private readonly applicationName: string | undefined;
  /** Metrics: the consumer group (applicationName, else the EFO consumer) and the read operation. */
  private readonly consumerGroup: string | undefined;
  private readonly readOperation: string;
  private readonly maxRecordsPerCall: number;
  private readonly pollIntervalMs: number;
  private readonly readShare: number;
  private readonly discoveryIntervalMs: number;
  private readonly decode: Decoder<T>;
  private readonly deaggregate: boolean;
  private readonly retryPolicy: RetryPolicy;
  private readonly abortController = new AbortController();
  private readonly streams = new Map<string, StreamState>();
  private readonly shards = new Map<string, ShardState<T>>();
  /** Shards with records waiting to be pushed, in round-robin order. */
  private ready: ShardState<T>[] = [];
  private turn = 0;
  private paused = false;
  private pushing = false;
  private flowWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Shards of pushed records the consumer may not have read yet, in push order. */
  private readonly pushLog = new PushLog<ShardState<T>, KinesisRecord<T>>();
  private recordsRead = 0;
  private bytesRead = 0;
  private subRecordsDropped = 0;
  private corruptAggregates = 0;
  private discoveryTimer: NodeJS.Timeout | undefined;

  constructor(options: KinesisReadableOptions<T>) {
    const resolved = resolveOptions(options);
    // Every check before super(): a stream that fails to construct must not start anything.
    const { client, owned } = resolveClient(options);
    super({ objectMode: true, highWaterMark: resolved.highWaterMark, signal: options.signal });
    this.client = client;
    this.ownsClient = owned;
    this.store = resolved.store;
    this.leases = isLeaseManager(resolved.store) ? resolved.store : undefined;
    this.initialPosition = resolved.initialPosition;
    this.consumerName = resolved.consumerName;
    this.deregisterOnClose = resolved.deregisterConsumerOnClose;
    this.applicationName = options.applicationName;
    this.consumerGroup = options.applicationName ?? resolved.consumerName;
    this.readOperation = resolved.consumerName === undefined ? 'GetRecords' : 'SubscribeToShard';
    this.maxRecordsPerCall = resolved.maxRecordsPerCall;
    this.pollIntervalMs = resolved.pollIntervalMs;
    this.readShare = resolved.readShare;
    this.discoveryIntervalMs = resolved.shardDiscoveryIntervalMs;
    this.decode = resolved.decode;
    this.deaggregate = resolved.deaggregate;
    this.retryPolicy = resolved.retryPolicy;
    const startTime = new Date();
    for (const streamName of resolved.streamNames) {
      this.streams.set(streamName, {
        streamName,
        tracker: new ShardTracker(resolved.initialPosition, startTime),
        listed: false,
        discovering: undefined,
        discoverAgain: false,
      });
    }
  }

  /**
   * Stores checkpoints; resolves once they are durable. With records: their shards are
   * done up to and including them. Without: every record the consumer has read out of
   * this stream. Never moves a shard backwards; a finished shard becomes SHARD_END.
   */
  checkpoint(records?: KinesisRecord<unknown> | readonly KinesisRecord<unknown>[]): Promise<void> {
    try {
      const targets = records === undefined ? this.consumedTargets() : this.recordTargets(records);
      const lost = [...targets.keys()].filter((shard) => shard.lost);
      // Report a lost shard once: later calls name it again only if more of its records are read.
      if (records === undefined) for (const shard of lost) shard.target = targets.get(shard);
      const writes = [...targets].filter(([shard]) => !shard.lost).map(([shard, checkpoint]) => this.storeCheckpoint(shard, checkpoint));
      return Promise.all(writes).then(() => {
        // The shards still held are stored; the lost ones belong to another worker now.
        if (lost.length > 0) throw new LeaseLostError(lost.map((shard) => shard.shardId));
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counters and per-shard state for monitoring. */
  stats(): ReadableStats {
    return {
      recordsRead: this.recordsRead,
      bytesRead: this.bytesRead,
      subRecordsDropped: this.subRecordsDropped,
      corruptAggregates: this.corruptAggregates,
      shards: [...this.shards.values()].map((s) => ({
        streamName: s.streamName,
        shardId: s.shardId,
        state: s.phase,
        millisBehindLatest: s.millisBehindLatest,
        lastSequenceNumber: s.lastPushed?.sequenceNumber,
        checkpoint: s.checkpoint === undefined ? undefined : { ...s.checkpoint },
      })),
    };
  }

  override _construct(callback: (error?: Error | null) => void): void {
    callback();
    const start = (): void => {
      if (this.destroyed) return;
      for (const stream of this.streams.values()) this.discover(stream);
      this.scheduleDiscovery();
    };
    this.prepare().then(start, (error: unknown) => this.fail(error));
  }

  /** Before reading: register the EFO consumer, attach the lease manager. */
  private async prepare(): Promise<void> {
    const consumerName = this.consumerName;
    if (consumerName !== undefined) {
      await Promise.all(
        [...this.streams.keys()].map(async (streamName) => {
          const arn = await ensureConsumer(this.client, streamName, consumerName, this.abortController.signal, this.retryPolicy);
          this.consumerArns.set(streamName, arn);
        }),
      );
    }
    if (this.leases !== undefined) {
      const keys = [...this.streams.keys()].map((name) => this.storeKey(name));
      await this.leases.attach(keys, this.leaseListener());
    }
  }

  override _read(): void {
    this.paused = false;
    this.pushLog.trim(this.readableLength);
    this.pushRecords();
    if (!this.paused && this.flowWaiters.length > 0) {
      const waiters = this.flowWaiters;
      this.flowWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abortController.abort();
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
    const reason = new AbortError('the reader was destroyed');
    for (const waiter of this.flowWaiters) waiter.reject(reason);
    this.flowWaiters = [];
    for (const shard of this.shards.values()) {
      shard.abort.abort();
      if (shard.batch !== undefined) this.countBatch(shard, shard.batch);
      shard.batchAborted?.(reason);
      if (shard.phase === 'reading') publishShardStop(shard.streamName, shard.shardId, this.consumerGroup, 'closed');
    }
    this.ready = [];
    log('destroyed (%s)', error ? describeError(error) : 'no error');
    this.close().then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    );
  }

  private async close(): Promise<void> {
    try {
      // Hand the leases over at once instead of letting them expire.
      await this.leases?.detach();
      if (this.deregisterOnClose) await Promise.all([...this.consumerArns.values()].map((arn) => deregisterConsumer(this.client, arn)));
    } finally {
      if (this.ownsClient) this.client.destroy();
    }
  }

  private fail(error: unknown): void {
    if (this.destroyed || (error instanceof AbortError && this.abortController.signal.aborted)) return;
    this.destroy(error instanceof Error ? error : new KinesisStreamsError(String(error)));
  }

  private storeKey(streamName: string): string {
    return this.applicationName === undefined ? streamName : `${this.applicationName}/${streamName}`;
  }

  // ---- discovery ----------------------------------------------------------------

  private scheduleDiscovery(): void {
    if (this.destroyed) return;
    this.discoveryTimer = setTimeout(() => {
      for (const stream of this.streams.values()) this.discover(stream);
      this.scheduleDiscovery();
    }, this.discoveryIntervalMs);
  }

  /** Lists the stream's shards and starts those that may start; one run at a time per stream. */
  private discover(stream: StreamState): void {
    if (this.destroyed) return;
    if (stream.discovering !== undefined) {
      stream.discoverAgain = true;
      return;
    }
    stream.discovering = this.listAndStart(stream)
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        stream.discovering = undefined;
        if (stream.discoverAgain) {
          stream.discoverAgain = false;
          this.discover(stream);
        }
      });
  }

  private async listAndStart(stream: StreamState): Promise<void> {
    const listed = await this.listShards(stream.streamName);
    const fresh = listed.filter((shard) => !stream.tracker.has(shard.ShardId ?? ''));
    for (const shard of listed) {
      if (shard.SequenceNumberRange?.EndingSequenceNumber === undefined) continue;
      this.shards.get(shardKey(stream.streamName, shard.ShardId ?? ''))?.reader?.markClosed();
    }
    const key = this.storeKey(stream.streamName);
    const withCheckpoints = await Promise.all(
      fresh.map(async (shard): Promise<ListedShard> => {
        const shardId = shard.ShardId ?? '';
        const checkpoint = await this.store.get(key, shardId).catch((cause: unknown) => {
          throw cause instanceof CheckpointError ? cause : new CheckpointError(`cannot read the checkpoint of ${key}/${shardId}: ${describeError(cause)}`, { cause });
        });
        const parentShardIds = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
        const entry: ListedShard = { shardId, parentShardIds, closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined };
        if (checkpoint !== undefined) entry.checkpoint = checkpoint;
        const range = shard.HashKeyRange;
        if (range?.StartingHashKey !== undefined && range.EndingHashKey !== undefined) {
          entry.hashKeyRange = { start: range.StartingHashKey, end: range.EndingHashKey };
        }
        return entry;
      }),
    );
    if (this.destroyed) return;
    const initial = !stream.listed;
    stream.tracker.add(withCheckpoints, initial);
    stream.listed = true;
    if (this.leases !== undefined) {
      await this.leases.syncShards(key, withCheckpoints.map((shard) => this.leaseShard(stream, shard, withCheckpoints)));
      if (this.destroyed) return;
    }
    for (const shard of withCheckpoints) {
      if (stream.tracker.phase(shard.shardId) === 'finished') {
        // Finished before this reader: visible in stats, never read.
        this.shards.set(shardKey(stream.streamName, shard.shardId), this.newShardState(stream.streamName, shard.shardId, 'finished', shard.checkpoint));
      }
    }
    this.startReady(stream);
  }

  private async listShards(streamName: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let input: ListShardsCommandInput = { StreamName: streamName };
    let failures = 0;
    for (;;) {
      try {
        const output = await this.client.send(new ListShardsCommand(input), { abortSignal: this.abortController.signal });
        failures = 0;
        shards.push(...(output.Shards ?? []));
        if (output.NextToken === undefined) return shards;
        input = { NextToken: output.NextToken };
      } catch (error) {
        if (this.abortController.signal.aborted) throw new AbortError();
        failures++;
        if (!isRetriableError(error) || !this.retryPolicy.canRetry(failures)) throw classifyError('ListShards', error, streamName);
        const delayMs = this.retryPolicy.delayFor(failures);
        this.emitRetry({ operation: 'ListShards', attempt: failures, delayMs, error }, streamName);
        await delay(delayMs, this.abortController.signal);
      }
    }
  }

  /** How a listed shard's lease starts, when this reader creates it. */
  private leaseShard(stream: StreamState, shard: ListedShard, listed: readonly ListedShard[]): LeaseShard {
    const start: LeaseShard['start'] =
      stream.tracker.phase(shard.shardId) === 'finished'
        ? 'SHARD_END'
        : shard.parentShardIds.some((id) => listed.some((s) => s.shardId === id) || stream.tracker.has(id))
          ? 'TRIM_HORIZON'
          : typeof this.initialPosition === 'string'
            ? this.initialPosition
            : 'AT_TIMESTAMP';
    return { shardId: shard.shardId, parentShardIds: shard.parentShardIds, start };
  }

  private startReady(stream: StreamState): void {
    const leases = this.leases;
    const key = this.storeKey(stream.streamName);
    const canStart = leases === undefined ? undefined : (shardId: string) => leases.holds(key, shardId);
    for (const { shardId, shard: listed, position, checkpoint } of stream.tracker.takeReady(canStart)) {
      const key = shardKey(stream.streamName, shardId);
      let shard = this.shards.get(key);
      if (shard === undefined || shard.lost) {
        // New, or read here before its lease was lost: start over from the stored checkpoint.
        shard = this.newShardState(stream.streamName, shardId, 'reading', checkpoint);
      }
      shard.phase = 'reading';
      this.shards.set(key, shard);
      log('start %s/%s at %s', stream.streamName, shardId, position.type);
      // Only shards born of a reshard can hold aggregates written with a stale shard map.
      const range = listed.hashKeyRange;
      const filterRange =
        this.deaggregate && listed.parentShardIds.length > 0 && range !== undefined
          ? { start: decimalToHashKey(range.start), end: decimalToHashKey(range.end) }
          : undefined;
      const info = { streamName: stream.streamName, shardId, filterRange };
      const consumerArn = this.consumerArns.get(stream.streamName);
      const reader =
        consumerArn === undefined
          ? new ShardReader<T>(this.hostFor(shard), info, position)
          : new EfoShardReader<T>(this.hostFor(shard), info, position, consumerArn);
      shard.reader = reader;
      const current = shard;
      reader.run().then(
        () => this.onShardEnd(stream, current),
        (error: unknown) => {
          if (!current.lost) this.fail(error);
        },
      );
    }
  }

  private newShardState(streamName: string, shardId: string, phase: ShardPhase, checkpoint: Checkpoint | undefined): ShardState<T> {
    return {
      streamName,
      shardId,
      phase,
      batch: undefined,
      batchPushed: undefined,
      batchAborted: undefined,
      lastPushed: undefined,
      lastConsumed: undefined,
      ended: phase === 'finished',
      millisBehindLatest: undefined,
      checkpoint,
      target: checkpoint,
      writes: Promise.resolve(),
      abort: new AbortController(),
      lost: false,
      reader: undefined,
    };
  }

  // ---- leases ---------------------------------------------------------------------

  private leaseListener(): LeaseListener {
    const streamOf = (key: string): StreamState | undefined =>
      [...this.streams.values()].find((stream) => this.storeKey(stream.streamName) === key);
    return {
      leaseGained: (key, shardId) => {
        const stream = streamOf(key);
        if (stream === undefined || this.destroyed) return;
        this.emit('leaseGained', { streamName: stream.streamName, shardId } satisfies LeaseEvent);
        if (!stream.tracker.has(shardId)) {
          this.discover(stream); // a shard this reader has not listed yet
          return;
        }
        // Its last holder may have moved the checkpoint: start from the stored one.
        this.store.get(key, shardId).then(
          (checkpoint) => {
            if (this.destroyed) return;
            stream.tracker.updateCheckpoint(shardId, checkpoint);
            this.startReady(stream);
          },
          (error: unknown) => this.fail(error),
        );
      },
      leaseLost: (key, shardId) => {
        const stream = streamOf(key);
        if (stream === undefined || this.destroyed) return;
        const shard = this.shards.get(shardKey(stream.streamName, shardId));
        if (shard !== undefined && shard.phase === 'reading') {
          publishShardStop(shard.streamName, shardId, this.consumerGroup, 'leaseLost');
          shard.lost = true;
          shard.phase = 'waiting';
          shard.abort.abort();
          // Records fetched but not yet pushed are left to the new holder.
          this.ready = this.ready.filter((s) => s !== shard);
          if (shard.batch !== undefined) this.countBatch(shard, shard.batch);
          shard.batchAborted?.(new LeaseLostError([shardId]));
          shard.batch = undefined;
          shard.batchPushed = undefined;
          shard.batchAborted = undefined;
        }
        stream.tracker.release(shardId);
        this.emit('leaseLost', { streamName: stream.streamName, shardId } satisfies LeaseEvent);
      },
      shardFinished: (key, shardId) => {
        const stream = streamOf(key);
        if (stream === undefined || this.destroyed) return;
        if (stream.tracker.phase(shardId) !== 'reading') {
          stream.tracker.updateCheckpoint(shardId, { sequenceNumber: SHARD_END });
          this.startReady(stream);
        }
      },
      failed: (error) => this.fail(error),
    };
  }

  private onShardEnd(stream: StreamState, shard: ShardState<T>): void {
    if (this.destroyed) return;
    shard.ended = true;
    shard.phase = 'finished';
    stream.tracker.finish(shard.shardId);
    publishShardStop(shard.streamName, shard.shardId, this.consumerGroup, 'end');
    this.emit('shardEnd', { streamName: shard.streamName, shardId: shard.shardId } satisfies ShardEndEvent);
    // Nothing of it left to checkpoint: mark it done so a restart does not read it again.
    if (shard.lastPushed === undefined || (shard.target !== undefined && compareCheckpoints(shard.target, positionOf(shard.lastPushed)) >= 0)) {
      this.storeCheckpoint(shard, { sequenceNumber: SHARD_END }).catch((error: unknown) => {
        if (!(error instanceof LeaseLostError)) this.fail(error);
      });
    }
    this.startReady(stream);
    // Children may not be listed yet (not every server announces ChildShards).
    this.discover(stream);
  }

  // ---- merge and backpressure -----------------------------------------------------

  private hostFor(shard: ShardState<T>): ShardReaderHost<T> {
    return {
      client: this.client,
      decode: this.decode,
      maxRecordsPerCall: this.maxRecordsPerCall,
      pollIntervalMs: this.pollIntervalMs,
      readShare: this.readShare,
      retryPolicy: this.retryPolicy,
      signal: shard.abort.signal,
      deaggregate: this.deaggregate,
      deliver: (batch) => this.accept(shard, batch),
      whenFlowing: () => this.whenFlowing(),
      started: (position) => {
        if (this.destroyed) return;
        publishShardStart(shard.streamName, shard.shardId, this.consumerGroup);
        this.emit('shardStart', { streamName: shard.streamName, shardId: shard.shardId, position } satisfies ShardStartEvent);
      },
      observe: (millisBehindLatest) => {
        shard.millisBehindLatest = millisBehindLatest;
        publishShardLag(shard.streamName, shard.shardId, this.consumerGroup, millisBehindLatest);
      },
      retry: (event) => this.emitRetry(event, shard.streamName, shard.shardId),
    };
  }

  private accept(shard: ShardState<T>, batch: RecordBatch<T>): Promise<void> {
    if (this.destroyed) return Promise.reject(new AbortError());
    return new Promise<void>((resolve, reject) => {
      shard.batch = batch;
      shard.batchPushed = resolve;
      shard.batchAborted = reject;
      this.ready.push(shard);
      this.pushRecords();
    });
  }

  private whenFlowing(): Promise<void> {
    if (this.destroyed) return Promise.reject(new AbortError());
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve, reject) => this.flowWaiters.push({ resolve, reject }));
  }

  /** Pushes records round-robin across shards until the consumer has enough. */
  private pushRecords(): void {
    if (this.pushing) return;
    this.pushing = true;
    try {
      while (!this.paused && this.ready.length > 0 && !this.destroyed) {
        if (this.turn >= this.ready.length) this.turn = 0;
        const shard = this.ready[this.turn];
        const batch = shard.batch!;
        const record = batch.next();
        if (record === undefined) {
          this.finishBatch(shard, batch);
          continue;
        }
        shard.lastPushed = record;
        this.recordsRead++;
        if (batch.done) this.finishBatch(shard, batch);
        else this.turn++;
        if (!this.pushLog.push(shard, record, this)) this.paused = true;
      }
    } catch (error) {
      // A DecodeError of one record stops the stream, as any other non-retriable failure.
      this.fail(error);
    } finally {
      this.pushing = false;
    }
  }

  /**
   * Counts what `batch` has handed to the consumer's queue since it was last counted: when
   * it is finished, and when its shard stops before that (destroy, lease lost).
   */
  private countBatch(shard: ShardState<T>, batch: RecordBatch<T>): void {
    const { records, bytes, dropped, corrupt } = batch.takeCounts();
    this.bytesRead += bytes;
    this.subRecordsDropped += dropped;
    this.corruptAggregates += corrupt;
    // Counted as pulled from Kinesis (the semantic conventions' consumed messages), as handed to the consumer's queue.
    if (records > 0) publishRecordsRead(shard.streamName, shard.shardId, this.readOperation, this.consumerGroup, records, bytes);
  }

  /** The shard at `turn` has pushed all of `batch`: count it, and let its reader fetch again. */
  private finishBatch(shard: ShardState<T>, batch: RecordBatch<T>): void {
    this.countBatch(shard, batch);
    this.ready.splice(this.turn, 1);
    const done = shard.batchPushed;
    shard.batch = undefined;
    shard.batchPushed = undefined;
    shard.batchAborted = undefined;
    done?.();
  }

  // ---- checkpoints ----------------------------------------------------------------

  private consumedTargets(): Map<ShardState<T>, Checkpoint> {
    this.pushLog.trim(this.readableLength);
    const targets = new Map<ShardState<T>, Checkpoint>();
    for (const shard of this.shards.values()) {
      if (shard.lastConsumed === undefined) continue;
      const consumed = positionOf(shard.lastConsumed);
      if (shard.target !== undefined && compareCheckpoints(consumed, shard.target) <= 0 && !shard.ended) continue;
      targets.set(shard, this.checkpointFor(shard, consumed));
    }
    return targets;
  }

  private recordTargets(records: KinesisRecord<unknown> | readonly KinesisRecord<unknown>[]): Map<ShardState<T>, Checkpoint> {
    const list: readonly KinesisRecord<unknown>[] = Array.isArray(records) ? records : [records as KinesisRecord<unknown>];
    const targets = new Map<ShardState<T>, Checkpoint>();
    for (const record of list) {
      if (typeof record !== 'object' || record === null || typeof record.sequenceNumber !== 'string' || !/^\d+$/.test(record.sequenceNumber)) {
        throw new ValidationError('record', `checkpoint() takes records read from this stream, got ${describeValue(record)}`);
      }
      const shard = this.shards.get(shardKey(record.streamName, record.shardId));
      if (shard === undefined) {
        throw new ValidationError('record', `shard ${String(record.streamName)}/${String(record.shardId)} is not read by this reader`);
      }
      const position = positionOf(record);
      if (shard.lastPushed === undefined || compareCheckpoints(position, positionOf(shard.lastPushed)) > 0) {
        throw new ValidationError('record', `record ${record.sequenceNumber} of ${shard.streamName}/${shard.shardId} was not delivered by this reader`);
      }
      const checkpoint = this.checkpointFor(shard, position);
      const previous = targets.get(shard);
      if (previous === undefined || compareCheckpoints(checkpoint, previous) > 0) targets.set(shard, checkpoint);
    }
    return targets;
  }

  /** The checkpoint for "done up to position": SHARD_END when that is the last record of a finished shard. */
  private checkpointFor(shard: ShardState<T>, position: Checkpoint): Checkpoint {
    if (shard.ended && shard.lastPushed !== undefined && compareCheckpoints(position, positionOf(shard.lastPushed)) === 0) return { sequenceNumber: SHARD_END };
    return position;
  }

  private storeCheckpoint(shard: ShardState<T>, checkpoint: Checkpoint): Promise<void> {
    if (shard.target !== undefined && compareCheckpoints(checkpoint, shard.target) <= 0) {
      // Already stored or being stored: wait for that write.
      return shard.writes;
    }
    shard.target = checkpoint;
    const key = this.storeKey(shard.streamName);
    let began = 0;
    const write = shard.writes
      .catch(() => undefined)
      .then(() => {
        if (checkpointsObserved()) began = performance.now();
        return this.store.set(key, shard.shardId, checkpoint);
      })
      .then(
        () => {
          if (began > 0) this.publishCheckpoint(shard, checkpoint, began, undefined);
          if (shard.checkpoint === undefined || compareCheckpoints(checkpoint, shard.checkpoint) > 0) shard.checkpoint = checkpoint;
          this.emit('checkpoint', { streamName: shard.streamName, shardId: shard.shardId, checkpoint } satisfies CheckpointEvent);
        },
        (cause: unknown) => {
          if (began > 0) this.publishCheckpoint(shard, checkpoint, began, cause);
          // Let a later call try this position again.
          if (shard.target === checkpoint) shard.target = shard.checkpoint;
          throw cause instanceof CheckpointError || cause instanceof LeaseLostError
            ? cause
            : new CheckpointError(`cannot store the checkpoint of ${key}/${shard.shardId}: ${describeError(cause)}`, { cause, retriable: true });
        },
      );
    shard.writes = write;
    return write;
  }

  private emitRetry(event: RetryEvent, streamName?: string, shardId?: string): void {
    log('%s retry %d in %dms: %s', event.operation, event.attempt, event.delayMs, describeError(event.error));
    publishRetry({ source: 'reader', ...event, streamName, shardId });
    this.emit('retry', event);
  }

  private publishCheckpoint(shard: ShardState<T>, checkpoint: Checkpoint, began: number, cause: unknown): void {
    publishCheckpoint({
      streamName: shard.streamName,
      shardId: shard.shardId,
      consumerGroup: this.consumerGroup,
      sequenceNumber: checkpoint.sequenceNumber,
      subSequenceNumber: checkpoint.subSequenceNumber,
      durationMs: performance.now() - began,
      errorCode: cause === undefined ? undefined : retryErrorCode(cause),
    });
  }
}

/** A record's position in its shard: its sequence number, and sub-sequence inside an aggregate. */
function positionOf(record: KinesisRecord<unknown>): Checkpoint {
  return record.subSequenceNumber === undefined
    ? { sequenceNumber: record.sequenceNumber }
    : { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber };
}

function shardKey(streamName: string, shardId: string): string {
  return `${streamName}\u0000${shardId}`;
}

/**
 * Creates an object-mode Readable of every record of the stream(s), across all shards
 * and through resharding, from the stored checkpoints.
 *
 * @example
 * ```ts
 * const reader = createKinesisReadable({ streamName: 'events', initialPosition: 'TRIM_HORIZON', decode: 'json' });
 * for await (const record of reader) { handle(record.data); await reader.checkpoint(record); }
 * ```
 */
export function createKinesisReadable<T = Buffer>(options: KinesisReadableOptions<T>): KinesisReadable<T> {
  return new KinesisReadable<T>(options);
}
