/**
 * The OpenTelemetry adapter: subscribes to the diagnostics channels (lib/metrics/channels.ts)
 * and records counters, histograms and observable gauges on a Meter the caller passes in,
 * named after the OpenTelemetry messaging semantic conventions (`messaging.system` =
 * `aws_kinesis`, the stream as `messaging.destination.name`, the shard as
 * `messaging.destination.partition.id`), plus `aws_kinesis.*` metrics for what the
 * conventions do not cover (lag, throttles, retries, leases, checkpoints).
 *
 * Nothing here loads `@opentelemetry/api`: the Meter is described structurally
 * ({@link MeterLike}), so the package neither requires nor type-depends on it.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  CHANNELS,
  type CheckpointMessage,
  type LeaseGainedMessage,
  type LeaseLostMessage,
  type LeaseMessage,
  type LeasesHeldMessage,
  type RecordsReadMessage,
  type RecordsRejectedMessage,
  type RecordsWrittenMessage,
  type RequestEndMessage,
  type RetryMessage,
  type ShardLagMessage,
  type ShardStopMessage,
  type ThrottleMessage,
} from './channels.js';

/** Attribute values as OpenTelemetry takes them. */
export type MetricAttributes = Record<string, string | number | boolean | string[] | undefined>;

/** The options of an instrument, as OpenTelemetry's Meter takes them. */
export interface MetricOptionsLike {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

export interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}

export interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}

export interface ObservableResultLike {
  observe(value: number, attributes?: MetricAttributes): void;
}

/** An observable gauge or counter. */
export interface ObservableLike {
  addCallback(callback: (result: ObservableResultLike) => void): void;
  removeCallback(callback: (result: ObservableResultLike) => void): void;
}

/** The part of an OpenTelemetry `Meter` (`@opentelemetry/api` ≥ 1.3) this adapter uses. */
export interface MeterLike {
  createCounter(name: string, options?: MetricOptionsLike): CounterLike;
  createHistogram(name: string, options?: MetricOptionsLike): HistogramLike;
  createObservableGauge(name: string, options?: MetricOptionsLike): ObservableLike;
  createObservableCounter(name: string, options?: MetricOptionsLike): ObservableLike;
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** An OpenTelemetry Meter, e.g. `metrics.getMeter('kinesis-node-streams')`. */
  meter: MeterLike;
}

/** What {@link instrument} returns. */
export interface Instrumentation {
  /** Unsubscribes from every channel and stops the gauges. Idempotent. */
  close(): void;
}

/** The metric names this adapter records. */
export const METRICS = {
  operationDuration: 'messaging.client.operation.duration',
  dbOperationDuration: 'db.client.operation.duration',
  sentMessages: 'messaging.client.sent.messages',
  sentRecords: 'aws_kinesis.client.sent.records',
  sentBytes: 'aws_kinesis.client.sent.bytes',
  consumedMessages: 'messaging.client.consumed.messages',
  consumedBytes: 'aws_kinesis.client.consumed.bytes',
  lag: 'aws_kinesis.consumer.lag',
  throttles: 'aws_kinesis.client.throttles',
  retries: 'aws_kinesis.client.retries',
  leaseEvents: 'aws_kinesis.lease.events',
  leasesHeld: 'aws_kinesis.lease.held',
  checkpointDuration: 'aws_kinesis.checkpoint.duration',
} as const;

/** The attribute names used, semantic-convention ones first. */
export const ATTRIBUTES = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  clientId: 'messaging.client.id',
  errorType: 'error.type',
  dbSystem: 'db.system.name',
  dbOperation: 'db.operation.name',
  dbCollection: 'db.collection.name',
  throttleScope: 'aws_kinesis.throttle.scope',
  leaseEvent: 'aws_kinesis.lease.event',
  leaseTable: 'aws_kinesis.lease.table',
} as const;

const SYSTEM = 'aws_kinesis';
/** The semantic conventions' recommended buckets for operation durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const OPERATION_TYPES: Record<string, string> = {
  PutRecords: 'send',
  PutRecord: 'send',
  GetRecords: 'receive',
  SubscribeToShard: 'receive',
};

/**
 * Records this package's metrics on `meter` from now on, for every reader, writer and
 * lease store in the process, until `close()`.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * const instrumentation = instrument({ meter: metrics.getMeter('kinesis-node-streams') });
 * ```
 */
export function instrument(options: InstrumentOptions): Instrumentation {
  const meter = options?.meter;
  if (meter === undefined || typeof meter.createCounter !== 'function') throw new TypeError('instrument() needs { meter }, an OpenTelemetry Meter');
  const attributes = new AttributeCache();
  /** Attributes of a throttle or a retry: where it happened and its error code, plus `extra`. */
  const failureAttributes = (
    kind: string,
    m: { operation: string; streamName?: string; shardId?: string; tableName?: string; errorCode?: string },
    extra: MetricAttributes,
  ): MetricAttributes =>
    attributes.get(`${kind}\0${m.operation}\0${m.streamName}\0${m.shardId}\0${m.tableName}\0${m.errorCode}`, () => ({
      [ATTRIBUTES.system]: SYSTEM,
      [ATTRIBUTES.operationName]: m.operation,
      [ATTRIBUTES.destination]: m.streamName,
      [ATTRIBUTES.partition]: m.shardId,
      [ATTRIBUTES.dbCollection]: m.tableName,
      [ATTRIBUTES.errorType]: m.errorCode,
      ...extra,
    }));
  /** A histogram of durations in seconds, on the buckets of the semantic conventions. */
  const durationHistogram = (name: string, description: string): ReturnType<MeterLike['createHistogram']> =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  const operationDuration = durationHistogram(METRICS.operationDuration, 'Duration of each Kinesis request (one HTTP attempt)');
  const dbOperationDuration = durationHistogram(METRICS.dbOperationDuration, 'Duration of each DynamoDB request of the lease table (one HTTP attempt)');
  // Per-shard traffic: a PutRecords answer of a large stream touches hundreds of shards,
  // so it is summed here (one nested-Map lookup per shard) and observed at collection
  // time, not added to synchronous counters shard by shard.
  const written = new Traffic(writtenAttributes);
  const rejected = new Traffic(rejectedAttributes);
  const consumed = new Traffic(consumedAttributes);
  const observables: Array<[ObservableLike, (result: ObservableResultLike) => void]> = [
    [
      meter.createObservableCounter(METRICS.sentMessages, {
        description: 'User records PutRecords stored (no error.type) or rejected (error.type = the entry error code)',
        unit: '{message}',
      }),
      (result) => {
        written.observe(result, 'messages');
        rejected.observe(result, 'messages');
      },
    ],
    [
      meter.createObservableCounter(METRICS.sentRecords, {
        description: 'Kinesis records PutRecords stored or rejected (a KPL aggregate counts once)',
        unit: '{record}',
      }),
      (result) => {
        written.observe(result, 'records');
        rejected.observe(result, 'records');
      },
    ],
    [
      meter.createObservableCounter(METRICS.sentBytes, { description: 'Bytes stored by PutRecords (data + partition keys)', unit: 'By' }),
      (result) => written.observe(result, 'bytes'),
    ],
    [
      meter.createObservableCounter(METRICS.consumedMessages, { description: 'Records pulled from Kinesis for the application', unit: '{message}' }),
      (result) => consumed.observe(result, 'messages'),
    ],
    [
      meter.createObservableCounter(METRICS.consumedBytes, { description: 'Bytes of record data pulled from Kinesis for the application', unit: 'By' }),
      (result) => consumed.observe(result, 'bytes'),
    ],
  ];
  const throttles = meter.createCounter(METRICS.throttles, {
    description: 'Requests (scope request) and PutRecords entries (scope record) refused for their rate',
    unit: '{throttle}',
  });
  const retries = meter.createCounter(METRICS.retries, { description: 'Failed calls tried again after a backoff', unit: '{retry}' });
  const leaseEvents = meter.createCounter(METRICS.leaseEvents, { description: 'Leases gained, stolen, lost and released by this process', unit: '{lease}' });
  const checkpointDuration = durationHistogram(METRICS.checkpointDuration, 'Duration of each checkpoint write to the store');
  const lagGauge = meter.createObservableGauge(METRICS.lag, {
    description: 'How far behind the tip of its shard the last read was (MillisBehindLatest)',
    unit: 'ms',
  });
  const heldGauge = meter.createObservableGauge(METRICS.leasesHeld, { description: 'Leases held per worker', unit: '{lease}' });

  /** Last lag per shard being read, until its reader stops it. */
  const lags = new Map<string, { attributes: MetricAttributes; value: number }>();
  const held = new Map<string, { attributes: MetricAttributes; value: number }>();

  const handlers: Array<[string, (message: unknown) => void]> = [
    [
      CHANNELS.requestEnd,
      (message) => {
        const m = message as RequestEndMessage;
        const seconds = m.durationMs / 1000;
        if (m.service === 'dynamodb') {
          dbOperationDuration.record(
            seconds,
            attributes.get(`d\0${m.operation}\0${m.tableName}\0${m.errorCode}`, () => ({
              [ATTRIBUTES.dbSystem]: 'aws.dynamodb',
              [ATTRIBUTES.dbOperation]: m.operation,
              [ATTRIBUTES.dbCollection]: m.tableName,
              [ATTRIBUTES.errorType]: m.errorCode,
            })),
          );
          return;
        }
        operationDuration.record(
          seconds,
          attributes.get(`k\0${m.operation}\0${m.streamName}\0${m.shardId}\0${m.errorCode}`, () => ({
            [ATTRIBUTES.system]: SYSTEM,
            [ATTRIBUTES.operationName]: m.operation,
            [ATTRIBUTES.operationType]: OPERATION_TYPES[m.operation],
            [ATTRIBUTES.destination]: m.streamName,
            [ATTRIBUTES.partition]: m.shardId,
            [ATTRIBUTES.errorType]: m.errorCode,
          })),
        );
      },
    ],
    [
      CHANNELS.recordsWritten,
      (message) => {
        const m = message as RecordsWrittenMessage;
        const entry = written.entry(m.streamName, m.shardId);
        entry.messages += m.records;
        entry.records += m.kinesisRecords;
        entry.bytes += m.bytes;
      },
    ],
    [
      CHANNELS.recordsRejected,
      (message) => {
        const m = message as RecordsRejectedMessage;
        const entry = rejected.entry(m.streamName, m.errorCode);
        entry.messages += m.records;
        entry.records += m.kinesisRecords;
      },
    ],
    [
      CHANNELS.recordsRead,
      (message) => {
        const m = message as RecordsReadMessage;
        // Once per batch of up to 10000 records: a composite key costs nothing here.
        const entry = consumed.entry(m.streamName, `${m.shardId}\0${m.operation}\0${m.consumerGroup ?? ''}`);
        entry.messages += m.records;
        entry.bytes += m.bytes;
      },
    ],
    [
      CHANNELS.throttle,
      (message) => {
        const m = message as ThrottleMessage;
        throttles.add(m.count, failureAttributes(`t\0${m.scope}`, m, { [ATTRIBUTES.throttleScope]: m.scope }));
      },
    ],
    [
      CHANNELS.retry,
      (message) => {
        const m = message as RetryMessage;
        retries.add(1, failureAttributes('y', m, {}));
      },
    ],
    [
      CHANNELS.shardLag,
      (message) => {
        const m = message as ShardLagMessage;
        const key = shardKey(m.streamName, m.shardId, m.consumerGroup);
        const entry = lags.get(key);
        if (entry !== undefined) entry.value = m.millisBehindLatest;
        else lags.set(key, { attributes: shardAttributes(m.streamName, m.shardId, m.consumerGroup), value: m.millisBehindLatest });
      },
    ],
    [
      CHANNELS.shardStop,
      (message) => {
        const m = message as ShardStopMessage;
        lags.delete(shardKey(m.streamName, m.shardId, m.consumerGroup));
      },
    ],
    [CHANNELS.leaseGained, (message) => countLease((message as LeaseGainedMessage).stolen ? 'stolen' : 'gained', message as LeaseMessage)],
    [CHANNELS.leaseLost, (message) => countLease('lost', message as LeaseLostMessage)],
    [CHANNELS.leaseReleased, (message) => countLease('released', message as LeaseMessage)],
    [
      CHANNELS.leasesHeld,
      (message) => {
        const m = message as LeasesHeldMessage;
        const key = `${m.tableName}\0${m.workerId}`;
        if (m.stopped) held.delete(key);
        else held.set(key, { attributes: { [ATTRIBUTES.system]: SYSTEM, [ATTRIBUTES.leaseTable]: m.tableName, [ATTRIBUTES.clientId]: m.workerId }, value: m.held });
      },
    ],
    [
      CHANNELS.checkpoint,
      (message) => {
        const m = message as CheckpointMessage;
        checkpointDuration.record(
          m.durationMs / 1000,
          attributes.get(`c\0${m.streamName}\0${m.shardId}\0${m.consumerGroup}\0${m.errorCode}`, () => ({
            ...shardAttributes(m.streamName, m.shardId, m.consumerGroup),
            [ATTRIBUTES.errorType]: m.errorCode,
          })),
        );
      },
    ],
  ];

  function countLease(event: 'gained' | 'stolen' | 'lost' | 'released', m: LeaseMessage): void {
    leaseEvents.add(
      1,
      attributes.get(`l\0${event}\0${m.tableName}\0${m.workerId}\0${m.streamName}\0${m.shardId}\0${m.consumerGroup}`, () => ({
        [ATTRIBUTES.system]: SYSTEM,
        [ATTRIBUTES.leaseEvent]: event,
        [ATTRIBUTES.leaseTable]: m.tableName,
        [ATTRIBUTES.clientId]: m.workerId,
        [ATTRIBUTES.destination]: m.streamName,
        [ATTRIBUTES.partition]: m.shardId,
        [ATTRIBUTES.consumerGroup]: m.consumerGroup,
      })),
    );
  }

  const observeLag = (result: ObservableResultLike): void => {
    for (const { attributes: a, value } of lags.values()) result.observe(value, a);
  };
  const observeHeld = (result: ObservableResultLike): void => {
    for (const { attributes: a, value } of held.values()) result.observe(value, a);
  };
  lagGauge.addCallback(observeLag);
  heldGauge.addCallback(observeHeld);
  for (const [observable, callback] of observables) observable.addCallback(callback);
  for (const [name, handler] of handlers) diagnosticsChannel.subscribe(name, handler);

  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      for (const [name, handler] of handlers) diagnosticsChannel.unsubscribe(name, handler);
      lagGauge.removeCallback(observeLag);
      heldGauge.removeCallback(observeHeld);
      for (const [observable, callback] of observables) observable.removeCallback(callback);
      lags.clear();
      held.clear();
    },
  };
}

function shardKey(streamName: string, shardId: string, consumerGroup: string | undefined): string {
  return `${streamName}\0${shardId}\0${consumerGroup}`;
}

function shardAttributes(streamName: string, shardId: string, consumerGroup: string | undefined): MetricAttributes {
  return withoutUndefined({
    [ATTRIBUTES.system]: SYSTEM,
    [ATTRIBUTES.destination]: streamName,
    [ATTRIBUTES.partition]: shardId,
    [ATTRIBUTES.consumerGroup]: consumerGroup,
  });
}

interface TrafficEntry {
  readonly attributes: MetricAttributes;
  messages: number;
  records: number;
  bytes: number;
}

/**
 * Monotonic sums per (stream, second key: a shard, an error code), reported by observable
 * counters at collection. Nested maps: the lookup hashes the strings as they come, no key
 * is built per message.
 */
class Traffic {
  private readonly byStream = new Map<string, Map<string | undefined, TrafficEntry>>();

  constructor(private readonly attributesOf: (streamName: string, key: string | undefined) => MetricAttributes) {}

  entry(streamName: string, key: string | undefined): TrafficEntry {
    let entries = this.byStream.get(streamName);
    if (entries === undefined) this.byStream.set(streamName, (entries = new Map()));
    let entry = entries.get(key);
    if (entry === undefined) entries.set(key, (entry = { attributes: withoutUndefined(this.attributesOf(streamName, key)), messages: 0, records: 0, bytes: 0 }));
    return entry;
  }

  observe(result: ObservableResultLike, field: 'messages' | 'records' | 'bytes'): void {
    for (const entries of this.byStream.values()) for (const entry of entries.values()) if (entry[field] > 0) result.observe(entry[field], entry.attributes);
  }
}

function writtenAttributes(streamName: string, shardId: string | undefined): MetricAttributes {
  return { [ATTRIBUTES.system]: SYSTEM, [ATTRIBUTES.operationName]: 'PutRecords', [ATTRIBUTES.destination]: streamName, [ATTRIBUTES.partition]: shardId };
}

function rejectedAttributes(streamName: string, errorCode: string | undefined): MetricAttributes {
  return { [ATTRIBUTES.system]: SYSTEM, [ATTRIBUTES.operationName]: 'PutRecords', [ATTRIBUTES.destination]: streamName, [ATTRIBUTES.errorType]: errorCode };
}

/** The key is `shardId \0 operation \0 consumerGroup`. */
function consumedAttributes(streamName: string, key: string | undefined): MetricAttributes {
  const [shardId, operation, consumerGroup] = (key ?? '').split('\0');
  return {
    [ATTRIBUTES.system]: SYSTEM,
    [ATTRIBUTES.operationName]: operation,
    [ATTRIBUTES.destination]: streamName,
    [ATTRIBUTES.partition]: shardId,
    [ATTRIBUTES.consumerGroup]: consumerGroup === '' ? undefined : consumerGroup,
  };
}

/** Attribute sets are few (operation × stream × shard × code) and reused: built once each. */
class AttributeCache {
  private readonly cache = new Map<string, MetricAttributes>();

  get(key: string, build: () => MetricAttributes): MetricAttributes {
    let attributes = this.cache.get(key);
    if (attributes === undefined) {
      attributes = withoutUndefined(build());
      this.cache.set(key, attributes);
    }
    return attributes;
  }
}

/** Absent attributes are left out, not recorded as undefined. */
function withoutUndefined(attributes: MetricAttributes): MetricAttributes {
  for (const key of Object.keys(attributes)) if (attributes[key] === undefined) delete attributes[key];
  return attributes;
}
