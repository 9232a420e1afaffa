/**
 * The checkpoint math of one Lambda batch, without I/O: the user records of the event
 * (KPL aggregates split by the project's codec, a corrupt one kept whole), where a
 * stored checkpoint lets a retry resume, and which record the partial batch response
 * must name so that Lambda retries exactly what is not done.
 */
import { deaggregateRecord, type DeaggregateResult } from '../aggregation/deaggregate.js';
import { compareCheckpoints, type Checkpoint } from '../checkpoint/store.js';
import type { EventRecord, KinesisBatchItemFailure } from './event.js';

/** One user record of the batch: a whole Kinesis record, or one sub-record of an aggregate. */
export interface BatchEntry {
  /** Index of its Kinesis record in the batch. */
  recordIndex: number;
  data: Buffer;
  partitionKey: string;
  explicitHashKey?: string;
  /** Set inside an aggregate. */
  subSequenceNumber?: number;
}

/** Every user record of a batch, in shard order, and where each Kinesis record's run of them starts. */
export interface BatchPlan {
  records: readonly EventRecord[];
  entries: BatchEntry[];
  /** Per Kinesis record: index of its first entry, and how many it has (0 for an empty aggregate). */
  firstEntry: number[];
  entryCount: number[];
  /** Per Kinesis record: true when it was split as an aggregate (its entries carry subSequenceNumber). */
  aggregated: boolean[];
  /** Records with the KPL magic that failed their checksum or parse, kept whole. */
  corrupt: number[];
}

/** Splits the batch into user records. `deaggregate: false` keeps aggregates whole. */
export function planBatch(records: readonly EventRecord[], deaggregate: boolean): BatchPlan {
  const plan: BatchPlan = { records, entries: [], firstEntry: [], entryCount: [], aggregated: [], corrupt: [] };
  for (let recordIndex = 0; recordIndex < records.length; recordIndex++) {
    const record = records[recordIndex];
    plan.firstEntry.push(plan.entries.length);
    const result: DeaggregateResult = deaggregate ? deaggregateRecord(record.data) : { kind: 'plain' };
    if (result.kind === 'aggregate') {
      result.records.forEach((sub, subSequenceNumber) => {
        const entry: BatchEntry = { recordIndex, data: sub.data, partitionKey: sub.partitionKey, subSequenceNumber };
        if (sub.explicitHashKey !== undefined) entry.explicitHashKey = sub.explicitHashKey;
        plan.entries.push(entry);
      });
    } else {
      // A corrupt aggregate is delivered whole, as the poller and the KCL do.
      if (result.kind === 'corrupt') plan.corrupt.push(recordIndex);
      plan.entries.push({ recordIndex, data: record.data, partitionKey: record.partitionKey });
    }
    plan.aggregated.push(result.kind === 'aggregate');
    plan.entryCount.push(plan.entries.length - plan.firstEntry[recordIndex]);
  }
  return plan;
}

/** The position of an entry in its shard, as checkpoints store it. */
export function entryPosition(plan: BatchPlan, index: number): Checkpoint {
  const entry = plan.entries[index];
  const sequenceNumber = plan.records[entry.recordIndex].sequenceNumber;
  return entry.subSequenceNumber === undefined ? { sequenceNumber } : { sequenceNumber, subSequenceNumber: entry.subSequenceNumber };
}

/** Where a batch resumes given a stored checkpoint: the first entry to deliver and what is already done. */
export interface ResumePoint {
  start: number;
  done: Checkpoint | undefined;
}

/**
 * Where to start when the store holds `stored`. Only a checkpoint of a record in this
 * batch counts: it was stored by an earlier attempt at this batch, which had done every
 * record up to it (Lambda retries from the reported record or the batch's start, never
 * earlier). A checkpoint of any other record (another batch, another key group of the
 * shard with ParallelizationFactor > 1, a stale one) is ignored: that can only repeat records,
 * never skip one.
 */
export function resumePoint(plan: BatchPlan, stored: Checkpoint | undefined): ResumePoint {
  if (stored === undefined) return { start: 0, done: undefined };
  const recordIndex = plan.records.findIndex((record) => record.sequenceNumber === stored.sequenceNumber);
  if (recordIndex < 0) return { start: 0, done: undefined };
  const first = plan.firstEntry[recordIndex];
  const count = plan.entryCount[recordIndex];
  if (!plan.aggregated[recordIndex] || stored.subSequenceNumber === undefined) {
    // A whole record was checkpointed (a plain one even with a sub-sequence number, as the poller reads it).
    return { start: first + count, done: { sequenceNumber: stored.sequenceNumber } };
  }
  const skip = Math.min(count, stored.subSequenceNumber + 1);
  return { start: first + skip, done: { sequenceNumber: stored.sequenceNumber, subSequenceNumber: stored.subSequenceNumber } };
}

/**
 * The partial batch response for progress `done` (everything up to and including it is
 * processed): the first Kinesis record with a user record after `done`, or none when the
 * batch is complete. An aggregate with some sub-records done is named whole: Lambda's
 * retry starts at a Kinesis record, never inside one.
 */
export function batchItemFailures(plan: BatchPlan, done: Checkpoint | undefined): KinesisBatchItemFailure[] {
  for (let recordIndex = 0; recordIndex < plan.records.length; recordIndex++) {
    const count = plan.entryCount[recordIndex];
    // An aggregate without user records has nothing to process.
    if (count === 0) continue;
    const last = entryPosition(plan, plan.firstEntry[recordIndex] + count - 1);
    if (done === undefined || compareCheckpoints(done, last) < 0) return [{ itemIdentifier: plan.records[recordIndex].sequenceNumber }];
  }
  return [];
}
