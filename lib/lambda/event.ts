/**
 * The Kinesis event AWS Lambda hands to a function behind an event source mapping, and
 * its validation. The types are structural (a `KinesisStreamEvent` of `@types/aws-lambda`
 * is accepted as is) so the published typings need no Lambda package. Parsing checks the
 * whole event before any record is processed: a malformed event is an error naming the
 * field, never a record skipped.
 */
import { compareSequenceNumbers } from '../checkpoint/store.js';
import { ValidationError } from '../errors.js';
import { describeValue } from '../options.js';

/** `kinesis` of one event record, as Lambda sends it. */
export interface LambdaKinesisPayload {
  /** '1.0'. */
  kinesisSchemaVersion?: string;
  partitionKey: string;
  sequenceNumber: string;
  /** The record's data, base64. */
  data: string;
  /** Seconds since the epoch, with a fraction. */
  approximateArrivalTimestamp: number;
}

/** One record of a Lambda Kinesis event. */
export interface LambdaKinesisEventRecord {
  kinesis: LambdaKinesisPayload;
  /** 'aws:kinesis'. */
  eventSource?: string;
  eventVersion?: string;
  /** `shardId:sequenceNumber`, e.g. 'shardId-000000000000:4954…'. */
  eventID: string;
  eventName?: string;
  invokeIdentityArn?: string;
  awsRegion?: string;
  /** The stream's ARN, e.g. 'arn:aws:kinesis:us-east-1:123456789012:stream/orders'. */
  eventSourceARN: string;
}

/** The event of a Kinesis event source mapping (the shape of `KinesisStreamEvent` in `@types/aws-lambda`). */
export interface LambdaKinesisEvent {
  Records: readonly LambdaKinesisEventRecord[];
}

/** One entry of a partial batch response: the sequence number Lambda retries from. */
export interface KinesisBatchItemFailure {
  itemIdentifier: string;
}

/**
 * The partial batch response of a function with `FunctionResponseTypes: ['ReportBatchItemFailures']`.
 * An empty list: the whole batch is done.
 */
export interface KinesisBatchResponse {
  batchItemFailures: KinesisBatchItemFailure[];
}

/** One Kinesis record of the event, checked and decoded from base64. */
export interface EventRecord {
  /** Its index in `event.Records`. */
  index: number;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  approximateArrivalTimestamp: Date;
}

/** A checked event: the one shard it comes from and its records in shard order. */
export interface ParsedKinesisEvent {
  /** From `eventSourceARN`; undefined only when the event has no records. */
  streamName: string | undefined;
  streamArn: string | undefined;
  /** From `eventID`; undefined only when the event has no records. */
  shardId: string | undefined;
  records: EventRecord[];
}

// Standard alphabet with padding, as Lambda encodes: Buffer.from(s, 'base64') would skip anything else silently.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// A consumer ARN (stream/NAME/consumer/…) names the stream too.
const STREAM_ARN = /^arn:[^:]+:kinesis:[^:]*:[^:]*:stream\/([^/]+)(?:\/.*)?$/;
const DIGITS = /^\d+$/;

/**
 * Checks a Lambda Kinesis event and decodes its records. Throws a ValidationError whose
 * `field` names the part at fault (e.g. `Records[3].kinesis.data`): not an object, not a
 * Kinesis event, data not base64, an eventID that does not match its sequence number,
 * records of two shards or out of sequence order.
 */
export function parseKinesisEvent(event: unknown): ParsedKinesisEvent {
  if (typeof event !== 'object' || event === null) throw new ValidationError('event', `must be a Lambda Kinesis event object, got ${describeValue(event)}`);
  const list = (event as { Records?: unknown }).Records;
  if (!Array.isArray(list)) throw new ValidationError('Records', `must be an array of Kinesis event records, got ${describeValue(list)}`);
  const parsed: ParsedKinesisEvent = { streamName: undefined, streamArn: undefined, shardId: undefined, records: [] };
  for (let index = 0; index < list.length; index++) {
    const { record, streamArn, streamName, shardId } = parseRecord(list[index], index);
    if (index === 0) {
      parsed.streamArn = streamArn;
      parsed.streamName = streamName;
      parsed.shardId = shardId;
    } else {
      if (streamArn !== parsed.streamArn) {
        throw new ValidationError(`Records[${index}].eventSourceARN`, `${JSON.stringify(streamArn)} is not the stream of Records[0] (${JSON.stringify(parsed.streamArn)}): an event comes from one stream`);
      }
      if (shardId !== parsed.shardId) {
        throw new ValidationError(`Records[${index}].eventID`, `shard ${JSON.stringify(shardId)} is not the shard of Records[0] (${JSON.stringify(parsed.shardId)}): Lambda sends one shard per batch`);
      }
      const previous = parsed.records[index - 1].sequenceNumber;
      if (compareSequenceNumbers(record.sequenceNumber, previous) <= 0) {
        throw new ValidationError(`Records[${index}].kinesis.sequenceNumber`, `${record.sequenceNumber} does not come after Records[${index - 1}]'s ${previous}: records of a batch are in shard order`);
      }
    }
    parsed.records.push(record);
  }
  return parsed;
}

function parseRecord(value: unknown, index: number): { record: EventRecord; streamArn: string; streamName: string; shardId: string } {
  const at = `Records[${index}]`;
  if (typeof value !== 'object' || value === null) throw new ValidationError(at, `must be a Kinesis event record, got ${describeValue(value)}`);
  const entry = value as Record<string, unknown>;
  if (entry.eventSource !== undefined && entry.eventSource !== 'aws:kinesis') {
    throw new ValidationError(`${at}.eventSource`, `must be 'aws:kinesis', got ${describeValue(entry.eventSource)}: this is not a Kinesis event`);
  }
  const kinesis = entry.kinesis;
  if (typeof kinesis !== 'object' || kinesis === null) throw new ValidationError(`${at}.kinesis`, `must be an object, got ${describeValue(kinesis)}`);
  const payload = kinesis as Record<string, unknown>;
  if (payload.kinesisSchemaVersion !== undefined && typeof payload.kinesisSchemaVersion !== 'string') {
    throw new ValidationError(`${at}.kinesis.kinesisSchemaVersion`, `must be a string, got ${describeValue(payload.kinesisSchemaVersion)}`);
  }
  const sequenceNumber = payload.sequenceNumber;
  if (typeof sequenceNumber !== 'string' || !DIGITS.test(sequenceNumber)) {
    throw new ValidationError(`${at}.kinesis.sequenceNumber`, `must be a decimal string, got ${describeValue(sequenceNumber)}`);
  }
  const partitionKey = payload.partitionKey;
  if (typeof partitionKey !== 'string' || partitionKey.length === 0) {
    // The key itself is not quoted: it may be user data.
    throw new ValidationError(`${at}.kinesis.partitionKey`, `must be a non-empty string, got ${typeof partitionKey === 'string' ? 'an empty string' : typeof partitionKey}`);
  }
  const data = payload.data;
  if (typeof data !== 'string') throw new ValidationError(`${at}.kinesis.data`, `must be a base64 string, got ${typeof data}`);
  if (data.length % 4 !== 0 || !BASE64.test(data)) {
    throw new ValidationError(`${at}.kinesis.data`, `is not valid base64 (${data.length} characters; standard alphabet with padding expected)`);
  }
  const seconds = payload.approximateArrivalTimestamp;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new ValidationError(`${at}.kinesis.approximateArrivalTimestamp`, `must be seconds since the epoch, got ${describeValue(seconds)}`);
  }
  const arn = entry.eventSourceARN;
  const match = typeof arn === 'string' ? STREAM_ARN.exec(arn) : null;
  if (typeof arn !== 'string' || match === null) {
    throw new ValidationError(`${at}.eventSourceARN`, `must be a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME), got ${describeValue(arn)}`);
  }
  const eventId = entry.eventID;
  const colon = typeof eventId === 'string' ? eventId.lastIndexOf(':') : -1;
  if (typeof eventId !== 'string' || colon <= 0) {
    throw new ValidationError(`${at}.eventID`, `must be 'shardId:sequenceNumber', got ${describeValue(eventId)}`);
  }
  if (eventId.slice(colon + 1) !== sequenceNumber) {
    throw new ValidationError(`${at}.eventID`, `${JSON.stringify(eventId)} does not end with the record's sequence number ${sequenceNumber}`);
  }
  return {
    record: {
      index,
      sequenceNumber,
      partitionKey,
      data: Buffer.from(data, 'base64'),
      // Milliseconds, as the SDK reads GetRecords' seconds: Math.round absorbs the float's error.
      approximateArrivalTimestamp: new Date(Math.round(seconds * 1000)),
    },
    streamArn: arn,
    streamName: match[1],
    shardId: eventId.slice(0, colon),
  };
}
