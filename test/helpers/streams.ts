/**
 * Reading helpers shared by the integration tests: take exactly n records from a reader,
 * and check a delivery of `{ key, n }` items for exactly-once and per-key order.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import { createKinesisWritable, type KinesisReadable, type KinesisRecord } from '../../lib/index.js';

/** An item written by the tests: its key and its position in the write order. */
export interface Item {
  key: number;
  n: number;
}

/** Reads exactly `count` records (leaves the stream open). */
export async function readUntil<T>(reader: KinesisReadable<T>, count: number): Promise<Array<KinesisRecord<T>>> {
  const out: Array<KinesisRecord<T>> = [];
  while (out.length < count) {
    const record = reader.read() as KinesisRecord<T> | null;
    if (record !== null) out.push(record);
    else await once(reader, 'readable');
  }
  return out;
}

/** from, from + 1, …, to − 1. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Every expected n delivered exactly once, and per key in write order. */
export function assertExactlyOnceInOrder(records: Array<KinesisRecord<Item>>, expected: number[]): void {
  const ns = records.map((r) => r.data.n);
  assert.equal(new Set(ns).size, ns.length, 'no duplicates');
  assert.deepEqual([...ns].sort((a, b) => a - b), expected);
  const last = new Map<number, number>();
  for (const { data } of records) {
    assert.ok(data.n > (last.get(data.key) ?? -1), `key ${data.key}: ${data.n} after ${last.get(data.key)}`);
    last.set(data.key, data.n);
  }
}

/** Items n = from … to − 1, spread over `keys` partition keys (key = n mod keys). */
export function items(from: number, to: number, keys: number): Item[] {
  return Array.from({ length: to - from }, (_, i) => ({ key: (from + i) % keys, n: from + i }));
}

/** Writes items n = from … to − 1 over `keys` keys (`key-K`), in order per key, and waits until all are stored. */
export async function writeItems(endpoint: string, streamName: string, from: number, to: number, keys: number): Promise<void> {
  await pipeline(
    Readable.from(items(from, to, keys)),
    createKinesisWritable<Item>({ endpoint, streamName, partitionKey: (item) => `key-${item.key}`, preserveOrder: true }),
  );
}

/** A record as the service stored it, with the shard it is on. */
export type StoredRecord = _Record & { shardId: string };

/**
 * Every record of every shard of a stream, read with the raw SDK (independent of the
 * package's reader), shard after shard in sequence order. Everything must have been
 * written before: an empty page is taken as the end of an open shard.
 */
export async function readStored(client: KinesisClient, streamName: string): Promise<StoredRecord[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const all: StoredRecord[] = [];
  for (const shard of Shards) {
    const shardId = shard.ShardId ?? '';
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator !== undefined) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
      const records = page.Records ?? [];
      for (const record of records) all.push({ ...record, shardId });
      iterator = records.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  return all;
}

/** A stored record's data parsed as JSON. */
export function storedJson<T>(record: _Record): T {
  return JSON.parse(Buffer.from(record.Data ?? new Uint8Array()).toString('utf8')) as T;
}
