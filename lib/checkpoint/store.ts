/**
 * Where readers keep their position: one checkpoint per stream and shard.
 */

/** Stored instead of a sequence number once every record of a closed shard is checkpointed. */
export const SHARD_END = 'SHARD_END';

/** A position in a shard: everything up to and including it is processed. */
export interface Checkpoint {
  /** Sequence number of the last processed record, or 'SHARD_END'. */
  sequenceNumber: string;
  /** Within an aggregated (KPL) record: the last processed sub-record. */
  subSequenceNumber?: number;
}

/** A durable map from (stream, shard) to checkpoint. */
export interface CheckpointStore {
  /** The stored checkpoint, or undefined when the shard has none. */
  get(stream: string, shardId: string): Promise<Checkpoint | undefined>;
  /** Stores a checkpoint; resolves once it is durable. */
  set(stream: string, shardId: string, checkpoint: Checkpoint): Promise<void>;
}

/** True when `value` has the shape of a Checkpoint. */
export function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== 'object' || value === null) return false;
  const { sequenceNumber, subSequenceNumber } = value as Record<string, unknown>;
  if (typeof sequenceNumber !== 'string' || !(sequenceNumber === SHARD_END || /^\d+$/.test(sequenceNumber))) return false;
  return subSequenceNumber === undefined || (typeof subSequenceNumber === 'number' && Number.isInteger(subSequenceNumber) && subSequenceNumber >= 0);
}

/**
 * Orders two checkpoints of one shard: negative when `a` is before `b`. Sequence numbers
 * are decimal strings without leading zeros (longer is later); SHARD_END is after all.
 */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  if (a.sequenceNumber === SHARD_END || b.sequenceNumber === SHARD_END) {
    return (a.sequenceNumber === SHARD_END ? 1 : 0) - (b.sequenceNumber === SHARD_END ? 1 : 0);
  }
  const bySequence = compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber);
  if (bySequence !== 0) return bySequence;
  // A whole record (no sub-sequence) is after every one of its sub-records.
  return (a.subSequenceNumber ?? Number.POSITIVE_INFINITY) - (b.subSequenceNumber ?? Number.POSITIVE_INFINITY) || 0;
}

/** Orders two Kinesis sequence numbers (decimal strings). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
