/**
 * Checkpoints in one JSON file, replaced atomically (write a temporary file, fsync,
 * rename over the old one, fsync the directory), so a crash leaves either the old or
 * the new file, never a torn one. A corrupt or foreign file is a CheckpointError: a
 * reader must not silently start again from scratch.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CheckpointError } from '../errors.js';
import { logger } from '../log.js';
import { nonEmptyString } from '../options.js';
import { isCheckpoint, type Checkpoint, type CheckpointStore } from './store.js';

const log = logger('checkpoint');
const FORMAT = 'kinesis-node-streams/checkpoints';
const VERSION = 1;

type Shards = Record<string, Checkpoint>;

interface FileContent {
  format: typeof FORMAT;
  version: typeof VERSION;
  streams: Record<string, Shards>;
}

export class FileCheckpointStore implements CheckpointStore {
  readonly path: string;
  private streams: Map<string, Map<string, Checkpoint>> | undefined;
  private loading: Promise<void> | undefined;
  /** The write that will include the latest changes, if not started yet. */
  private pendingWrite: Promise<void> | undefined;
  /** Writes run one at a time, in order. */
  private writeChain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = nonEmptyString(path, 'path');
  }

  async get(stream: string, shardId: string): Promise<Checkpoint | undefined> {
    await this.load();
    const checkpoint = this.streams?.get(stream)?.get(shardId);
    return checkpoint === undefined ? undefined : { ...checkpoint };
  }

  async set(stream: string, shardId: string, checkpoint: Checkpoint): Promise<void> {
    if (!isCheckpoint(checkpoint)) throw new CheckpointError(`invalid checkpoint for ${stream}/${shardId}`);
    await this.load();
    const streams = this.streams as Map<string, Map<string, Checkpoint>>;
    let shards = streams.get(stream);
    if (shards === undefined) streams.set(stream, (shards = new Map()));
    shards.set(shardId, { ...checkpoint });
    return this.persist();
  }

  /** Coalesces concurrent set() calls into one write that starts after the current one. */
  private persist(): Promise<void> {
    if (this.pendingWrite === undefined) {
      const write = this.writeChain.then(() => {
        this.pendingWrite = undefined;
        return this.writeFile(this.serialize());
      });
      this.pendingWrite = write;
      this.writeChain = write.catch(() => undefined);
    }
    return this.pendingWrite;
  }

  private serialize(): string {
    const content: FileContent = { format: FORMAT, version: VERSION, streams: {} };
    for (const [stream, shards] of this.streams ?? []) content.streams[stream] = Object.fromEntries(shards);
    return `${JSON.stringify(content, null, 2)}\n`;
  }

  private async writeFile(text: string): Promise<void> {
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(text, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
      await syncDirectory(dirname(this.path));
      log('wrote %s', this.path);
    } catch (cause) {
      await unlink(temporary).catch(() => undefined);
      throw new CheckpointError(`cannot write checkpoint file ${this.path}: ${(cause as Error).message}`, { cause, retriable: true });
    }
  }

  private load(): Promise<void> {
    this.loading ??= this.readFile().catch((error: unknown) => {
      this.loading = undefined; // a later call may try again (e.g. after the file is fixed)
      throw error;
    });
    return this.loading;
  }

  private async readFile(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
        this.streams = new Map();
        return;
      }
      throw new CheckpointError(`cannot read checkpoint file ${this.path}: ${(cause as Error).message}`, { cause, retriable: true });
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch (cause) {
      throw new CheckpointError(`checkpoint file ${this.path} is corrupt (not JSON); fix or remove it to start over`, { cause });
    }
    this.streams = parseContent(content, this.path);
  }
}

function parseContent(content: unknown, path: string): Map<string, Map<string, Checkpoint>> {
  const c = content as Partial<FileContent> | null;
  if (typeof c !== 'object' || c === null || c.format !== FORMAT) {
    throw new CheckpointError(`${path} is not a kinesis-node-streams checkpoint file (format is not ${JSON.stringify(FORMAT)})`);
  }
  if (c.version !== VERSION) throw new CheckpointError(`checkpoint file ${path} has unsupported version ${String(c.version)}`);
  if (typeof c.streams !== 'object' || c.streams === null) throw new CheckpointError(`checkpoint file ${path} is corrupt (no streams)`);
  const streams = new Map<string, Map<string, Checkpoint>>();
  for (const [stream, shards] of Object.entries(c.streams)) {
    const map = new Map<string, Checkpoint>();
    for (const [shardId, checkpoint] of Object.entries(shards ?? {})) {
      if (!isCheckpoint(checkpoint)) throw new CheckpointError(`checkpoint file ${path} is corrupt at ${stream}/${shardId}`);
      map.set(shardId, checkpoint);
    }
    streams.set(stream, map);
  }
  return streams;
}

/** Makes a rename durable. Some platforms cannot fsync a directory; that is not an error there. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
