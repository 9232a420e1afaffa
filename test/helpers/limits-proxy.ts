/**
 * An HTTP/1.1 proxy on a free loopback port in front of kinesalite that enforces
 * Kinesis's per-shard limits, which the emulators do not: writes of `writeRecordsPerSecond`
 * records and `writeBytesPerSecond` bytes (data + partition key) per shard, reads of
 * `readCallsPerSecond` GetRecords calls and `readBytesPerSecond` bytes per shard. The
 * excess is refused as the service refuses it:
 * - PutRecords: the entries over their shard's limit fail with
 *   ProvisionedThroughputExceededException in the answer; the rest are forwarded and stored;
 * - PutRecord and GetRecords: HTTP 400 ProvisionedThroughputExceededException.
 * A GetRecords answer of more bytes than a second's worth leaves a debt, as a 10 MiB
 * answer does against 2 MiB/s (the next calls are refused for ~5 s).
 *
 * Entries are placed on shards by their hash key (MD5 of the partition key, or the
 * explicit hash key) and the upstream's ListShards map; GetRecords calls by the shard of
 * their iterator (the proxy remembers which shard each iterator it passed on is for).
 * Limits use the same token bucket as the library (lib/token-bucket.ts), with one
 * second of burst. Used by integration tests and benchmarks.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { hashKeyOf } from '../../lib/aggregation/hash-key.js';
import { LIMITS } from '../../lib/limits.js';
import { TokenBucket } from '../../lib/token-bucket.js';
import { ShardMap } from '../../lib/writable/shard-map.js';
import { mergeFailures, type PutRecordsAnswer } from './fault-proxy.js';
import { answerWith, base64Length, forwardRequest, listenForOperations } from './proxy-server.js';
import { localClientConfig } from './servers.js';

export interface LimitsProxyOptions {
  /** The server behind the proxy, e.g. `http://127.0.0.1:4567`. */
  upstream: string;
  /** Per shard. Defaults: the service's limits (1000 records/s, 1 MiB/s, 5 calls/s, 2 MiB/s). */
  writeRecordsPerSecond?: number;
  writeBytesPerSecond?: number;
  readCallsPerSecond?: number;
  readBytesPerSecond?: number;
  /**
   * Test hook for the writer's shard map check: answers every stored PutRecords entry that
   * has an explicit hash key (aggregates do) with another shard's id than its own.
   */
  misplaceExplicitHashKeys?: boolean;
}

/** What one shard saw. */
export interface ShardLimitStats {
  streamName: string;
  shardId: string;
  /** PutRecords/PutRecord entries that arrived. */
  entries: number;
  /** Entries stored, and their bytes (data + partition key). */
  acceptedRecords: number;
  acceptedBytes: number;
  /** Entries refused for the shard's write limit. */
  throttledEntries: number;
  /** GetRecords calls that arrived, calls refused, records and bytes returned. */
  getRecordsCalls: number;
  throttledCalls: number;
  recordsRead: number;
  bytesRead: number;
  /** When the shard's first request arrived (its buckets started full), in ms since the proxy started. */
  firstAt: number;
  /** Stored entries over time: [ms since the proxy started, records, bytes], one per request. */
  accepted: Array<[number, number, number]>;
  /** Answered GetRecords calls over time: [ms since the proxy started, records, bytes]. */
  reads: Array<[number, number, number]>;
}

export interface LimitsProxy {
  readonly url: string;
  /** Per-shard counters, by `stream/shardId`. */
  stats(): ShardLimitStats[];
  /** Entries refused in all (writes), and GetRecords calls refused. */
  throttledEntries(): number;
  throttledCalls(): number;
  /** Forgets the shard maps (after a reshard). */
  refreshShards(): void;
  stop(): Promise<void>;
}

interface ShardState {
  stats: ShardLimitStats;
  writeRecords: TokenBucket;
  writeBytes: TokenBucket;
  readCalls: TokenBucket;
  readBytes: TokenBucket;
}

interface PutEntry {
  Data?: string;
  PartitionKey?: string;
  ExplicitHashKey?: string;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

export async function startLimitsProxy(options: LimitsProxyOptions): Promise<LimitsProxy> {
  const upstream = new URL(options.upstream);
  const rates = {
    writeRecords: options.writeRecordsPerSecond ?? LIMITS.shardWriteRecordsPerSecond,
    writeBytes: options.writeBytesPerSecond ?? LIMITS.shardWriteBytesPerSecond,
    readCalls: options.readCallsPerSecond ?? LIMITS.shardGetRecordsCallsPerSecond,
    readBytes: options.readBytesPerSecond ?? LIMITS.shardReadBytesPerSecond,
  };
  const client = new KinesisClient(localClientConfig(options.upstream));
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const started = performance.now();
  const now = (): number => performance.now();
  const maps = new Map<string, Promise<ShardMap>>();
  const shards = new Map<string, ShardState>();
  const iterators = new Map<string, ShardState>();
  const abort = new AbortController();

  const mapOf = (streamName: string): Promise<ShardMap> => {
    let map = maps.get(streamName);
    if (map === undefined) {
      map = ShardMap.load(client, streamName, abort.signal);
      map.catch(() => maps.delete(streamName));
      maps.set(streamName, map);
    }
    return map;
  };

  const shardState = (streamName: string, shardId: string): ShardState => {
    const key = `${streamName}/${shardId}`;
    let state = shards.get(key);
    if (state === undefined) {
      const t = now();
      state = {
        stats: {
          streamName,
          shardId,
          firstAt: Math.round(t - started),
          entries: 0,
          acceptedRecords: 0,
          acceptedBytes: 0,
          throttledEntries: 0,
          getRecordsCalls: 0,
          throttledCalls: 0,
          recordsRead: 0,
          bytesRead: 0,
          accepted: [],
          reads: [],
        },
        writeRecords: new TokenBucket(rates.writeRecords, rates.writeRecords, t),
        writeBytes: new TokenBucket(rates.writeBytes, rates.writeBytes, t),
        readCalls: new TokenBucket(rates.readCalls, rates.readCalls, t),
        readBytes: new TokenBucket(rates.readBytes, rates.readBytes, t),
      };
      shards.set(key, state);
    }
    return state;
  };

  const refuse = (res: ServerResponse, shard: ShardState): void => {
    const body = Buffer.from(JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: throttleMessage(shard) }));
    res.writeHead(400, { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(body.length) });
    res.end(body);
  };

  /** Decides entry by entry, in order, which the shards accept now. */
  const admit = async (streamName: string, entries: PutEntry[]): Promise<Array<{ shard: ShardState; bytes: number; accepted: boolean }>> => {
    const map = await mapOf(streamName);
    const t = now();
    return entries.map((entry) => {
      const key = entry.PartitionKey ?? '';
      const shardId = map.shardFor(hashKeyOf(key, entry.ExplicitHashKey)) ?? 'unknown';
      const shard = shardState(streamName, shardId);
      const bytes = base64Length(entry.Data ?? '') + Buffer.byteLength(key, 'utf8');
      shard.stats.entries++;
      const accepted = shard.writeRecords.canTake(1, t) && shard.writeBytes.canTake(bytes, t);
      if (accepted) {
        shard.writeRecords.take(1, t);
        shard.writeBytes.take(bytes, t);
      } else {
        shard.stats.throttledEntries++;
      }
      return { shard, bytes, accepted };
    });
  };

  const recordAccepted = (decisions: Array<{ shard: ShardState; bytes: number; accepted: boolean }>): void => {
    const t = Math.round(now() - started);
    const perShard = new Map<ShardState, [number, number]>();
    for (const d of decisions) {
      if (!d.accepted) continue;
      const sum = perShard.get(d.shard) ?? [0, 0];
      sum[0]++;
      sum[1] += d.bytes;
      perShard.set(d.shard, sum);
    }
    for (const [shard, [records, bytes]] of perShard) {
      shard.stats.acceptedRecords += records;
      shard.stats.acceptedBytes += bytes;
      shard.stats.accepted.push([t, records, bytes]);
    }
  };

  const putRecords = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const request = JSON.parse(body.toString('utf8')) as { StreamName?: string; Records?: PutEntry[] };
    const entries = request.Records ?? [];
    const decisions = await admit(request.StreamName ?? '', entries);
    const refused = new Set<number>();
    decisions.forEach((d, i) => {
      if (!d.accepted) refused.add(i);
    });
    const failure = (i: number) => ({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: throttleMessage(decisions[i].shard) });
    if (refused.size === entries.length) {
      const all: PutRecordsAnswer = { FailedRecordCount: entries.length, Records: entries.map((_, i) => failure(i)) };
      const out = Buffer.from(JSON.stringify(all));
      res.writeHead(200, { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(out.length) });
      res.end(out);
      return;
    }
    const kept = entries.filter((_, i) => !refused.has(i));
    const result = await forwardRequest(agent, upstream, req, refused.size === 0 ? body : Buffer.from(JSON.stringify({ ...request, Records: kept })));
    if (result.status !== 200) return answerWith(res, result);
    recordAccepted(decisions);
    const parsed = JSON.parse(result.body.toString('utf8')) as PutRecordsAnswer;
    const merged = mergeFailures(parsed, entries.length, refused, failure);
    if (options.misplaceExplicitHashKeys === true) await misplace(request.StreamName ?? '', entries, merged);
    answerWith(res, result, Buffer.from(JSON.stringify(merged)));
  };

  /** Tells entries with an explicit hash key they landed on another shard than they did. */
  const misplace = async (streamName: string, entries: PutEntry[], merged: PutRecordsAnswer): Promise<void> => {
    const open = (await mapOf(streamName)).openShards();
    (merged.Records ?? []).forEach((result, i) => {
      if (result.ShardId === undefined || entries[i].ExplicitHashKey === undefined || open.length < 2) return;
      result.ShardId = open.find((s) => s.shardId !== result.ShardId)?.shardId;
    });
  };

  const putRecord = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const request = JSON.parse(body.toString('utf8')) as PutEntry & { StreamName?: string };
    const [decision] = await admit(request.StreamName ?? '', [request]);
    if (!decision.accepted) return refuse(res, decision.shard);
    const result = await forwardRequest(agent, upstream, req, body);
    if (result.status === 200) recordAccepted([decision]);
    answerWith(res, result);
  };

  const getShardIterator = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const request = JSON.parse(body.toString('utf8')) as { StreamName?: string; ShardId?: string };
    const result = await forwardRequest(agent, upstream, req, body);
    if (result.status === 200) {
      const iterator = (JSON.parse(result.body.toString('utf8')) as { ShardIterator?: string }).ShardIterator;
      if (iterator !== undefined) iterators.set(iterator, shardState(request.StreamName ?? '', request.ShardId ?? ''));
    }
    answerWith(res, result);
  };

  const getRecords = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const request = JSON.parse(body.toString('utf8')) as { ShardIterator?: string };
    const shard = iterators.get(request.ShardIterator ?? '');
    if (shard === undefined) return answerWith(res, await forwardRequest(agent, upstream, req, body));
    const t = now();
    shard.stats.getRecordsCalls++;
    // A call goes through while the shard's read bytes are not in debt.
    if (!shard.readCalls.canTake(1, t) || !shard.readBytes.canTake(0, t)) {
      shard.stats.throttledCalls++;
      return refuse(res, shard);
    }
    shard.readCalls.take(1, t);
    const result = await forwardRequest(agent, upstream, req, body);
    if (result.status === 200) {
      const parsed = JSON.parse(result.body.toString('utf8')) as { Records?: PutEntry[]; NextShardIterator?: string };
      let bytes = 0;
      for (const record of parsed.Records ?? []) bytes += base64Length(record.Data ?? '') + Buffer.byteLength(record.PartitionKey ?? '', 'utf8');
      shard.readBytes.take(bytes, now());
      const records = parsed.Records?.length ?? 0;
      shard.stats.recordsRead += records;
      shard.stats.bytesRead += bytes;
      shard.stats.reads.push([Math.round(now() - started), records, bytes]);
      iterators.delete(request.ShardIterator ?? '');
      if (parsed.NextShardIterator !== undefined) iterators.set(parsed.NextShardIterator, shard);
    }
    answerWith(res, result);
  };

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>> = {
    PutRecords: putRecords,
    PutRecord: putRecord,
    GetShardIterator: getShardIterator,
    GetRecords: getRecords,
  };

  const listener = await listenForOperations((req, res, operation, body) => {
    const handler = handlers[operation] ?? ((rq, rs, b) => forwardRequest(agent, upstream, rq, b).then((result) => answerWith(rs, result)));
    handler(req, res, body).catch(() => res.socket?.destroy());
  });

  const all = (): ShardLimitStats[] => [...shards.values()].map((s) => structuredClone(s.stats));
  let stopping: Promise<void> | undefined;
  return {
    url: listener.url,
    stats: all,
    throttledEntries: () => [...shards.values()].reduce((sum, s) => sum + s.stats.throttledEntries, 0),
    throttledCalls: () => [...shards.values()].reduce((sum, s) => sum + s.stats.throttledCalls, 0),
    refreshShards: () => maps.clear(),
    stop: () => {
      stopping ??= (async () => {
        abort.abort();
        agent.destroy();
        client.destroy();
        await listener.close();
      })();
      return stopping;
    },
  };
}

function throttleMessage(shard: ShardState): string {
  return `Rate exceeded for shard ${shard.stats.shardId} in stream ${shard.stats.streamName} under account 000000000000.`;
}
