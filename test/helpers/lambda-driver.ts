/**
 * A local stand-in for a Lambda Kinesis event source mapping with
 * FunctionResponseTypes ['ReportBatchItemFailures'], for one shard: it invokes the
 * handler with batches of up to `batchSize` records in shard order and moves on as
 * Lambda does:
 *
 * - the handler throws (a function error): the same batch again;
 * - batchItemFailures empty, null or absent: the next batch after this one;
 * - batchItemFailures with an empty, null or unknown itemIdentifier: the whole batch
 *   counts as failed, the same batch again;
 * - otherwise: the next batch starts at the lowest sequence number reported.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { KinesisBatchResponse } from '../../lib/index.js';

/** What one invocation got and answered. */
export interface Invocation {
  /** Index (in the shard's records) of the batch's first record, and its size. */
  from: number;
  size: number;
  response: KinesisBatchResponse | undefined;
  error: unknown;
  /** Index the next batch starts at. */
  next: number;
}

export interface DriveOptions {
  /** Records per batch (the mapping's BatchSize). */
  batchSize: number;
  /** A guard against a handler that never makes progress. Default 1000. */
  maxInvocations?: number;
  context?: { functionName: string; awsRequestId: string };
}

export type Handler = (event: { Records: KinesisStreamRecord[] }, context?: { functionName: string; awsRequestId: string }) => Promise<KinesisBatchResponse | undefined | void>;

/** Runs the shard's records through the handler until every batch succeeded; the invocations, in order. */
export async function driveShard(handler: Handler, records: KinesisStreamRecord[], options: DriveOptions): Promise<Invocation[]> {
  const maxInvocations = options.maxInvocations ?? 1000;
  const invocations: Invocation[] = [];
  let from = 0;
  while (from < records.length) {
    if (invocations.length >= maxInvocations) throw new Error(`no progress after ${maxInvocations} invocations (at record ${from})`);
    const batch = records.slice(from, from + options.batchSize);
    const context = options.context ?? { functionName: 'test-function', awsRequestId: `request-${invocations.length}` };
    let response: KinesisBatchResponse | undefined;
    let error: unknown;
    let next: number;
    try {
      response = (await handler({ Records: batch }, context)) ?? undefined;
      next = nextStart(batch, from, response);
    } catch (thrown) {
      error = thrown;
      next = from;
    }
    invocations.push({ from, size: batch.length, response, error, next });
    from = next;
  }
  return invocations;
}

function nextStart(batch: KinesisStreamRecord[], from: number, response: KinesisBatchResponse | undefined): number {
  const failures = response?.batchItemFailures;
  if (failures === undefined || failures === null || failures.length === 0) return from + batch.length;
  let lowest = -1;
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => r.kinesis.sequenceNumber === id) : -1;
    if (index < 0) return from; // Lambda treats the whole batch as failed
    if (lowest < 0 || index < lowest) lowest = index;
  }
  return from + lowest;
}
