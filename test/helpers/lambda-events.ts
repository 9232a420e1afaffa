/**
 * Lambda Kinesis events for tests, built exactly as Lambda builds them from GetRecords:
 * base64 data, kinesisSchemaVersion '1.0', the arrival time in seconds, eventID
 * `shardId:sequenceNumber`, the stream's ARN. From records stored in kinesalite
 * (readStored) or from hand-made records for unit tests.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StoredRecord } from './streams.js';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';

/** The ARN Lambda puts in eventSourceARN. */
export function streamArn(streamName: string): string {
  return `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${streamName}`;
}

/** One raw Kinesis record, as Lambda wraps it in an event. */
export interface RawRecord {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  approximateArrivalTimestamp: Date;
}

/** The event record Lambda makes of a Kinesis record. */
export function lambdaRecord(raw: RawRecord, streamName: string, shardId: string): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: raw.partitionKey,
      sequenceNumber: raw.sequenceNumber,
      data: Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength).toString('base64'),
      approximateArrivalTimestamp: raw.approximateArrivalTimestamp.getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${raw.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/lambda-kinesis-role`,
    awsRegion: REGION,
    eventSourceARN: streamArn(streamName),
  };
}

/** Records read from kinesalite with readStored, as Lambda event records, per shard in shard order. */
export function lambdaRecordsByShard(stored: StoredRecord[], streamName: string): Map<string, KinesisStreamRecord[]> {
  const byShard = new Map<string, KinesisStreamRecord[]>();
  for (const record of stored) {
    const raw: RawRecord = {
      data: record.Data ?? new Uint8Array(),
      partitionKey: record.PartitionKey ?? '',
      sequenceNumber: record.SequenceNumber ?? '',
      approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(0),
    };
    const list = byShard.get(record.shardId) ?? [];
    list.push(lambdaRecord(raw, streamName, record.shardId));
    byShard.set(record.shardId, list);
  }
  return byShard;
}

/** Sequence numbers of the size and form Kinesis uses, increasing. */
export function sequenceNumbers(count: number, from = 49590338271490256608559692538361571095921575989136588898n): string[] {
  return Array.from({ length: count }, (_, i) => (from + BigInt(i) * 1_000_000_007n).toString());
}

/** An event of hand-made records on one shard (data as given, keys k0…). */
export function makeEvent(
  data: Array<Uint8Array | string>,
  { streamName = 'orders', shardId = 'shardId-000000000000', arrival = new Date(1_700_000_000_123) } = {},
): KinesisStreamEvent {
  const seqs = sequenceNumbers(data.length);
  return {
    Records: data.map((d, i) =>
      lambdaRecord(
        {
          data: typeof d === 'string' ? Buffer.from(d) : d,
          partitionKey: `k${i}`,
          sequenceNumber: seqs[i],
          approximateArrivalTimestamp: new Date(arrival.getTime() + i),
        },
        streamName,
        shardId,
      ),
    ),
  };
}
