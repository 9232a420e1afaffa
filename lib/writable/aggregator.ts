/**
 * The aggregating writer's packing of user records into KPL aggregates, per target
 * shard: an aggregate never mixes records of two shards (by the ListShards map), never
 * exceeds maxBytes (data + partition key), and is placed on its shard by an explicit
 * hash key. Records written without a partition key share one random key per aggregate
 * (one MD5 and one key-table entry instead of one per record). Pure logic, no I/O.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AggregateBuilder } from '../aggregation/aggregate.js';
import { hashKeyOf, hashKeyToDecimal } from '../aggregation/hash-key.js';
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
  hashKey: Buffer;
}

/** Partition keys whose MD5 is remembered (keys repeat: user ids, device ids...). */
const HASH_CACHE_SIZE = 10000;

export class Aggregator<T> {
  /** Open aggregates of keyed records, by shard. */
  private readonly open = new Map<string, OpenAggregate<T>>();
  /** The open aggregate of records written without a key. */
  private keyless: OpenAggregate<T> | undefined;
  private readonly hashes = new Map<string, Buffer>();

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
  add(record: PendingRecord<T>, map: ShardMap): PendingRecord<T>[] {
    const data = record.entry.Data as Uint8Array;
    const ready: PendingRecord<T>[] = [];
    if (record.keyless) {
      if (this.keyless !== undefined && !this.fits(this.keyless, this.keyless.partitionKey, undefined, data.byteLength)) {
        ready.push(this.close(this.keyless));
        this.keyless = undefined;
      }
      if (this.keyless === undefined) {
        const key = randomPartitionKey();
        const hashKey = hashKeyOf(key);
        const aggregate = this.start(map.shardFor(hashKey) ?? '', key, hashKey);
        if (!this.fits(aggregate, key, undefined, data.byteLength)) {
          ready.push(record); // too large to aggregate: it goes as a plain record
          return ready;
        }
        this.keyless = aggregate;
      }
      this.keyless.builder.add({ partitionKey: this.keyless.partitionKey, data });
      this.keyless.members.push(record);
      return ready;
    }
    const partitionKey = record.entry.PartitionKey as string;
    const explicitHashKey = record.entry.ExplicitHashKey;
    const hashKey = explicitHashKey !== undefined ? hashKeyOf(partitionKey, explicitHashKey) : this.hashOf(partitionKey);
    const shardId = map.shardFor(hashKey) ?? '';
    let aggregate = this.open.get(shardId);
    if (aggregate !== undefined && !this.fits(aggregate, partitionKey, explicitHashKey, data.byteLength)) {
      ready.push(this.close(aggregate));
      this.open.delete(shardId);
      aggregate = undefined;
    }
    if (aggregate === undefined) {
      aggregate = this.start(shardId, partitionKey, hashKey);
      if (!this.fits(aggregate, partitionKey, explicitHashKey, data.byteLength)) {
        ready.push(record);
        return ready;
      }
      this.open.set(shardId, aggregate);
    }
    const user: { partitionKey: string; data: Uint8Array; explicitHashKey?: string } = { partitionKey, data };
    if (explicitHashKey !== undefined) user.explicitHashKey = explicitHashKey;
    aggregate.builder.add(user);
    aggregate.members.push(record);
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

  private start(shardId: string, partitionKey: string, hashKey: Buffer): OpenAggregate<T> {
    return { shardId, builder: new AggregateBuilder(), members: [], partitionKey, partitionKeyBytes: Buffer.byteLength(partitionKey, 'utf8'), hashKey };
  }

  private fits(aggregate: OpenAggregate<T>, partitionKey: string, explicitHashKey: string | undefined, dataBytes: number): boolean {
    return aggregate.builder.sizeWith(partitionKey, explicitHashKey, dataBytes) + aggregate.partitionKeyBytes <= this.maxBytes;
  }

  private close(aggregate: OpenAggregate<T>): PendingRecord<T> {
    const first = aggregate.members[0];
    const data = aggregate.builder.encode();
    const entry: PutRecordsRequestEntry = {
      Data: data,
      PartitionKey: aggregate.partitionKey,
      // Place it by the hash it was grouped by, whatever its key hashes to.
      ExplicitHashKey: hashKeyToDecimal(aggregate.hashKey),
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

  private hashOf(partitionKey: string): Buffer {
    let hashKey = this.hashes.get(partitionKey);
    if (hashKey === undefined) {
      if (this.hashes.size >= HASH_CACHE_SIZE) this.hashes.clear();
      hashKey = hashKeyOf(partitionKey);
      this.hashes.set(partitionKey, hashKey);
    }
    return hashKey;
  }
}
