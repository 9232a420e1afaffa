/**
 * In-memory checkpoints: the default store. Lost when the process ends, so a restart
 * starts again from `initialPosition`.
 */
import type { Checkpoint, CheckpointStore } from './store.js';

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly checkpoints = new Map<string, Checkpoint>();

  async get(stream: string, shardId: string): Promise<Checkpoint | undefined> {
    const checkpoint = this.checkpoints.get(key(stream, shardId));
    return checkpoint === undefined ? undefined : { ...checkpoint };
  }

  async set(stream: string, shardId: string, checkpoint: Checkpoint): Promise<void> {
    this.checkpoints.set(key(stream, shardId), { ...checkpoint });
  }

  /** Every stored checkpoint, keyed `stream/shardId` (for tests and tools). */
  entries(): Map<string, Checkpoint> {
    return new Map(this.checkpoints);
  }
}

function key(stream: string, shardId: string): string {
  return `${stream}/${shardId}`;
}
