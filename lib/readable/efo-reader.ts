/**
 * Enhanced fan-out: one shard read by SubscribeToShard push instead of GetRecords
 * polling. Each subscription lasts up to 5 minutes; the reader subscribes again from the
 * last continuation sequence number, never sooner than 5 s after the previous
 * subscription of the shard (the service's limit). Backpressure: the next event is not
 * pulled from the event stream until the previous batch is pushed and the consumer
 * wants more, so HTTP/2 flow control holds the server back and nothing is lost.
 */
import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { AbortError, KinesisStreamsError } from '../errors.js';
import { EFO_DEFAULTS } from '../limits.js';
import { logger } from '../log.js';
import { classifyError, errorCode, type RetryPolicy } from '../retry.js';
import { ShardReader, type ShardEnd, type ShardInfo, type ShardReaderHost } from './shard-reader.js';
import type { StartPosition } from './shard-tracker.js';

const log = logger('efo');

/** Errors of SubscribeToShard worth waiting out: another subscription holds the shard, or limits. */
const WAIT_CODES = new Set(['ResourceInUseException', 'LimitExceededException', 'InternalFailureException', 'KMSThrottlingException']);

export class EfoShardReader<T> extends ShardReader<T> {
  private continuation: string | undefined;
  private lastSubscribeAt = Number.NEGATIVE_INFINITY;
  /** Discovery saw the shard closed; the subscription in progress, to end it. */
  private closed = false;
  private subscription: AbortController | undefined;

  constructor(
    host: ShardReaderHost<T>,
    shard: ShardInfo,
    position: StartPosition,
    private readonly consumerArn: string,
  ) {
    super(host, shard, position);
  }

  /**
   * Not every server ends a subscription when its shard is closed by a reshard: read
   * the rest with GetRecords, which reports the end by itself, once for the shard.
   */
  override markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.abort();
  }

  override async run(): Promise<ShardEnd> {
    let position = this.position;
    for (;;) {
      if (this.closed) return this.poll(position);
      await this.sleep(this.lastSubscribeAt + EFO_DEFAULTS.resubscribeIntervalMs - Date.now());
      await this.host.whenFlowing();
      if (this.closed) return this.poll(position);
      const subscription = new AbortController();
      this.subscription = subscription;
      const stop = (): void => subscription.abort();
      this.host.signal.addEventListener('abort', stop, { once: true });
      try {
        this.lastSubscribeAt = Date.now();
        const output = await this.host.client.send(
          new SubscribeToShardCommand({ ConsumerARN: this.consumerArn, ShardId: this.shardId, StartingPosition: startingPosition(position) }),
          { abortSignal: subscription.signal },
        );
        log('%s/%s: subscribed at %s', this.streamName, this.shardId, position.type);
        for await (const event of output.EventStream ?? []) {
          const end = await this.onEvent(event);
          if (end !== undefined) return end;
          await this.host.whenFlowing(); // backpressure: do not pull the next event yet
        }
        log('%s/%s: subscription ended, subscribing again', this.streamName, this.shardId);
      } catch (error) {
        if (this.host.signal.aborted) throw new AbortError();
        if (!this.closed) await this.onSubscribeError(error);
      } finally {
        this.subscription = undefined;
        this.host.signal.removeEventListener('abort', stop);
        subscription.abort(); // only aborting the request frees the subscription
      }
      position = this.resumeFrom();
    }
  }

  /** Delivers one event's records; returns the shard end when the event says the shard is closed. */
  private async onEvent(event: SubscribeToShardEventStream): Promise<ShardEnd | undefined> {
    const error = eventError(event);
    if (error !== undefined) throw error;
    const e = event.SubscribeToShardEvent;
    if (e === undefined) return undefined;
    this.reportStarted();
    await this.handOver(e.Records ?? [], e.MillisBehindLatest);
    if (e.ContinuationSequenceNumber === undefined || e.ContinuationSequenceNumber === null) {
      log('%s/%s: SHARD_END', this.streamName, this.shardId);
      return { childShards: e.ChildShards ?? [] };
    }
    this.continuation = e.ContinuationSequenceNumber;
    return undefined;
  }

  private async onSubscribeError(error: unknown): Promise<void> {
    const code = errorCode(error);
    if (WAIT_CODES.has(code)) {
      // Wait it out (a rolling restart: the old reader lets go), without exhausting retries.
      const delayMs = this.host.retryPolicy.delayFor(Math.min(this.failures + 1, 6));
      this.host.retry({ operation: 'SubscribeToShard', attempt: this.failures + 1, delayMs, error });
      await this.sleep(delayMs);
      return;
    }
    await this.backOff('SubscribeToShard', error);
  }

  /** After the last event seen: its continuation sequence number covers empty stretches too. */
  private resumeFrom(): StartPosition {
    if (this.continuation !== undefined) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.continuation };
    return this.resumePosition();
  }
}

function startingPosition(position: StartPosition): StartingPosition {
  switch (position.type) {
    case 'AFTER_SEQUENCE_NUMBER':
      // Inside an aggregate: the record again, its finished sub-records skipped.
      return position.subSequenceNumber !== undefined
        ? { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: position.sequenceNumber }
        : { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: position.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: position.timestamp };
    default:
      return { Type: position.type };
  }
}

/** An error carried as an event of the stream (servers may refuse a subscription that way). */
function eventError(event: SubscribeToShardEventStream): Error | undefined {
  for (const [name, value] of Object.entries(event)) {
    if (name === 'SubscribeToShardEvent' || name === '$unknown' || value === undefined) continue;
    const error = new Error((value as { message?: string }).message ?? name);
    error.name = name;
    return error;
  }
  return undefined;
}

/** The ARN of a registered stream consumer: registered if missing, reused if present, once ACTIVE. */
export async function ensureConsumer(
  client: KinesisClient,
  streamName: string,
  consumerName: string,
  signal: AbortSignal,
  retryPolicy: RetryPolicy,
): Promise<string> {
  const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), { abortSignal: signal }).catch((error: unknown) => {
    throw classifyError('DescribeStreamSummary', error, streamName);
  });
  const streamArn = summary.StreamDescriptionSummary?.StreamARN;
  if (streamArn === undefined) throw new KinesisStreamsError(`DescribeStreamSummary of ${streamName} returned no StreamARN`);
  let consumerArn: string | undefined;
  try {
    const registered = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), { abortSignal: signal });
    consumerArn = registered.Consumer?.ConsumerARN;
    log('registered consumer %s on %s', consumerName, streamName);
  } catch (error) {
    if (errorCode(error) !== 'ResourceInUseException') throw classifyError('RegisterStreamConsumer', error, streamName);
  }
  for (let attempt = 1; ; attempt++) {
    const described = await client
      .send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), { abortSignal: signal })
      .catch((error: unknown) => {
        if (errorCode(error) === 'ResourceNotFoundException' && consumerArn !== undefined) return undefined; // not visible yet
        throw classifyError('DescribeStreamConsumer', error, streamName);
      });
    const description = described?.ConsumerDescription;
    consumerArn ??= description?.ConsumerARN;
    if (description?.ConsumerStatus === 'ACTIVE' && consumerArn !== undefined) return consumerArn;
    if (signal.aborted) throw new AbortError();
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryPolicy.maxDelayMs, 100 * attempt)));
  }
}

/** Removes a stream consumer (the `deregisterConsumerOnClose` option). */
export async function deregisterConsumer(client: KinesisClient, consumerArn: string): Promise<void> {
  await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
  log('deregistered consumer %s', consumerArn);
}
