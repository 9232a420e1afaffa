/**
 * Which open shard of a stream a hash key lands on, from ListShards: what the
 * aggregating writer needs so that an aggregate never mixes records of two shards, and
 * the rate limiter to queue each record behind its shard's tokens.
 */
import { ListShardsCommand, type KinesisClient, type ListShardsCommandInput } from '@aws-sdk/client-kinesis';
import { decimalToHex, hashKeyHex } from '../aggregation/hash-key.js';
import { WRITABLE_DEFAULTS } from '../limits.js';
import { randomPartitionKey } from './partition-key.js';

interface MappedShard {
  shardId: string;
  /** The range's first hash key, in decimal (an explicit hash key that lands on this shard). */
  startingHashKey: string;
  /** The range as 32 hex digits: string comparison is the numeric one, and far cheaper than Buffer.compare. */
  startHex: string;
  endHex: string;
  open: boolean;
}

export class ShardMap {
  /** Open shards, by ascending start of range. */
  private readonly open: MappedShard[];
  /** Every listed shard (open or closed), by id. */
  private readonly byId: Map<string, MappedShard>;
  /**
   * Shards of partition keys (and of explicit hash keys) already placed: keys repeat
   * (user ids, devices), and this map never changes, so a repeated key costs one lookup
   * instead of an MD5 and a search. Bounded: cleared when full.
   */
  private readonly byKey = new Map<string, string | undefined>();
  private readonly byExplicitHashKey = new Map<string, string | undefined>();
  /** Per open shard, a partition key that lands on it ('' when none was found): see keyFor. */
  private readonly keysByShard = new Map<string, string>();

  constructor(shards: Array<{ shardId: string; start: string; end: string; open: boolean }>) {
    const mapped = shards.map((s): MappedShard => {
      const startHex = decimalToHex(s.start);
      const endHex = decimalToHex(s.end);
      return { shardId: s.shardId, startingHashKey: s.start, startHex, endHex, open: s.open };
    });
    this.byId = new Map(mapped.map((s) => [s.shardId, s]));
    this.open = mapped.filter((s) => s.open).sort((a, b) => (a.startHex < b.startHex ? -1 : a.startHex > b.startHex ? 1 : 0));
  }

  /** Lists the stream's shards. Throws what the SDK throws. */
  static async load(client: KinesisClient, streamName: string, abortSignal: AbortSignal): Promise<ShardMap> {
    const shards: Array<{ shardId: string; start: string; end: string; open: boolean }> = [];
    let input: ListShardsCommandInput = { StreamName: streamName };
    for (;;) {
      const output = await client.send(new ListShardsCommand(input), { abortSignal });
      for (const shard of output.Shards ?? []) {
        if (shard.ShardId === undefined || shard.HashKeyRange?.StartingHashKey === undefined || shard.HashKeyRange.EndingHashKey === undefined) continue;
        shards.push({
          shardId: shard.ShardId,
          start: shard.HashKeyRange.StartingHashKey,
          end: shard.HashKeyRange.EndingHashKey,
          open: shard.SequenceNumberRange?.EndingSequenceNumber === undefined,
        });
      }
      if (output.NextToken === undefined) return new ShardMap(shards);
      input = { NextToken: output.NextToken };
    }
  }

  /** The open shard whose range holds `hashKey` (16 bytes, big-endian). */
  shardFor(hashKey: Buffer): string | undefined {
    return this.shardForHex(hashKey.toString('hex'));
  }

  /** The open shard whose range holds `hex` (a hash key as 32 lowercase hex digits, see hashKeyHex). */
  shardForHex(hex: string): string | undefined {
    const open = this.open;
    let low = 0;
    let high = open.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const shard = open[mid];
      if (hex < shard.startHex) high = mid - 1;
      else if (hex > shard.endHex) low = mid + 1;
      else return shard.shardId;
    }
    return undefined;
  }

  /** The open shard a record with this partition key (or explicit hash key) lands on; remembered per key. */
  shardOfKey(partitionKey: string, explicitHashKey?: string): string | undefined {
    const cache = explicitHashKey === undefined ? this.byKey : this.byExplicitHashKey;
    const key = explicitHashKey ?? partitionKey;
    let shardId = cache.get(key);
    if (shardId === undefined && !cache.has(key)) {
      if (cache.size >= WRITABLE_DEFAULTS.shardCacheSize) cache.clear();
      shardId = this.shardForHex(hashKeyHex(partitionKey, explicitHashKey));
      cache.set(key, shardId);
    }
    return shardId;
  }

  /**
   * A partition key that lands on `shardId` by its own MD5, for records written without a
   * key: found once by hashing random keys (every key tried is kept for whichever shard it
   * lands on), then reused. Undefined for a shard too narrow to hit within
   * shardKeySearchTries (the caller places by an explicit hash key instead).
   */
  keyFor(shardId: string): string | undefined {
    const known = this.keysByShard.get(shardId);
    if (known !== undefined) return known === '' ? undefined : known;
    for (let i = 0; i < WRITABLE_DEFAULTS.shardKeySearchTries; i++) {
      const candidate = randomPartitionKey();
      const landsOn = this.shardForHex(hashKeyHex(candidate));
      if (landsOn === undefined || this.keysByShard.has(landsOn)) continue;
      this.keysByShard.set(landsOn, candidate);
      if (landsOn === shardId) return candidate;
    }
    this.keysByShard.set(shardId, '');
    return undefined;
  }

  /** The open shards, by ascending hash key range. */
  openShards(): ReadonlyArray<{ readonly shardId: string; readonly startingHashKey: string }> {
    return this.open;
  }

  /** Whether a record with this partition key (or explicit hash key) lands on the listed shard `shardId`, open or closed. */
  holds(shardId: string, partitionKey: string, explicitHashKey?: string): boolean {
    const shard = this.byId.get(shardId);
    if (shard === undefined) return false;
    const hex = hashKeyHex(partitionKey, explicitHashKey);
    return hex >= shard.startHex && hex <= shard.endHex;
  }
}
