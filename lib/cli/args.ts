/**
 * Command-line parsing with util.parseArgs: the common flags, each command's flags and
 * usage text, and UsageError (exit code 2, one line, no stack trace).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | undefined,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  region: { type: 'string' },
  endpoint: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const COMMON_USAGE = `Common options:
  --region R        AWS region (default: AWS_REGION, the profile's)
  --endpoint URL    Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS or AWS), e.g. http://localhost:4567
  --profile P       AWS profile (default: AWS_PROFILE); credentials come from the SDK's default chain
  -h, --help        this help`;

export const COMMANDS = {
  read: {
    options: {
      stream: { type: 'string' },
      from: { type: 'string' },
      'checkpoint-file': { type: 'string' },
      'lease-table': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      'max-records': { type: 'string' },
      format: { type: 'string' },
      efo: { type: 'string' },
      progress: { type: 'boolean' },
      'progress-interval': { type: 'string' },
    },
    usage: `Usage: kinesis-node-streams read --stream S [options]

Reads every shard of a stream and prints its records to stdout, one per line.

  --stream S              the stream to read (required)
  --from P                latest (default) | trim-horizon | an ISO time (2026-11-27T10:00:00Z)
  --checkpoint-file F     keep the position in file F: a later run resumes after it
  --lease-table T         share the shards with other readers through DynamoDB table T
  --dynamodb-endpoint URL DynamoDB endpoint for --lease-table (default: AWS_ENDPOINT_URL_DYNAMODB or AWS)
  --max-records N         stop after N records
  --format F              ndjson (default: data as JSON, text or base64, with partitionKey,
                          sequenceNumber, shardId, approximateArrivalTimestamp) | data (the data
                          only, one per line) | raw (the data bytes, newline after each)
  --efo CONSUMER          read with enhanced fan-out as stream consumer CONSUMER
  --progress              a live per-shard view on stderr (records/s, lag, lease owner,
                          throttles, retries): redrawn in place on a terminal, else plain lines
  --progress-interval MS  how often the view is drawn (default 1000)

Only records stdout accepted are checkpointed; SIGINT/SIGTERM stop after checkpointing.`,
  },
  write: {
    options: {
      stream: { type: 'string' },
      'partition-key-field': { type: 'string' },
      'partition-key': { type: 'string' },
      aggregate: { type: 'boolean' },
      format: { type: 'string' },
    },
    usage: `Usage: kinesis-node-streams write --stream S [options] < input

Writes stdin to a stream, one record per line. Exits non-zero with a summary if any record failed.

  --stream S                 the stream to write (required)
  --format F                 ndjson (default: one JSON value per line) | lines (any text) | raw (all of stdin as one record)
  --partition-key-field F    partition key from field F of each JSON line (dots reach into objects: user.id)
  --partition-key K          the same partition key for every record (default: random)
  --aggregate                KPL-aggregate records (many per Kinesis record)`,
  },
  copy: {
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      start: { type: 'string' },
      'checkpoint-file': { type: 'string' },
      'max-records': { type: 'string' },
      aggregate: { type: 'boolean' },
      progress: { type: 'boolean' },
      'progress-interval': { type: 'string' },
    },
    usage: `Usage: kinesis-node-streams copy --from S1 --to S2 [options]

Copies every record of one stream into another (same data, same partition key). Records
are checkpointed only once the target stored them.

  --from S1               the source stream (required)
  --to S2                 the target stream (required)
  --start P               latest (default) | trim-horizon | an ISO time
  --checkpoint-file F     keep the position in file F: a later run resumes after it
  --max-records N         stop after N records
  --aggregate             KPL-aggregate the records written
  --progress              a live per-shard view on stderr (as for read), with records written
  --progress-interval MS  how often the view is drawn (default 1000)`,
  },
  stats: {
    options: {
      stream: { type: 'string' },
      'checkpoint-file': { type: 'string' },
      'lease-table': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      json: { type: 'boolean' },
    },
    usage: `Usage: kinesis-node-streams stats --stream S [options]

Shows the stream's shards (open and closed, with their parents) and, with a checkpoint
store, each shard's checkpoint and how far behind it is.

  --stream S              the stream (required)
  --checkpoint-file F     read checkpoints from file F
  --lease-table T         read checkpoints (and owners) from lease table T
  --dynamodb-endpoint URL DynamoDB endpoint for --lease-table
  --json                  print JSON instead of a table`,
  },
} as const satisfies Record<string, { options: Options; usage: string }>;

export type CommandName = keyof typeof COMMANDS;

export const MAIN_USAGE = `Usage: kinesis-node-streams <command> [options]

Commands:
  read     print a stream's records (NDJSON) to stdout
  write    write stdin's lines into a stream
  copy     copy one stream into another
  stats    shards, checkpoints and lag of a stream

Run kinesis-node-streams <command> --help for a command's options.`;

/** Usage text of a command, with the common options. */
export function usageOf(command: CommandName): string {
  return `${COMMANDS[command].usage}\n\n${COMMON_USAGE}`;
}

/** Parsed flags of a command: strings and booleans by name. */
export type Flags = Record<string, string | boolean | undefined>;

/** Parses a command's flags; a UsageError for anything unknown or malformed. */
export function parseCommand(command: CommandName, args: string[]): Flags {
  try {
    const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...COMMANDS[command].options }, strict: true, allowPositionals: false });
    return values as Flags;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0], command);
  }
}

/** A required string flag. */
export function required(flags: Flags, name: string, command: CommandName): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

/** An optional positive integer flag. */
export function positiveIntegerFlag(flags: Flags, name: string, command: CommandName): number | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`, command);
  return n;
}

/** One of a list of values. */
export function choiceFlag<T extends string>(flags: Flags, name: string, choices: readonly T[], fallback: T, command: CommandName): T {
  const value = flags[name] ?? fallback;
  if (!choices.includes(value as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`, command);
  return value as T;
}
