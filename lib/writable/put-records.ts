/**
 * One PutRecords call and what its answer means for each record: stored or rejected
 * (with the error code the service gave it).
 */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { publishPutRecords } from '../metrics/channels.js';
import type { PendingRecord } from './record.js';

/** The outcome of one PutRecords call for its records. */
export interface PutOutcome<T> {
  /** Records the service stored. */
  stored: PendingRecord<T>[];
  /** Records the service rejected, with `lastErrorCode` / `lastErrorMessage` set. */
  failed: PendingRecord<T>[];
  /** Stored records planned for a shard (aggregates, rate-limited records) that landed on another. */
  misplaced: number;
}

/** Sends `records` to `streamName` in one PutRecords request. Throws what the SDK throws. */
export async function putRecords<T>(
  client: KinesisClient,
  streamName: string,
  records: readonly PendingRecord<T>[],
  abortSignal: AbortSignal,
): Promise<PutOutcome<T>> {
  const command = new PutRecordsCommand({ StreamName: streamName, Records: records.map((r) => r.entry) });
  const output = await client.send(command, { abortSignal });
  const results = output.Records ?? [];
  publishPutRecords(streamName, records, results);
  let misplaced = 0;
  // Records planned for a shard check where they landed (a stale shard map puts them elsewhere).
  const landed = (record: PendingRecord<T>, shardId: string | undefined): void => {
    if (record.expectedShardId === undefined) return;
    record.storedShardId = shardId;
    if (shardId !== undefined && shardId !== record.expectedShardId) misplaced++;
  };
  if (!output.FailedRecordCount) {
    for (let i = 0; i < records.length; i++) landed(records[i], results[i]?.ShardId);
    return { stored: records as PendingRecord<T>[], failed: [], misplaced };
  }
  const stored: PendingRecord<T>[] = [];
  const failed: PendingRecord<T>[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const result = results[i];
    if (result !== undefined && result.ErrorCode === undefined && result.SequenceNumber !== undefined) {
      landed(record, result.ShardId);
      stored.push(record);
    } else {
      record.lastErrorCode = result?.ErrorCode ?? 'MissingResult';
      record.lastErrorMessage = result?.ErrorMessage ?? 'no result for this entry in the PutRecords response';
      failed.push(record);
    }
  }
  return { stored, failed, misplaced };
}
