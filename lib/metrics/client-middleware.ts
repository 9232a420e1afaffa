/**
 * Request start/end for every Kinesis and DynamoDB call, from one place: a middleware in
 * the SDK client's stack, in the deserialize step, so it times each HTTP attempt (inside
 * the SDK's own retries, if a client has them) and sees the parsed answer or the service
 * error. Added to every client this package uses, including one passed in as `client`.
 *
 * GetRecords names no stream or shard, only an iterator: the middleware remembers which
 * shard each live iterator belongs to (from GetShardIterator, then from each answer's
 * NextShardIterator). That bookkeeping runs whether or not anyone listens, so a
 * subscriber that attaches late still sees the shard; it is one Map update per
 * GetRecords call, bounded, and never published. Everything else is skipped when nobody
 * listens.
 */
import { performance } from 'node:perf_hooks';
import { errorCode } from '../retry.js';
import { isThrottleCode, publishRequestEnd, publishRequestStart, requestsObserved, type RequestStartMessage, type Service } from './channels.js';

/** The middleware's name in the client's stack. */
export const METRICS_MIDDLEWARE_NAME = 'kinesisNodeStreamsMetrics';

/** Live iterators remembered per client; the oldest are forgotten past this (expired or abandoned ones). */
const MAX_TRACKED_ITERATORS = 10_000;

interface HandlerArgs {
  input: object;
}
interface HandlerOutput {
  output: object;
}
type Handler = (args: HandlerArgs) => Promise<HandlerOutput>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** The part of an SDK client's middleware stack used here (Kinesis and DynamoDB clients alike). */
interface StackLike {
  add(middleware: Middleware, options: { step: 'deserialize'; name: string; priority: 'high'; tags: string[] }): void;
  identify(): string[];
}

interface ShardScope {
  streamName: string | undefined;
  shardId: string | undefined;
}

interface KinesisInput {
  StreamName?: string;
  StreamARN?: string;
  ConsumerARN?: string;
  ShardId?: string;
  ShardIterator?: string;
  TableName?: string;
}

interface KinesisOutput {
  ShardIterator?: string;
  NextShardIterator?: string;
  $metadata?: { httpStatusCode?: number };
}

let nextRequestId = 1;

/**
 * Adds the request middleware to an SDK client (once; a client already carrying it, from
 * this or another copy of the package, is left as is). Clients without a middleware stack
 * (test doubles) are returned untouched.
 */
export function instrumentClient<C extends object>(client: C, service: Service): C {
  const stack = (client as { middlewareStack?: Partial<StackLike> }).middlewareStack;
  if (stack === undefined || typeof stack.add !== 'function' || typeof stack.identify !== 'function') return client;
  if (stack.identify().some((entry) => entry.startsWith(`${METRICS_MIDDLEWARE_NAME} `))) return client;
  stack.add(requestMiddleware(service), { step: 'deserialize', name: METRICS_MIDDLEWARE_NAME, priority: 'high', tags: ['METRICS'] });
  return client;
}

function requestMiddleware(service: Service): Middleware {
  const iterators = new Map<string, ShardScope>();
  return (next, context) => {
    const operation = operationName(context.commandName);
    const tracksIterators = service === 'kinesis' && (operation === 'GetRecords' || operation === 'GetShardIterator');
    return (args) => {
      if (!tracksIterators && !requestsObserved()) return next(args);
      return observe(next, args, service, operation, tracksIterators ? iterators : undefined);
    };
  };
}

async function observe(
  next: Handler,
  args: HandlerArgs,
  service: Service,
  operation: string,
  iterators: Map<string, ShardScope> | undefined,
): Promise<HandlerOutput> {
  const input = args.input as KinesisInput;
  const observed = requestsObserved();
  let start: RequestStartMessage | undefined;
  let began = 0;
  if (observed) {
    const scope = service === 'kinesis' ? kinesisScope(operation, input, iterators) : undefined;
    start = {
      id: nextRequestId++,
      service,
      operation,
      streamName: scope?.streamName,
      shardId: scope?.shardId,
      tableName: service === 'dynamodb' && typeof input.TableName === 'string' ? input.TableName : undefined,
    };
    publishRequestStart(start);
    began = performance.now();
  }
  let result: HandlerOutput;
  try {
    result = await next(args);
  } catch (error) {
    if (start !== undefined) {
      const code = errorCode(error);
      const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
      publishRequestEnd({
        ...start,
        durationMs: performance.now() - began,
        errorCode: code,
        httpStatusCode: status,
        throttled: isThrottleCode(code) || status === 429,
      });
    }
    throw error;
  }
  if (iterators !== undefined) track(iterators, operation, input, result.output as KinesisOutput);
  if (start !== undefined) {
    publishRequestEnd({
      ...start,
      durationMs: performance.now() - began,
      errorCode: undefined,
      httpStatusCode: (result.output as KinesisOutput).$metadata?.httpStatusCode,
      throttled: false,
    });
  }
  return result;
}

/** Which stream and shard a Kinesis request is about, from its input. */
function kinesisScope(operation: string, input: KinesisInput, iterators: Map<string, ShardScope> | undefined): ShardScope {
  if (operation === 'GetRecords') {
    return (input.ShardIterator === undefined ? undefined : iterators?.get(input.ShardIterator)) ?? { streamName: undefined, shardId: undefined };
  }
  const streamName =
    typeof input.StreamName === 'string' ? input.StreamName : streamOfArn(input.StreamARN) ?? streamOfArn(input.ConsumerARN);
  return { streamName, shardId: typeof input.ShardId === 'string' ? input.ShardId : undefined };
}

/** Remembers the shard of the iterator an answer hands out; forgets the one it used up. */
function track(iterators: Map<string, ShardScope>, operation: string, input: KinesisInput, output: KinesisOutput): void {
  let scope: ShardScope | undefined;
  let issued: string | undefined;
  if (operation === 'GetShardIterator') {
    scope = kinesisScope(operation, input, iterators);
    issued = output.ShardIterator;
  } else if (input.ShardIterator !== undefined) {
    scope = iterators.get(input.ShardIterator);
    iterators.delete(input.ShardIterator);
    issued = output.NextShardIterator ?? undefined;
  }
  if (scope === undefined || typeof issued !== 'string') return;
  iterators.set(issued, scope);
  if (iterators.size > MAX_TRACKED_ITERATORS) iterators.delete(iterators.keys().next().value as string);
}

/** `arn:aws:kinesis:region:account:stream/NAME[/consumer/...]` → NAME. */
export function streamOfArn(arn: string | undefined): string | undefined {
  if (typeof arn !== 'string') return undefined;
  const match = /:stream\/([^/]+)/.exec(arn);
  return match === null ? undefined : match[1];
}

const operationNames = new Map<string, string>();

/** `GetRecordsCommand` → `GetRecords`. */
function operationName(commandName: string | undefined): string {
  if (commandName === undefined) return 'unknown';
  let name = operationNames.get(commandName);
  if (name === undefined) {
    name = commandName.endsWith('Command') ? commandName.slice(0, -'Command'.length) : commandName;
    operationNames.set(commandName, name);
  }
  return name;
}
