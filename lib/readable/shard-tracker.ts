/**
 * Which shards of one stream may be read now, and from where: parents before children
 * (per-key order across splits and merges), checkpoints before initial positions.
 * Pure logic, no I/O.
 */
import { SHARD_END, type Checkpoint } from '../checkpoint/store.js';

/** Where a reader starts: its initial position for shards without a checkpoint. */
export type InitialPosition = 'LATEST' | 'TRIM_HORIZON' | { timestamp: Date };

/** Where one shard's reader starts. */
export type StartPosition =
  | { type: 'LATEST' }
  | { type: 'TRIM_HORIZON' }
  | { type: 'AT_TIMESTAMP'; timestamp: Date }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string; subSequenceNumber?: number };

/** A shard as listed by ListShards, with its stored checkpoint. */
export interface ListedShard {
  shardId: string;
  /** ParentShardId and AdjacentParentShardId, when present. */
  parentShardIds: string[];
  /** True when the shard has an ending sequence number (split or merged away). */
  closed: boolean;
  checkpoint?: Checkpoint;
  /** HashKeyRange as decimal strings. */
  hashKeyRange?: { start: string; end: string };
}

/** A shard that may start now. */
export interface ReadyShard {
  shardId: string;
  shard: ListedShard;
  position: StartPosition;
  /** Its stored checkpoint, if any. */
  checkpoint: Checkpoint | undefined;
}

/** Lifecycle of a shard in this reader. */
export type ShardPhase = 'waiting' | 'reading' | 'finished';

interface Node {
  shard: ListedShard;
  phase: ShardPhase;
  /** Listed by the first discovery (open at start), as opposed to found later. */
  initial: boolean;
  /** Records of this shard were read, here or before (so children continue at TRIM_HORIZON). */
  read: boolean;
}

export class ShardTracker {
  private readonly nodes = new Map<string, Node>();

  constructor(
    private readonly initialPosition: InitialPosition,
    /** The reader's start time: LATEST for shards found later is pinned to it. */
    private readonly startTime: Date,
  ) {}

  has(shardId: string): boolean {
    return this.nodes.has(shardId);
  }

  phase(shardId: string): ShardPhase | undefined {
    return this.nodes.get(shardId)?.phase;
  }

  /** Adds newly listed shards. `initial` is true for the reader's first listing. */
  add(shards: readonly ListedShard[], initial: boolean): void {
    for (const shard of shards) {
      if (this.nodes.has(shard.shardId)) continue;
      const node: Node = { shard, phase: 'waiting', initial, read: false };
      if (shard.checkpoint?.sequenceNumber === SHARD_END) {
        // Read to its end before (by an earlier run or another worker): children go on from their start.
        node.phase = 'finished';
        node.read = true;
      } else if (shard.checkpoint === undefined && initial && shard.closed && this.initialPosition === 'LATEST') {
        // LATEST never reads what was closed before the reader started.
        node.phase = 'finished';
      }
      this.nodes.set(shard.shardId, node);
    }
  }

  /**
   * Shards whose parents are all finished (and that `canStart` allows: with leases, the
   * ones this worker holds), with their start positions; they become 'reading'.
   */
  takeReady(canStart: (shardId: string) => boolean = () => true): ReadyShard[] {
    const ready: ReadyShard[] = [];
    for (const node of this.nodes.values()) {
      if (node.phase !== 'waiting' || !canStart(node.shard.shardId)) continue;
      const parents = node.shard.parentShardIds.map((id) => this.nodes.get(id)).filter((p): p is Node => p !== undefined);
      // Parents no longer listed (past retention) cannot hold records to wait for.
      if (parents.some((parent) => parent.phase !== 'finished')) continue;
      node.phase = 'reading';
      ready.push({ shardId: node.shard.shardId, shard: node.shard, position: this.positionOf(node, parents), checkpoint: node.shard.checkpoint });
    }
    return ready;
  }

  /** The shard reached SHARD_END and every record of it went to the consumer. */
  finish(shardId: string): void {
    const node = this.nodes.get(shardId);
    if (node === undefined) return;
    node.phase = 'finished';
    node.read = true;
  }

  /** A fresher checkpoint (a lease was gained: its last holder may have moved it). */
  updateCheckpoint(shardId: string, checkpoint: Checkpoint | undefined): void {
    const node = this.nodes.get(shardId);
    if (node === undefined) return;
    if (checkpoint === undefined) delete node.shard.checkpoint;
    else node.shard.checkpoint = checkpoint;
    if (checkpoint?.sequenceNumber === SHARD_END) this.finish(shardId);
  }

  /** A shard this reader stopped reading (its lease was lost): it may start again later. */
  release(shardId: string): void {
    const node = this.nodes.get(shardId);
    if (node?.phase === 'reading') node.phase = 'waiting';
  }

  private positionOf(node: Node, parents: Node[]): StartPosition {
    const checkpoint = node.shard.checkpoint;
    if (checkpoint !== undefined) {
      const position: StartPosition = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint.sequenceNumber };
      if (checkpoint.subSequenceNumber !== undefined) position.subSequenceNumber = checkpoint.subSequenceNumber;
      return position;
    }
    // Children of a shard read here continue where the parent ended: at their start.
    if (parents.some((parent) => parent.read)) return { type: 'TRIM_HORIZON' };
    const initial = this.initialPosition;
    if (initial === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
    if (initial === 'LATEST') {
      // A shard found after start must not skip what was written to it since start.
      return node.initial ? { type: 'LATEST' } : { type: 'AT_TIMESTAMP', timestamp: this.startTime };
    }
    return { type: 'AT_TIMESTAMP', timestamp: initial.timestamp };
  }
}
