/**
 * What every command needs from its flags: client options, start positions, checkpoint
 * stores, and a progress line on stderr when it is a terminal.
 */
import type { CheckpointStore } from '../checkpoint/store.js';
import { DynamoDBLeaseStore } from '../checkpoint/dynamodb-lease-store.js';
import { FileCheckpointStore } from '../checkpoint/file-store.js';
import type { ClientOptions } from '../client.js';
import type { InitialPosition } from '../readable/shard-tracker.js';
import { UsageError, positiveIntegerFlag, type CommandName, type Flags } from './args.js';
import { CLI_DEFAULTS } from '../limits.js';
import { startProgressView } from './progress.js';

/** Client options from --region / --endpoint; --profile goes to AWS_PROFILE, as the AWS CLI does. */
export function clientOptions(flags: Flags): ClientOptions {
  if (typeof flags.profile === 'string') process.env.AWS_PROFILE = flags.profile;
  const options: ClientOptions = {};
  if (typeof flags.region === 'string') options.region = flags.region;
  if (typeof flags.endpoint === 'string') options.endpoint = flags.endpoint;
  return options;
}

/** latest | trim-horizon | an ISO time. */
export function positionFlag(value: string | boolean | undefined, name: string, command: CommandName): InitialPosition {
  if (value === undefined || value === 'latest') return 'LATEST';
  if (value === 'trim-horizon') return 'TRIM_HORIZON';
  const timestamp = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(timestamp.getTime())) {
    throw new UsageError(`--${name} must be latest, trim-horizon or an ISO time, got ${JSON.stringify(value)}`, command);
  }
  return { timestamp };
}

/** The checkpoint store the flags ask for, if any. */
export function storeFlag(flags: Flags, command: CommandName): CheckpointStore | undefined {
  const file = flags['checkpoint-file'];
  const table = flags['lease-table'];
  if (file !== undefined && table !== undefined) throw new UsageError('--checkpoint-file and --lease-table cannot be used together', command);
  if (typeof file === 'string') return new FileCheckpointStore(file);
  if (typeof table === 'string') {
    const endpoint = flags['dynamodb-endpoint'];
    return new DynamoDBLeaseStore({
      tableName: table,
      ...(typeof endpoint === 'string' ? { endpoint } : {}),
      ...(typeof flags.region === 'string' ? { region: flags.region } : {}),
    });
  }
  return undefined;
}

/** A progress line on stderr, once a second, only when stderr is a terminal. */
export function progress(describe: () => string): () => void {
  if (process.stderr.isTTY !== true) return () => undefined;
  const timer = setInterval(() => process.stderr.write(`\r${describe()}\x1b[K`), 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

/**
 * The per-shard view on stderr when --progress (or --progress-interval) is given: its
 * stop function, else undefined (the command keeps its one-line progress).
 */
export function progressViewFlag(flags: Flags, command: CommandName, title: string): (() => void) | undefined {
  const intervalMs = positiveIntegerFlag(flags, 'progress-interval', command);
  if (flags.progress !== true && intervalMs === undefined) return undefined;
  if (intervalMs !== undefined && intervalMs < CLI_DEFAULTS.minProgressIntervalMs) {
    throw new UsageError(`--progress-interval must be at least ${CLI_DEFAULTS.minProgressIntervalMs} ms, got ${intervalMs}`, command);
  }
  const view = startProgressView({ title, out: process.stderr, intervalMs: intervalMs ?? CLI_DEFAULTS.progressIntervalMs });
  return () => view.stop();
}

/** Records per second over the last interval, for progress lines. */
export function rate(): (count: number) => number {
  let lastCount = 0;
  let lastAt = Date.now();
  return (count) => {
    const now = Date.now();
    const perSecond = now > lastAt ? ((count - lastCount) * 1000) / (now - lastAt) : 0;
    lastCount = count;
    lastAt = now;
    return Math.round(perSecond);
  };
}

/** Resolves on the first SIGINT or SIGTERM (and stops listening afterwards). */
export function onStopSignal(stop: () => void): () => void {
  const handler = (): void => stop();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
