/**
 * Every Kinesis Data Streams service limit and every default of this package, in one
 * place. Code paths import from here; nothing else hard-codes a number.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/** Service limits (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). */
export const LIMITS = {
  /** Entries in one PutRecords request. */
  putRecordsMaxEntries: 500,
  /** Bytes in one PutRecords request (data + partition keys). */
  putRecordsMaxBytes: 10 * MiB,
  /** Default largest record (data + partition key); a stream can raise it. */
  recordMaxBytesDefault: 1 * MiB,
  /** Largest record a stream can be configured for. */
  recordMaxBytesCeiling: 10 * MiB,
  /** Partition key length, in Unicode code points. */
  partitionKeyMinChars: 1,
  partitionKeyMaxChars: 256,
  /** Explicit hash keys are decimal integers in [0, 2^128 - 1]. */
  explicitHashKeyMax: (1n << 128n) - 1n,
  /** Per shard write limits. */
  shardWriteBytesPerSecond: 1 * MiB,
  shardWriteRecordsPerSecond: 1000,
  /** Per shard read limits. */
  shardReadBytesPerSecond: 2 * MiB,
  shardGetRecordsCallsPerSecond: 5,
  /** GetRecords returns at most this many records or bytes. */
  getRecordsMaxRecords: 10000,
  getRecordsMaxBytes: 10 * MiB,
  /** A shard iterator expires this long after it was issued. */
  shardIteratorTtlMs: 5 * 60 * 1000,
  /** An enhanced fan-out subscription lasts this long. */
  efoSubscriptionTtlMs: 5 * 60 * 1000,
  /** KPL aggregated record magic bytes. */
  kplMagic: Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2),
  /** KPL aggregated record MD5 trailer length. */
  kplChecksumBytes: 16,
} as const;

/** Defaults of createKinesisWritable, chosen by `npm run bench` (see README "Performance"). */
export const WRITABLE_DEFAULTS = {
  maxBatchRecords: LIMITS.putRecordsMaxEntries,
  /** The older 5 MiB request limit, still the safe budget for every region. */
  maxBatchBytes: 5 * MiB,
  maxRecordBytes: LIMITS.recordMaxBytesDefault,
  /** How long a partial batch waits for more records before it is sent. */
  lingerMs: 50,
  /** Concurrent PutRecords requests per target stream. */
  maxInFlight: 8,
  /** Records accepted but not yet acknowledged before write() applies backpressure. */
  maxBufferedRecords: 10000,
  preserveOrder: false,
  failOnError: true,
  /** Largest KPL aggregate (data + partition key), like the KPL's AggregationMaxSize. */
  aggregationMaxBytes: 51200,
  /** maxBufferedRecords with aggregation: one request carries up to ~100 aggregates of ~400 records. */
  maxBufferedRecordsAggregated: 100000,
  /** Partition keys whose shard the aggregator and the rate limiter remember per shard map (keys repeat: user ids, devices). */
  shardCacheSize: 10000,
  /** Random keys hashed, at most, to find one that lands on a given shard (a shard of 1/512 of the key space takes ~512). */
  shardKeySearchTries: 16384,
  /**
   * Per-shard rate limiter (the KPL's RateLimit): share of the shard's write limits left
   * unused, for other producers of the same stream. 0 uses the whole limit.
   */
  rateLimitHeadroom: 0,
  /**
   * Burst the rate limiter allows per shard, in ms of its rate. The service meters a
   * request when it arrives (with about a second of burst), we when we send it: a burst
   * well under the service's keeps a reserve there that absorbs the jitter of request
   * latency (measured with a one-second burst: 2.4–3.6% of entries throttled at 100 B).
   */
  rateLimitBurstMs: 200,
  /**
   * Once a shard is saturated, wait at least this long for its tokens: each request then
   * carries this much of the shard's rate instead of one record per refill.
   */
  rateLimitMinWaitMs: 50,
  /** Partition keys counted per saturated shard (Space-Saving counters). */
  hotKeysTracked: 8,
  /** Share of a saturated shard's records from which a partition key is named hot. */
  hotKeyMinShare: 0.1,
} as const;

/** The command line. */
export const CLI_DEFAULTS = {
  /** How often `read` checkpoints what stdout accepted, and `copy` what the target stored. */
  commitEveryMs: 1000,
  /** Records `read` buffers ahead of stdout. */
  readHighWaterMark: 500,
  /** How often `--progress` draws its per-shard view, and the fastest it may be asked to. */
  progressIntervalMs: 1000,
  minProgressIntervalMs: 100,
} as const;

/** Retry defaults (full-jitter exponential backoff, per record or request). */
export const RETRY_DEFAULTS = {
  maxAttempts: 10,
  baseDelayMs: 100,
  maxDelayMs: 5000,
} as const;

/** Defaults of createKinesisReadable. */
export const READABLE_DEFAULTS = {
  maxRecordsPerCall: LIMITS.getRecordsMaxRecords,
  pollIntervalMs: 250,
  /** Lowest pollIntervalMs: 5 GetRecords/s per shard. */
  minPollIntervalMs: 1000 / LIMITS.shardGetRecordsCallsPerSecond,
  shardDiscoveryIntervalMs: 10000,
  highWaterMark: 1000,
  /** Share of each shard's read limits (5 GetRecords/s, 2 MiB/s) this reader takes. */
  readShare: 1,
} as const;

/** Enhanced fan-out. */
export const EFO_DEFAULTS = {
  /** SubscribeToShard again for a shard no sooner than this after the last call (else ResourceInUse). */
  resubscribeIntervalMs: 5000,
} as const;

/** Defaults of DynamoDBLeaseStore (the KCL's failover time). */
export const LEASE_DEFAULTS = {
  failoverTimeMs: 10000,
} as const;

/** Per-request timeout for clients this package creates. */
export const CLIENT_DEFAULTS = {
  requestTimeoutMs: 30000,
  connectionTimeoutMs: 5000,
  /** PutRecords bodies and PutRecords/GetRecords answers by lib/wire (the SDK's serde for everything else). */
  wire: 'fast',
} as const;
