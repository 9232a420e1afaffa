/**
 * One GetRecords answer (or EFO event) turned into user records lazily, as the merger
 * pushes them: a record object is built only when it is about to be pushed, and a KPL
 * aggregate is split only when its turn comes. What a shard holds while the consumer is
 * slow is therefore the answer as the SDK parsed it plus at most one aggregate's
 * sub-records, never a whole answer expanded into user records (up to ~64k per call).
 * Record objects die young, in the scavenger, instead of waiting in an array.
 */
import type { _Record } from '@aws-sdk/client-kinesis';
import { parseAggregate, type AggregateView } from '../aggregation/deaggregate.js';
import { hashKeyOf, inRange, type HashKeyRange } from '../aggregation/hash-key.js';
import { logger } from '../log.js';
import { BUFFER_DECODER, type Decoder } from './decode.js';

const log = logger('shard');

/** A record as createKinesisReadable delivers it. */
export interface KinesisRecord<T = Buffer> {
  /** The record's data, decoded as the `decode` option says (a Buffer by default). */
  data: T;
  partitionKey: string;
  sequenceNumber: string;
  /** Position inside an aggregated (KPL) record. */
  subSequenceNumber?: number;
  explicitHashKey?: string;
  approximateArrivalTimestamp: Date;
  streamName: string;
  shardId: string;
  /** How far behind the tip of the shard this record's GetRecords call was, in ms. */
  millisBehindLatest?: number;
}

/** What a batch needs to know of its shard and the reader's options. */
export interface BatchShard<T> {
  readonly streamName: string;
  readonly shardId: string;
  /** Set for shards created by resharding: sub-records outside it are dropped, as the KCL does. */
  readonly filterRange: HashKeyRange | undefined;
  /** Split KPL aggregated records into their user records. */
  readonly deaggregate: boolean;
  readonly decode: Decoder<T>;
}

const EMPTY = new Uint8Array();
const NO_DATE = new Date(0);

/**
 * The user records of one answer, handed out one at a time by next(). Counts what it has
 * handed out (records, data bytes) and what it dropped or found corrupt, since the counts
 * were last taken.
 */
export class RecordBatch<T> {
  /** User records handed out since the counts were last taken, and the bytes of their data. */
  records = 0;
  bytes = 0;
  /** Sub-records dropped as outside the shard's hash key range, and aggregates delivered whole as corrupt. */
  dropped = 0;
  corrupt = 0;
  /** Next Kinesis record of the answer. */
  private index = 0;
  /** The aggregate being split: its spans, the next sub-record, and its Kinesis record's fields. */
  private subs: AggregateView | undefined;
  private subIndex = 0;
  /** Per partition key index of the aggregate, with a filter range: 1 inside the shard, 0 outside, -1 not known yet. */
  private keyInRange: Int8Array | undefined;
  private subSequenceNumber = '';
  private subArrival = NO_DATE;
  private readonly passThrough: boolean;

  /**
   * `skipFirstThrough`: sub-records of the answer's first record up to this index are done
   * (a resume inside an aggregate); a plain first record is skipped whole. -1 skips nothing.
   */
  constructor(
    private readonly raw: readonly _Record[],
    private readonly shard: BatchShard<T>,
    private readonly millisBehindLatest: number | undefined,
    private skipFirstThrough = -1,
  ) {
    this.passThrough = shard.decode === (BUFFER_DECODER as unknown as Decoder<T>);
  }

  /** The counts (records, bytes, dropped, corrupt), set back to 0, so each is reported once. */
  takeCounts(): { records: number; bytes: number; dropped: number; corrupt: number } {
    const counts = { records: this.records, bytes: this.bytes, dropped: this.dropped, corrupt: this.corrupt };
    this.records = this.bytes = this.dropped = this.corrupt = 0;
    return counts;
  }

  /**
   * True when next() has nothing more to give. May stay false while what is left is only
   * sub-records to drop or a checkpointed record: next() then returns undefined.
   */
  get done(): boolean {
    return this.index >= this.raw.length && (this.subs === undefined || this.subIndex >= this.subs.count);
  }

  /** The next user record, or undefined when the answer is used up. Throws DecodeError. */
  next(): KinesisRecord<T> | undefined {
    if (this.subs !== undefined) {
      const sub = this.nextSub();
      if (sub !== undefined) return sub;
    }
    const raw = this.raw;
    while (this.index < raw.length) {
      const r = raw[this.index++];
      const bytesIn = r.Data ?? EMPTY;
      const data = Buffer.from(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength);
      const sequenceNumber = r.SequenceNumber ?? '';
      const skipUpTo = this.skipFirstThrough;
      this.skipFirstThrough = -1;
      const result = this.shard.deaggregate ? parseAggregate(data) : undefined;
      if (result?.kind === 'aggregate') {
        this.subs = result.view;
        if (this.shard.filterRange !== undefined) this.keyInRange = new Int8Array(result.view.keys.length).fill(-1);
        this.subIndex = skipUpTo + 1;
        this.subSequenceNumber = sequenceNumber;
        this.subArrival = r.ApproximateArrivalTimestamp ?? NO_DATE;
        const sub = this.nextSub();
        if (sub !== undefined) return sub;
        continue;
      }
      if (skipUpTo >= 0) continue; // a whole record that was checkpointed
      if (result?.kind === 'corrupt') {
        this.corrupt++;
        log('%s/%s: record %s has the KPL magic but is corrupt (%s): delivered whole', this.shard.streamName, this.shard.shardId, sequenceNumber, result.reason);
      }
      const partitionKey = r.PartitionKey ?? '';
      this.records++;
      this.bytes += data.byteLength;
      return {
        data: this.passThrough ? (data as unknown as T) : this.decoded(data, partitionKey, sequenceNumber),
        partitionKey,
        sequenceNumber,
        approximateArrivalTimestamp: r.ApproximateArrivalTimestamp ?? NO_DATE,
        streamName: this.shard.streamName,
        shardId: this.shard.shardId,
        millisBehindLatest: this.millisBehindLatest,
      };
    }
    return undefined;
  }

  /** The next sub-record of the aggregate being split, or undefined (and the aggregate let go). */
  private nextSub(): KinesisRecord<T> | undefined {
    const view = this.subs!;
    const fields = view.fields;
    while (this.subIndex < view.count) {
      const i = this.subIndex++;
      const f = i * 4;
      const partitionKey = view.keys[fields[f + 2]];
      const hashKeyIndex = fields[f + 3];
      const explicitHashKey = hashKeyIndex >= 0 ? view.hashKeys[hashKeyIndex] : undefined;
      if (this.keyInRange !== undefined && !this.inShard(fields[f + 2], partitionKey, explicitHashKey)) {
        this.dropped++;
        continue;
      }
      const data = view.buffer.subarray(fields[f], fields[f + 1]);
      this.records++;
      this.bytes += data.byteLength;
      const record: KinesisRecord<T> = {
        data: this.passThrough ? (data as unknown as T) : this.decoded(data, partitionKey, this.subSequenceNumber),
        partitionKey,
        sequenceNumber: this.subSequenceNumber,
        subSequenceNumber: i,
        approximateArrivalTimestamp: this.subArrival,
        streamName: this.shard.streamName,
        shardId: this.shard.shardId,
        millisBehindLatest: this.millisBehindLatest,
      };
      if (explicitHashKey !== undefined) record.explicitHashKey = explicitHashKey;
      return record;
    }
    this.subs = undefined;
    this.keyInRange = undefined;
    return undefined;
  }

  /** Whether a sub-record belongs to this shard; by partition key index when it has no explicit hash key (one MD5 per key). */
  private inShard(keyIndex: number, partitionKey: string, explicitHashKey: string | undefined): boolean {
    const range = this.shard.filterRange!;
    if (explicitHashKey !== undefined) return inRange(hashKeyOf(partitionKey, explicitHashKey), range);
    const known = this.keyInRange![keyIndex];
    if (known >= 0) return known === 1;
    const inside = inRange(hashKeyOf(partitionKey), range);
    this.keyInRange![keyIndex] = inside ? 1 : 0;
    return inside;
  }

  private decoded(data: Buffer, partitionKey: string, sequenceNumber: string): T {
    return this.shard.decode(data, { streamName: this.shard.streamName, shardId: this.shard.shardId, sequenceNumber, partitionKey });
  }
}
