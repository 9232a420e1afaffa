/**
 * The aggregating writer's packing of user records into KPL aggregates, per target
 * shard: an aggregate never mixes records of two shards (by the ListShards map), never
 * exceeds maxBytes (data + partition key), and is placed on its shard by an explicit
 * hash key. Records written without a partition key share one random key per aggregate
 * (one MD5 and one key-table entry instead of one per record). Pure logic, no I/O.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AggregateBuilder, type UserRecord } from '../aggregation/aggregate.js';
import { hashKeyHex, hexToDecimal } from '../aggregation/hash-key.js';
import { randomPartitionKey } from './partition-key.js';
import type { PendingRecord } from './record.js';
import type { ShardMap } from './shard-map.js';

interface OpenAggregate<T> {
  shardId: string;
  builder: AggregateBuilder;
  members: PendingRecord<T>[];
  /** Partition key and hash key of the aggregate (its first keyed record's, or the shared random key's). */
  partitionKey: string;
  partitionKeyBytes: number;
  /** As 32 hex digits (see hashKeyHex). */
  hashKey: string;
}

/** The common answer of add(): the record joined an open aggregate, nothing to queue. */
const NOTHING: readonly never[] = Object.freeze([]);


export class Aggregator<T> {
  /** Open aggregates of keyed records, by shard. */
  private readonly open = new Map<string, OpenAggregate<T>>();
  /** The open aggregate of records written without a key. */
  private keyless: OpenAggregate<T> | undefined;

  constructor(
    private readonly streamName: string,
    private readonly maxBytes: number,
    /** With preserveOrder: aggregates of one shard are queued under one blocking key. */
    private readonly blockByShard: boolean,
  ) {}

  /** True when user records wait in open aggregates. */
  get hasOpen(): boolean {
    return this.keyless !== undefined || this.open.size > 0;
  }

  /**
   * Adds a user record; returns the records ready to queue: a closed aggregate that
   * could not take it, or the record itself when it is too large to aggregate.
   */
  add(record: PendingRecord<T>, map: ShardMap): readonly PendingRecord<T>[] {
    const data = record.entry.Data as Uint8Array;
    if (record.keyless) {
      if (this.keyless !== undefined && this.join(this.keyless, { partitionKey: this.keyless.partitionKey, data }, record)) return NOTHING;
      const ready: PendingRecord<T>[] = [];
      if (this.keyless !== undefined) ready.push(this.close(this.keyless));
      const key = randomPartitionKey();
      const hashKey = hashKeyHex(key);
      const aggregate = this.start(map.shardForHex(hashKey) ?? '', key, hashKey);
      this.keyless = undefined;
      if (!this.join(aggregate, { partitionKey: key, data }, record)) {
        ready.push(record); // too large to aggregate: it goes as a plain record
        return ready;
      }
      this.keyless = aggregate;
      return ready;
    }
    const partitionKey = record.entry.PartitionKey as string;
    const explicitHashKey = record.entry.ExplicitHashKey;
    const shardId = map.shardOfKey(partitionKey, explicitHashKey) ?? '';
    const user: UserRecord = { partitionKey, data };
    if (explicitHashKey !== undefined) user.explicitHashKey = explicitHashKey;
    const open = this.open.get(shardId);
    if (open !== undefined && this.join(open, user, record)) return NOTHING;
    const ready: PendingRecord<T>[] = [];
    if (open !== undefined) {
      ready.push(this.close(open));
      this.open.delete(shardId);
    }
    // The aggregate's hash key is its first record's: computed once per aggregate, not per record.
    const aggregate = this.start(shardId, partitionKey, hashKeyHex(partitionKey, explicitHashKey));
    if (!this.join(aggregate, user, record)) {
      ready.push(record); // too large to aggregate: it goes as a plain record
      return ready;
    }
    this.open.set(shardId, aggregate);
    return ready;
  }

  /** Closes every open aggregate (linger expired, flush, end). */
  closeAll(): PendingRecord<T>[] {
    const ready: PendingRecord<T>[] = [];
    for (const aggregate of this.open.values()) ready.push(this.close(aggregate));
    this.open.clear();
    if (this.keyless !== undefined) ready.push(this.close(this.keyless));
    this.keyless = undefined;
    return ready;
  }

  /** Every user record in an open aggregate. */
  forEachOpen(fn: (record: PendingRecord<T>) => void): void {
    for (const aggregate of this.open.values()) aggregate.members.forEach(fn);
    this.keyless?.members.forEach(fn);
  }

  /** Takes every user record out of the open aggregates (the writer stops). */
  drain(): PendingRecord<T>[] {
    const records: PendingRecord<T>[] = [];
    this.forEachOpen((record) => records.push(record));
    this.open.clear();
    this.keyless = undefined;
    return records;
  }

  private start(shardId: string, partitionKey: string, hashKey: string): OpenAggregate<T> {
    return { shardId, builder: new AggregateBuilder(), members: [], partitionKey, partitionKeyBytes: Buffer.byteLength(partitionKey, 'utf8'), hashKey };
  }

  /** Adds the user record to the aggregate if it fits (data + the aggregate's key within maxBytes). */
  private join(aggregate: OpenAggregate<T>, user: UserRecord, record: PendingRecord<T>): boolean {
    if (!aggregate.builder.tryAdd(user, this.maxBytes - aggregate.partitionKeyBytes)) return false;
    aggregate.members.push(record);
    return true;
  }

  private close(aggregate: OpenAggregate<T>): PendingRecord<T> {
    const first = aggregate.members[0];
    const data = aggregate.builder.encode();
    const entry: PutRecordsRequestEntry = {
      Data: data,
      PartitionKey: aggregate.partitionKey,
      // Place it by the hash it was grouped by, whatever its key hashes to.
      ExplicitHashKey: hexToDecimal(aggregate.hashKey),
    };
    return {
      id: first.id,
      item: first.item,
      streamName: this.streamName,
      entry,
      partitionKey: this.blockByShard ? `\u0000shard:${aggregate.shardId}` : aggregate.partitionKey,
      size: data.byteLength + aggregate.partitionKeyBytes,
      attempts: 0,
      keyless: false,
      members: aggregate.members,
      expectedShardId: aggregate.shardId,
    };
  }
}
