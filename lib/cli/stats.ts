/**
 * `kinesis-node-streams stats`: a stream's shard tree, with checkpoints (and lease
 * owners) from a checkpoint store and how far behind each checkpoint is.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type ListShardsCommandInput, type Shard } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../client.js';
import { SHARD_END, type Checkpoint } from '../checkpoint/store.js';
import { required, type Flags } from './args.js';
import { clientOptions, storeFlag } from './context.js';

interface ShardRow {
  shardId: string;
  parents: string[];
  state: 'open' | 'closed';
  checkpoint: string | undefined;
  millisBehindLatest: number | undefined;
}

export async function stats(flags: Flags): Promise<number> {
  const streamName = required(flags, 'stream', 'stats');
  const store = storeFlag(flags, 'stats');
  const client = createKinesisClient(clientOptions(flags));
  try {
    const shards: Shard[] = [];
    let input: ListShardsCommandInput = { StreamName: streamName };
    for (;;) {
      const output = await client.send(new ListShardsCommand(input));
      shards.push(...(output.Shards ?? []));
      if (output.NextToken === undefined) break;
      input = { NextToken: output.NextToken };
    }
    const rows: ShardRow[] = [];
    for (const shard of shards) {
      const shardId = shard.ShardId ?? '';
      const checkpoint: Checkpoint | undefined = store === undefined ? undefined : await store.get(streamName, shardId);
      const row: ShardRow = {
        shardId,
        parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined),
        state: shard.SequenceNumberRange?.EndingSequenceNumber === undefined ? 'open' : 'closed',
        checkpoint: checkpoint === undefined ? undefined : checkpoint.sequenceNumber + (checkpoint.subSequenceNumber ? `/${checkpoint.subSequenceNumber}` : ''),
        millisBehindLatest: undefined,
      };
      if (checkpoint !== undefined && checkpoint.sequenceNumber !== SHARD_END) {
        // How far behind the tip the next unread record is.
        const { ShardIterator } = await client.send(
          new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint.sequenceNumber }),
        );
        const next = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
        row.millisBehindLatest = next.MillisBehindLatest;
      }
      rows.push(row);
    }
    if (flags.json === true) process.stdout.write(`${JSON.stringify({ streamName, shards: rows }, null, 2)}\n`);
    else process.stdout.write(table(streamName, rows));
    return 0;
  } finally {
    client.destroy();
  }
}

function table(streamName: string, rows: ShardRow[]): string {
  const header = ['shard', 'state', 'parents', 'checkpoint', 'behind (ms)'];
  const lines = rows.map((r) => [r.shardId, r.state, r.parents.join(',') || '-', r.checkpoint ?? '-', r.millisBehindLatest === undefined ? '-' : String(r.millisBehindLatest)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const open = rows.filter((r) => r.state === 'open').length;
  return `${streamName}: ${rows.length} shard(s), ${open} open\n${[format(header), ...lines.map(format)].join('\n')}\n`;
}
