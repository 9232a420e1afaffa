/**
 * An in-memory stand-in for KinesisClient for unit tests: records every PutRecords
 * call, stores entries, and fails entries or whole requests on demand.
 */
import { createHash } from 'node:crypto';
import type {
  GetRecordsCommandInput,
  GetShardIteratorCommandInput,
  KinesisClient,
  ListShardsCommandInput,
  PutRecordsCommandInput,
  PutRecordsResultEntry,
  Shard,
} from '@aws-sdk/client-kinesis';

export interface StoredRecord {
  streamName: string;
  /** Set for simulated streams. */
  shardId?: string;
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

interface SendOptions {
  abortSignal?: AbortSignal;
}

interface CommandLike {
  constructor: { name: string };
  input: unknown;
}

/** An error shaped like the SDK's service exceptions. */
export function serviceError(name: string, status = 400, message = `${name} (test)`): Error {
  const error = new Error(message) as Error & { $metadata: { httpStatusCode: number }; $fault: string };
  error.name = name;
  error.$metadata = { httpStatusCode: status };
  error.$fault = status >= 500 ? 'server' : 'client';
  return error;
}

export class FakeKinesis {
  readonly putCalls: PutRecordsCommandInput[] = [];
  readonly stored: StoredRecord[] = [];
  /** Error code for an entry, or undefined to store it. */
  failEntry: ((entry: StoredRecord, call: number) => string | undefined) | undefined;
  /** An error to throw for a whole request, or undefined to process it. */
  failRequest: ((input: PutRecordsCommandInput, call: number) => Error | undefined) | undefined;
  /** Awaited before answering, e.g. to hold requests in flight. */
  beforeAnswer: ((input: PutRecordsCommandInput, call: number) => Promise<void>) | undefined;
  destroyed = false;
  private sequence = 0;

  /** This object typed as the SDK client it stands in for. */
  asClient(): KinesisClient {
    return this as unknown as KinesisClient;
  }

  /** Simulated streams for the read API. */
  readonly streams = new Map<string, FakeShard[]>();
  /** Every read-API call, in order: [operation, input]. */
  readonly readCalls: Array<[string, unknown]> = [];
  /** An error to throw for a read-API call, or undefined to answer it. */
  failRead: ((operation: string, input: unknown, call: number) => Error | undefined) | undefined;
  private nextSequence = 10n ** 20n;
  private iteratorIssue = 0;

  /** Adds (or replaces) a simulated stream with `count` open shards, splitting the hash key space evenly. */
  addStream(name: string, count: number): FakeShard[] {
    const space = 1n << 128n;
    const shards = Array.from({ length: count }, (_, i) => {
      const shard = new FakeShard(`shardId-${String(i).padStart(12, '0')}`);
      shard.hashKeyRange = [((space * BigInt(i)) / BigInt(count)).toString(), ((space * BigInt(i + 1)) / BigInt(count) - 1n).toString()];
      return shard;
    });
    this.streams.set(name, shards);
    return shards;
  }

  /** Appends a record to a simulated shard and returns its sequence number. */
  append(stream: string, shardId: string, data: string | Uint8Array, partitionKey = 'pk'): string {
    const shard = this.shard(stream, shardId);
    if (shard.closed) throw new Error(`${shardId} is closed`);
    const sequenceNumber = String(this.nextSequence++);
    shard.records.push({ SequenceNumber: sequenceNumber, PartitionKey: partitionKey, Data: Buffer.from(data), ApproximateArrivalTimestamp: new Date() });
    return sequenceNumber;
  }

  /** Closes `parents` and adds `children` with them as parents (a split or a merge). */
  reshard(stream: string, parents: string[], children: string[]): void {
    const shards = this.streams.get(stream) ?? [];
    for (const id of parents) this.shard(stream, id).closed = true;
    for (const id of children) {
      const child = new FakeShard(id);
      child.parentShardId = parents[0];
      if (parents[1] !== undefined) child.adjacentParentShardId = parents[1];
      shards.push(child);
    }
  }

  shard(stream: string, shardId: string): FakeShard {
    const shard = this.streams.get(stream)?.find((s) => s.shardId === shardId);
    if (shard === undefined) throw serviceError('ResourceNotFoundException');
    return shard;
  }

  readCount(operation: string): number {
    return this.readCalls.filter(([op]) => op === operation).length;
  }

  private read(operation: string, input: unknown): unknown {
    const call = this.readCalls.length;
    this.readCalls.push([operation, input]);
    const error = this.failRead?.(operation, input, call);
    if (error !== undefined) throw error;
    switch (operation) {
      case 'ListShardsCommand': {
        const { StreamName } = input as ListShardsCommandInput;
        const shards = this.streams.get(StreamName ?? '');
        if (shards === undefined) throw serviceError('ResourceNotFoundException');
        return {
          Shards: shards.map((s): Shard => {
            const shard: Shard = {
              ShardId: s.shardId,
              HashKeyRange: { StartingHashKey: s.hashKeyRange[0], EndingHashKey: s.hashKeyRange[1] },
              SequenceNumberRange: { StartingSequenceNumber: '0', EndingSequenceNumber: s.closed ? '9' : undefined },
            };
            if (s.parentShardId !== undefined) shard.ParentShardId = s.parentShardId;
            if (s.adjacentParentShardId !== undefined) shard.AdjacentParentShardId = s.adjacentParentShardId;
            return shard;
          }),
        };
      }
      case 'GetShardIteratorCommand': {
        const i = input as GetShardIteratorCommandInput;
        const shard = this.shard(i.StreamName ?? '', i.ShardId ?? '');
        let index = 0;
        if (i.ShardIteratorType === 'LATEST') index = shard.records.length;
        if (i.ShardIteratorType === 'AT_TIMESTAMP') {
          const at = (i.Timestamp as Date).getTime();
          index = shard.records.findIndex((r) => (r.ApproximateArrivalTimestamp as Date).getTime() >= at);
          if (index < 0) index = shard.records.length;
        }
        if (i.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' || i.ShardIteratorType === 'AT_SEQUENCE_NUMBER') {
          const from = BigInt(i.StartingSequenceNumber ?? '0');
          const after = i.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER';
          index = shard.records.findIndex((r) => (after ? BigInt(r.SequenceNumber) > from : BigInt(r.SequenceNumber) >= from));
          if (index < 0) index = shard.records.length;
        }
        return { ShardIterator: this.iterator(i.StreamName ?? '', shard.shardId, index) };
      }
      case 'GetRecordsCommand': {
        const i = input as GetRecordsCommandInput;
        const [stream, shardId, indexText, issue] = (i.ShardIterator ?? '').split('|');
        if (Number(issue) < this.expiredBefore) throw serviceError('ExpiredIteratorException');
        const shard = this.shard(stream, shardId);
        const index = Number(indexText);
        const records = shard.records.slice(index, index + (i.Limit ?? 10000));
        const next = index + records.length;
        const atEnd = next === shard.records.length;
        return {
          Records: records,
          NextShardIterator: atEnd && shard.closed ? undefined : this.iterator(stream, shardId, next),
          MillisBehindLatest: atEnd ? 0 : 1000,
        };
      }
      default:
        throw new Error(`FakeKinesis does not implement ${operation}`);
    }
  }

  /** Iterators issued before this call count as expired. */
  expireIterators(): void {
    this.expiredBefore = this.iteratorIssue;
  }

  private expiredBefore = 0;

  private iterator(stream: string, shardId: string, index: number): string {
    return `${stream}|${shardId}|${index}|${this.iteratorIssue++}`;
  }

  /** Enhanced fan-out: registered consumers, subscriptions made, events pulled. */
  readonly consumers = new Map<string, string>();
  readonly subscriptions: Array<{ shardId: string; type: string; sequenceNumber?: string; at: number }> = [];
  eventsPulled = 0;
  /** Events a subscription yields before it ends (the service ends them after 5 minutes). */
  eventsPerSubscription = Number.POSITIVE_INFINITY;
  /** Records per event. */
  recordsPerEvent = 3;
  /** Like some local servers: a subscription never reports the end of a closed shard. */
  subscriptionsIgnoreShardEnd = false;
  /** An error to put in the event stream of a subscription, or undefined. */
  failSubscription: ((call: number) => Error | undefined) | undefined;

  private subscribe(input: { ConsumerARN?: string; ShardId?: string; StartingPosition?: { Type?: string; SequenceNumber?: string } }, signal: AbortSignal | undefined): unknown {
    const stream = [...this.consumers.entries()].find(([, arn]) => arn === input.ConsumerARN)?.[0].split('|')[0];
    if (stream === undefined) throw serviceError('ResourceNotFoundException');
    const shard = this.shard(stream, input.ShardId ?? '');
    const position = input.StartingPosition ?? {};
    const call = this.subscriptions.length;
    this.subscriptions.push({ shardId: shard.shardId, type: position.Type ?? '', sequenceNumber: position.SequenceNumber, at: Date.now() });
    let index = 0;
    if (position.Type === 'LATEST') index = shard.records.length;
    if (position.Type === 'AFTER_SEQUENCE_NUMBER' || position.Type === 'AT_SEQUENCE_NUMBER') {
      const from = BigInt(position.SequenceNumber ?? '0');
      const after = position.Type === 'AFTER_SEQUENCE_NUMBER';
      index = shard.records.findIndex((r) => (after ? BigInt(r.SequenceNumber) > from : BigInt(r.SequenceNumber) >= from));
      if (index < 0) index = shard.records.length;
    }
    const failure = this.failSubscription?.(call);
    const events = async function* (fake: FakeKinesis): AsyncGenerator<unknown> {
      if (failure !== undefined) {
        yield { [failure.name]: { message: failure.message } };
        return;
      }
      for (let sent = 0; sent < fake.eventsPerSubscription; sent++) {
        signal?.throwIfAborted();
        const records = shard.records.slice(index, index + fake.recordsPerEvent);
        index += records.length;
        fake.eventsPulled++;
        const atEnd = index === shard.records.length;
        if (atEnd && shard.closed && !fake.subscriptionsIgnoreShardEnd) {
          const children = (fake.streams.get(stream ?? "") ?? []).filter((s) => s.parentShardId === shard.shardId || s.adjacentParentShardId === shard.shardId);
          yield { SubscribeToShardEvent: { Records: records, MillisBehindLatest: 0, ChildShards: children.map((c) => ({ ShardId: c.shardId, ParentShards: [shard.shardId] })) } };
          return;
        }
        const continuation = records.length > 0 ? records[records.length - 1].SequenceNumber : index > 0 ? shard.records[index - 1].SequenceNumber : '0';
        yield { SubscribeToShardEvent: { Records: records, ContinuationSequenceNumber: continuation, MillisBehindLatest: atEnd ? 0 : 1000 } };
        if (atEnd) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    return { EventStream: events(this) };
  }

  private efo(name: string, input: Record<string, string | undefined>): unknown {
    switch (name) {
      case 'DescribeStreamSummaryCommand':
        if (!this.streams.has(input.StreamName ?? '')) throw serviceError('ResourceNotFoundException');
        return { StreamDescriptionSummary: { StreamARN: `arn:stream/${input.StreamName}`, StreamStatus: 'ACTIVE' } };
      case 'RegisterStreamConsumerCommand': {
        const key = `${(input.StreamARN ?? '').replace('arn:stream/', '')}|${input.ConsumerName}`;
        if (this.consumers.has(key)) throw serviceError('ResourceInUseException');
        this.consumers.set(key, `arn:consumer/${key}`);
        return { Consumer: { ConsumerARN: `arn:consumer/${key}`, ConsumerStatus: 'CREATING' } };
      }
      case 'DescribeStreamConsumerCommand': {
        const key = `${(input.StreamARN ?? '').replace('arn:stream/', '')}|${input.ConsumerName}`;
        const arn = this.consumers.get(key);
        if (arn === undefined) throw serviceError('ResourceNotFoundException');
        return { ConsumerDescription: { ConsumerARN: arn, ConsumerStatus: 'ACTIVE' } };
      }
      case 'DeregisterStreamConsumerCommand':
        for (const [key, arn] of this.consumers) if (arn === input.ConsumerARN) this.consumers.delete(key);
        return {};
      default:
        return undefined;
    }
  }

  async send(command: CommandLike, options: SendOptions = {}): Promise<unknown> {
    const name = command.constructor.name;
    if (name !== 'PutRecordsCommand') {
      options.abortSignal?.throwIfAborted();
      if (name === 'SubscribeToShardCommand') {
        this.readCalls.push([name, command.input]);
        return this.subscribe(command.input as Parameters<FakeKinesis['subscribe']>[0], options.abortSignal);
      }
      const efo = this.efo(name, command.input as Record<string, string | undefined>);
      if (efo !== undefined) {
        this.readCalls.push([name, command.input]);
        return efo;
      }
      return this.read(name, command.input);
    }
    const input = command.input as PutRecordsCommandInput;
    const call = this.putCalls.length;
    this.putCalls.push(input);
    if (this.beforeAnswer !== undefined) await abortable(this.beforeAnswer(input, call), options.abortSignal);
    options.abortSignal?.throwIfAborted();
    const requestError = this.failRequest?.(input, call);
    if (requestError !== undefined) throw requestError;
    let failed = 0;
    const simulated = this.streams.get(input.StreamName ?? '');
    const records: PutRecordsResultEntry[] = (input.Records ?? []).map((entry) => {
      const record: StoredRecord = {
        streamName: input.StreamName ?? '',
        partitionKey: entry.PartitionKey ?? '',
        data: Buffer.from(entry.Data ?? new Uint8Array()),
      };
      if (entry.ExplicitHashKey !== undefined) record.explicitHashKey = entry.ExplicitHashKey;
      const code = this.failEntry?.(record, call);
      if (code !== undefined) {
        failed++;
        return { ErrorCode: code, ErrorMessage: `${code} (test)` };
      }
      this.stored.push(record);
      if (simulated !== undefined) {
        // Route like Kinesis: the open shard whose range holds the record's hash key.
        const hash = BigInt(entry.ExplicitHashKey ?? `0x${createHash('md5').update(record.partitionKey, 'utf8').digest('hex')}`);
        const shard = simulated.find((s) => !s.closed && BigInt(s.hashKeyRange[0]) <= hash && hash <= BigInt(s.hashKeyRange[1]));
        if (shard === undefined) throw new Error(`no open shard for hash ${hash}`);
        const sequenceNumber = this.append(input.StreamName ?? '', shard.shardId, record.data, record.partitionKey);
        record.shardId = shard.shardId;
        return { SequenceNumber: sequenceNumber, ShardId: shard.shardId };
      }
      return { SequenceNumber: String(++this.sequence), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failed, Records: records };
  }

  destroy(): void {
    this.destroyed = true;
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A simulated shard. */
export class FakeShard {
  readonly records: Array<{ SequenceNumber: string; PartitionKey: string; Data: Uint8Array; ApproximateArrivalTimestamp: Date }> = [];
  closed = false;
  /** Decimal HashKeyRange; the whole key space unless a test narrows it. */
  hashKeyRange: [string, string] = ['0', ((1n << 128n) - 1n).toString()];
  parentShardId: string | undefined;
  adjacentParentShardId: string | undefined;

  constructor(readonly shardId: string) {}
}
