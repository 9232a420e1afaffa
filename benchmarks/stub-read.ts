/**
 * The read side of the benchmark stub server (benchmarks/stub-server.ts): streams whose
 * records live in memory, answered through ListShards, DescribeStreamSummary,
 * GetShardIterator and GetRecords in the JSON protocol exactly as Kinesis sends it
 * (`Records[].Data` base64, `ApproximateArrivalTimestamp` in epoch seconds, 56-digit
 * `SequenceNumber`s, `NextShardIterator`, `MillisBehindLatest`).
 *
 * A stream has S open shards of N records of B bytes each. Record i of shard s has the
 * sequence number `49` + s (6 digits) + i (48 digits), so sequence numbers are constant
 * length and increase along a shard; its data is payload (s·7 + i) mod 1024 of
 * benchmarks/payloads.ts and its partition key one of 1024 ten-character keys. Iterators
 * encode (stream, shard, offset): the stub keeps no per-reader state, every reader can
 * start again from TRIM_HORIZON. Shards never close: NextShardIterator is always present,
 * MillisBehindLatest is > 0 while records remain after the page and 0 once a page reaches
 * the end, and a GetRecords at the end returns no records.
 *
 * Streams come from the command line (`--read-stream NAME --read-shards S
 * --read-records-per-shard N --read-record-bytes B`) or on the fly: any stream named
 * `read-<S>x<N>x<B>` (e.g. `read-4x100000x100`) exists with that shape.
 *
 * Keeping the stub's own CPU small: each answer body is serialised once per (shard,
 * offset, limit) and kept as a Buffer in a byte-bounded LRU cache; `prime()` builds the
 * pages of aligned reads (offsets 0, L, 2L, ...) ahead of a benchmark.
 */
import { aggregate } from '../lib/aggregation/aggregate.js';
import { buildPayloads, RING_SIZE } from './payloads.js';

/** GetRecords answers at most this many records … */
const GET_RECORDS_MAX_RECORDS = 10_000;
/** … and at most this much data. */
const GET_RECORDS_MAX_BYTES = 10 * 1024 * 1024;
const ON_THE_FLY = /^read-(\d+)x(\d+)x(\d+)$/;
/** `agg-<shards>x<aggregatesPerShard>x<userRecordsPerAggregate>x<userRecordBytes>`: a stream of KPL aggregates. */
const ON_THE_FLY_AGGREGATED = /^agg-(\d+)x(\d+)x(\d+)x(\d+)$/;
/** Distinct aggregates per aggregated stream, cycled like the plain payload ring; a power of two. */
export const AGGREGATE_RING_SIZE = 8;
const SEQUENCE_DIGITS = 56;
const SHARD_DIGITS = 6;

/** Counters of one read stream, reported by GET /stats. */
export interface ReadCounters {
  listShards: number;
  getShardIterator: number;
  getRecords: number;
  /** GetRecords answers that carried no record (caught up). */
  emptyGetRecords: number;
  recordsServed: number;
  dataBytesServed: number;
  responseBytesServed: number;
  /** Pages built (cache misses) and served from the cache. */
  pagesBuilt: number;
  pagesCached: number;
}

export interface Answer {
  status: number;
  payload: string | Buffer;
}

interface Page {
  body: Buffer;
  records: number;
  dataBytes: number;
}

interface ReadStream {
  name: string;
  shards: number;
  recordsPerShard: number;
  /** Data bytes of one Kinesis record (an aggregate's whole size in an aggregated stream). */
  recordBytes: number;
  /** Base64 data of the records, cycled (a power of two long). */
  ring: string[];
  shardIds: string[];
  /** Arrival time of record 0 of every shard, ms; record i arrived i ms later. */
  baseMs: number;
  counters: ReadCounters;
}

function newCounters(): ReadCounters {
  return {
    listShards: 0,
    getShardIterator: 0,
    getRecords: 0,
    emptyGetRecords: 0,
    recordsServed: 0,
    dataBytesServed: 0,
    responseBytesServed: 0,
    pagesBuilt: 0,
    pagesCached: 0,
  };
}

function clientError(type: string, message: string): Answer {
  return { status: 400, payload: JSON.stringify({ __type: type, message }) };
}

function notFound(name: string): Answer {
  return clientError('ResourceNotFoundException', `Stream ${name} under account 000000000000 not found.`);
}

/** Base64 payload rings and partition keys, shared by every stream of a record size. */
const rings = new Map<number, string[]>();
export const PARTITION_KEYS = Array.from({ length: RING_SIZE }, (_, i) => `pk-${String((i * 7919) % 10_000_000).padStart(7, '0')}`);

/**
 * The aggregates of an aggregated stream: AGGREGATE_RING_SIZE KPL aggregates (made by the
 * library's aggregate()) of `users` records of `userBytes` each, payloads and partition keys
 * from the same rings as the plain streams. Every aggregate has the same size.
 */
export function aggregateRing(users: number, userBytes: number): Buffer[] {
  const payloads = buildPayloads(userBytes);
  const mask = RING_SIZE - 1;
  return Array.from({ length: AGGREGATE_RING_SIZE }, (_, a) => {
    const records = Array.from({ length: users }, (_, j) => ({ partitionKey: PARTITION_KEYS[(a * users + j) & mask], data: payloads[(a * users + j) & mask] }));
    const packed = aggregate(records, { maxBytes: 1024 * 1024 });
    if (packed.length !== 1 || packed[0].count !== users) throw new Error(`${users} records of ${userBytes} B did not make one aggregate`);
    return packed[0].data;
  });
}

const aggregateRings = new Map<string, { ring: string[]; bytes: number }>();

function aggregateBase64Ring(users: number, userBytes: number): { ring: string[]; bytes: number } {
  const key = `${users}x${userBytes}`;
  let entry = aggregateRings.get(key);
  if (entry === undefined) {
    const ring = aggregateRing(users, userBytes);
    if (ring.some((b) => b.length !== ring[0].length)) throw new Error('aggregates of one stream must have one size');
    entry = { ring: ring.map((b) => b.toString('base64')), bytes: ring[0].length };
    aggregateRings.set(key, entry);
  }
  return entry;
}

function base64Ring(recordBytes: number): string[] {
  let ring = rings.get(recordBytes);
  if (ring === undefined) {
    ring = buildPayloads(recordBytes).map((b) => b.toString('base64'));
    rings.set(recordBytes, ring);
  }
  return ring;
}

export class ReadSide {
  private readonly streams = new Map<string, ReadStream>();
  /** Page bodies by `stream|shard|offset|limit`, least recently used first. */
  private readonly cache = new Map<string, Page>();
  private cacheBytes = 0;

  constructor(private readonly cacheLimitBytes: number) {}

  /** Declares a stream (command line). */
  define(name: string, shards: number, recordsPerShard: number, recordBytes: number, ring?: string[]): void {
    if (!(Number.isInteger(shards) && shards >= 1 && Number.isInteger(recordsPerShard) && recordsPerShard >= 0 && Number.isInteger(recordBytes) && recordBytes >= 1)) {
      throw new Error(`bad read stream ${name}: ${shards} shards × ${recordsPerShard} records × ${recordBytes} B`);
    }
    this.streams.set(name, {
      name,
      shards,
      recordsPerShard,
      recordBytes,
      ring: ring ?? base64Ring(recordBytes),
      shardIds: Array.from({ length: shards }, (_, i) => `shardId-${String(i).padStart(12, '0')}`),
      baseMs: Date.now() - recordsPerShard - 60_000,
      counters: newCounters(),
    });
  }

  /** Declares a stream of KPL aggregates: every Kinesis record holds `users` user records of `userBytes`. */
  defineAggregated(name: string, shards: number, aggregatesPerShard: number, users: number, userBytes: number): void {
    const { ring, bytes } = aggregateBase64Ring(users, userBytes);
    this.define(name, shards, aggregatesPerShard, bytes, ring);
  }

  /** The stream of that name, declared or made on the fly; undefined when it is neither. */
  stream(name: string | undefined): ReadStream | undefined {
    if (name === undefined) return undefined;
    const existing = this.streams.get(name);
    if (existing !== undefined) return existing;
    const aggregated = ON_THE_FLY_AGGREGATED.exec(name);
    if (aggregated !== null) {
      this.defineAggregated(name, Number(aggregated[1]), Number(aggregated[2]), Number(aggregated[3]), Number(aggregated[4]));
      return this.streams.get(name);
    }
    const match = ON_THE_FLY.exec(name);
    if (match === null) return undefined;
    this.define(name, Number(match[1]), Number(match[2]), Number(match[3]));
    return this.streams.get(name);
  }

  has(name: string | undefined): boolean {
    return this.stream(name) !== undefined;
  }

  counters(name?: string): Record<string, ReadCounters> {
    const out: Record<string, ReadCounters> = {};
    for (const s of this.streams.values()) if (name === undefined || s.name === name) out[s.name] = { ...s.counters };
    return out;
  }

  /** Totals over every read stream. */
  totals(): ReadCounters & { cacheBytes: number; cachePages: number } {
    const t = newCounters();
    for (const s of this.streams.values()) {
      for (const key of Object.keys(t) as Array<keyof ReadCounters>) t[key] += s.counters[key];
    }
    return { ...t, cacheBytes: this.cacheBytes, cachePages: this.cache.size };
  }

  /** Builds (and caches) the pages of reads from TRIM_HORIZON in steps of `limit`. */
  prime(name: string, limit: number): { pages: number; bytes: number } | undefined {
    const s = this.stream(name);
    if (s === undefined) return undefined;
    let pages = 0;
    let bytes = 0;
    for (let shard = 0; shard < s.shards; shard++) {
      for (let offset = 0; offset < s.recordsPerShard; ) {
        const page = this.page(s, shard, offset, limit, false);
        pages++;
        bytes += page.body.length;
        offset += page.records;
      }
    }
    return { pages, bytes };
  }

  listShards(name: string | undefined): Answer {
    const s = this.stream(name);
    if (s === undefined) return notFound(String(name));
    s.counters.listShards++;
    const span = (1n << 128n) / BigInt(s.shards);
    const shards = s.shardIds.map((shardId, i) => {
      const start = span * BigInt(i);
      const end = i === s.shards - 1 ? (1n << 128n) - 1n : start + span - 1n;
      return {
        ShardId: shardId,
        HashKeyRange: { StartingHashKey: start.toString(), EndingHashKey: end.toString() },
        SequenceNumberRange: { StartingSequenceNumber: sequenceNumber(i, 0) },
      };
    });
    return { status: 200, payload: JSON.stringify({ Shards: shards }) };
  }

  describeStreamSummary(name: string | undefined): Answer {
    const s = this.stream(name);
    if (s === undefined) return notFound(String(name));
    return {
      status: 200,
      payload: JSON.stringify({
        StreamDescriptionSummary: {
          StreamName: s.name,
          StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${s.name}`,
          StreamStatus: 'ACTIVE',
          StreamModeDetails: { StreamMode: 'PROVISIONED' },
          RetentionPeriodHours: 24,
          StreamCreationTimestamp: Math.floor(s.baseMs / 1000),
          EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
          EncryptionType: 'NONE',
          OpenShardCount: s.shards,
          ConsumerCount: 0,
        },
      }),
    };
  }

  getShardIterator(body: {
    StreamName?: string;
    ShardId?: string;
    ShardIteratorType?: string;
    StartingSequenceNumber?: string;
    Timestamp?: number;
  }): Answer {
    const s = this.stream(body.StreamName);
    if (s === undefined) return notFound(String(body.StreamName));
    s.counters.getShardIterator++;
    const shard = s.shardIds.indexOf(body.ShardId ?? '');
    if (shard < 0) return clientError('ResourceNotFoundException', `Shard ${body.ShardId} in stream ${s.name} under account 000000000000 does not exist`);
    let offset: number;
    switch (body.ShardIteratorType) {
      case 'TRIM_HORIZON':
        offset = 0;
        break;
      case 'LATEST':
        offset = s.recordsPerShard;
        break;
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        const at = offsetOf(body.StartingSequenceNumber, shard);
        if (at === undefined) {
          return clientError('InvalidArgumentException', `StartingSequenceNumber ${body.StartingSequenceNumber} used in GetShardIterator on shard ${body.ShardId} in stream ${s.name} under account 000000000000 is invalid.`);
        }
        offset = Math.min(s.recordsPerShard, body.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? at : at + 1);
        break;
      }
      case 'AT_TIMESTAMP': {
        if (typeof body.Timestamp !== 'number') return clientError('InvalidArgumentException', 'AT_TIMESTAMP needs a Timestamp');
        offset = Math.min(s.recordsPerShard, Math.max(0, Math.ceil(body.Timestamp * 1000 - s.baseMs)));
        break;
      }
      default:
        return clientError('ValidationException', `1 validation error detected: Value '${body.ShardIteratorType}' at 'shardIteratorType' failed to satisfy constraint`);
    }
    return { status: 200, payload: `{"ShardIterator":"${encodeIterator(s.name, shard, offset)}"}` };
  }

  getRecords(body: { ShardIterator?: string; Limit?: number }): Answer {
    const position = decodeIterator(body.ShardIterator);
    const s = position === undefined ? undefined : this.streams.get(position.stream);
    if (position === undefined || s === undefined || position.shard >= s.shards || position.offset > s.recordsPerShard) {
      return clientError('InvalidArgumentException', `Invalid ShardIterator: ${String(body.ShardIterator).slice(0, 60)}`);
    }
    const limit = body.Limit ?? GET_RECORDS_MAX_RECORDS;
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= GET_RECORDS_MAX_RECORDS)) {
      return clientError('ValidationException', `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000`);
    }
    const page = this.page(s, position.shard, position.offset, limit, true);
    const c = s.counters;
    c.getRecords++;
    if (page.records === 0) c.emptyGetRecords++;
    c.recordsServed += page.records;
    c.dataBytesServed += page.dataBytes;
    c.responseBytesServed += page.body.length;
    return { status: 200, payload: page.body };
  }

  private page(s: ReadStream, shard: number, offset: number, limit: number, count: boolean): Page {
    const key = `${s.name}|${shard}|${offset}|${limit}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      // Most recently used goes last.
      this.cache.delete(key);
      this.cache.set(key, cached);
      if (count) s.counters.pagesCached++;
      return cached;
    }
    if (count) s.counters.pagesBuilt++;
    const page = buildPage(s, shard, offset, limit);
    this.cache.set(key, page);
    this.cacheBytes += page.body.length;
    for (const [oldKey, old] of this.cache) {
      if (this.cacheBytes <= this.cacheLimitBytes || this.cache.size <= 1) break;
      this.cache.delete(oldKey);
      this.cacheBytes -= old.body.length;
    }
    return page;
  }
}

function buildPage(s: ReadStream, shard: number, offset: number, limit: number): Page {
  const ring = s.ring;
  const mask = ring.length - 1;
  // Like Kinesis: at most `limit` records and at most 10 MiB of data (but at least one record).
  let end = Math.min(s.recordsPerShard, offset + limit);
  if ((end - offset) * s.recordBytes > GET_RECORDS_MAX_BYTES) end = offset + Math.max(1, Math.floor(GET_RECORDS_MAX_BYTES / s.recordBytes));
  const parts = new Array<string>(end - offset);
  const shardPart = '49' + String(shard).padStart(SHARD_DIGITS, '0');
  const seqDigits = SEQUENCE_DIGITS - shardPart.length;
  for (let i = offset; i < end; i++) {
    const arrivalMs = s.baseMs + i;
    parts[i - offset] =
      `{"SequenceNumber":"${shardPart}${String(i).padStart(seqDigits, '0')}",` +
      `"ApproximateArrivalTimestamp":${Math.floor(arrivalMs / 1000)}.${String(arrivalMs % 1000).padStart(3, '0')},` +
      `"Data":"${ring[(shard * 7 + i) & mask]}","PartitionKey":"${PARTITION_KEYS[i & mask]}"}`;
  }
  // How far the page's last record is behind the tip of the shard (records arrive 1 ms apart).
  const millisBehindLatest = s.recordsPerShard - end;
  const text = `{"MillisBehindLatest":${millisBehindLatest},"NextShardIterator":"${encodeIterator(s.name, shard, end)}","Records":[${parts.join(',')}]}`;
  return { body: Buffer.from(text, 'utf8'), records: end - offset, dataBytes: (end - offset) * s.recordBytes };
}

function sequenceNumber(shard: number, offset: number): string {
  const shardPart = '49' + String(shard).padStart(SHARD_DIGITS, '0');
  return shardPart + String(offset).padStart(SEQUENCE_DIGITS - shardPart.length, '0');
}

/** The offset of a sequence number of `shard`, or undefined when it is not one of its sequence numbers. */
function offsetOf(sequence: string | undefined, shard: number): number | undefined {
  if (typeof sequence !== 'string' || sequence.length !== SEQUENCE_DIGITS || !/^\d+$/.test(sequence)) return undefined;
  if (Number(sequence.slice(2, 2 + SHARD_DIGITS)) !== shard) return undefined;
  const offset = Number(sequence.slice(2 + SHARD_DIGITS));
  return Number.isSafeInteger(offset) ? offset : undefined;
}

/** Opaque-looking iterators (as long as Kinesis's are not, but base64 like them). */
function encodeIterator(stream: string, shard: number, offset: number): string {
  return Buffer.from(`stub|${stream}|${shard}|${offset}`, 'utf8').toString('base64');
}

function decodeIterator(iterator: string | undefined): { stream: string; shard: number; offset: number } | undefined {
  if (typeof iterator !== 'string') return undefined;
  const parts = Buffer.from(iterator, 'base64').toString('utf8').split('|');
  if (parts.length !== 4 || parts[0] !== 'stub') return undefined;
  const shard = Number(parts[2]);
  const offset = Number(parts[3]);
  if (!Number.isSafeInteger(shard) || !Number.isSafeInteger(offset) || shard < 0 || offset < 0) return undefined;
  return { stream: parts[1], shard, offset };
}
