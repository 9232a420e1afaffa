/**
 * Which open shard of a stream a hash key lands on, from ListShards: what the
 * aggregating writer needs so that an aggregate never mixes records of two shards.
 */
import { ListShardsCommand, type KinesisClient, type ListShardsCommandInput } from '@aws-sdk/client-kinesis';
import { decimalToHashKey, type HashKeyRange } from '../aggregation/hash-key.js';

interface MappedShard extends HashKeyRange {
  shardId: string;
  /** The range's first hash key, in decimal (an explicit hash key that lands on this shard). */
  startingHashKey: string;
  open: boolean;
}

export class ShardMap {
  /** Open shards, by ascending start of range. */
  private readonly open: MappedShard[];
  /** Every listed shard (open or closed), by id. */
  private readonly byId: Map<string, MappedShard>;

  constructor(shards: Array<{ shardId: string; start: string; end: string; open: boolean }>) {
    const mapped = shards.map((s) => ({ shardId: s.shardId, startingHashKey: s.start, start: decimalToHashKey(s.start), end: decimalToHashKey(s.end), open: s.open }));
    this.byId = new Map(mapped.map((s) => [s.shardId, s]));
    this.open = mapped.filter((s) => s.open).sort((a, b) => Buffer.compare(a.start, b.start));
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
    let low = 0;
    let high = this.open.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const shard = this.open[mid];
      if (Buffer.compare(hashKey, shard.start) < 0) high = mid - 1;
      else if (Buffer.compare(hashKey, shard.end) > 0) low = mid + 1;
      else return shard.shardId;
    }
    return undefined;
  }

  /** The open shards, by ascending hash key range. */
  openShards(): ReadonlyArray<{ readonly shardId: string; readonly startingHashKey: string }> {
    return this.open;
  }

  /** The range of a listed shard, open or closed. */
  rangeOf(shardId: string): HashKeyRange | undefined {
    return this.byId.get(shardId);
  }
}
