/**
 * Lambda handlers for a Kinesis event source mapping with ReportBatchItemFailures:
 * the function gets the event's records as a KinesisEventReadable (or one record at a
 * time) and the handler returns the partial batch response, so Lambda retries from the
 * first record that is not done instead of the whole batch.
 */
import type { KinesisRecord } from '../readable/shard-reader.js';
import { ValidationError, describeError } from '../errors.js';
import { booleanOption, optionalFunction } from '../options.js';
import { KinesisEventReadable, resolveEventReadableOptions, type KinesisEventReadableOptions } from './event-readable.js';
import type { KinesisBatchItemFailure, KinesisBatchResponse, LambdaKinesisEvent } from './event.js';

/** The part of Lambda's `Context` the handlers use; the full `Context` of `@types/aws-lambda` fits. */
export interface LambdaContext {
  /** The default `applicationName` of the checkpoint store's keys. */
  functionName?: string;
  awsRequestId?: string;
}

/** Options of createKinesisHandler and createKinesisRecordHandler. */
export interface KinesisHandlerOptions<T = Buffer> extends KinesisEventReadableOptions<T> {
  /**
   * When the function resolves, every record it read out of the stream is checkpointed.
   * Default true. With false only your checkpoint() calls count.
   */
  autoCheckpoint?: boolean;
  /**
   * Called when the function threw (or the stream failed), with the record Lambda will
   * retry from (undefined when every record was checkpointed). The handler then returns
   * the partial batch response instead of throwing. Default: console.error of the error's
   * name, message and stack (not its cause, which may quote record data), so it reaches the
   * function's log as a thrown one would.
   */
  onError?: (error: unknown, retryFrom: KinesisBatchItemFailure | undefined) => void;
}

/** A Lambda handler for Kinesis events; assignable to `KinesisStreamHandler` of `@types/aws-lambda`. */
export type KinesisEventHandler<C = LambdaContext> = (event: LambdaKinesisEvent, context?: C) => Promise<KinesisBatchResponse>;

/**
 * A Lambda handler that runs `fn` over the event's records as a KinesisEventReadable and
 * returns the partial batch response. Records count as done when `fn` resolves (every
 * record it read out; `autoCheckpoint`) or when it checkpoints them. When `fn` throws,
 * Lambda is told to retry from the first record after the last checkpoint (the whole
 * batch when nothing was checkpointed). A malformed event rejects with a ValidationError.
 *
 * @example
 * ```ts
 * export const handler = createKinesisHandler<Order>(async (records) => {
 *   for await (const record of records) {
 *     await save(record.data);
 *     await records.checkpoint(record); // a later failure retries from the next record
 *   }
 * }, { decode: 'json' });
 * ```
 */
export function createKinesisHandler<T = Buffer, C extends LambdaContext = LambdaContext>(
  fn: (records: KinesisEventReadable<T>, context: C | undefined) => unknown,
  options: KinesisHandlerOptions<T> = {},
): KinesisEventHandler<C> {
  if (typeof fn !== 'function') throw new ValidationError('fn', 'must be a function');
  // Bad options fail when the module loads (cold start), not on every invocation.
  resolveEventReadableOptions(options);
  const autoCheckpoint = booleanOption(options.autoCheckpoint ?? true, 'autoCheckpoint');
  const onError = optionalFunction<NonNullable<KinesisHandlerOptions['onError']>>(options.onError, 'onError') ?? logError;
  const { autoCheckpoint: _auto, onError: _onError, ...readableOptions } = options;
  return async (event, context) => {
    const records = new KinesisEventReadable<T>(event, {
      ...readableOptions,
      // One namespace per function: two functions on one stream must not skip each other's records.
      applicationName: options.applicationName ?? (options.checkpointStore === undefined ? undefined : context?.functionName),
    });
    let failure: { error: unknown } | undefined;
    // A stream error the function did not see (it returned without reading on) is still reported.
    records.on('error', (error) => {
      failure ??= { error };
    });
    try {
      await fn(records, context);
      if (autoCheckpoint) await records.checkpoint();
    } catch (error) {
      failure = { error };
    }
    records.destroy();
    const response = await records.batchResponse();
    if (failure !== undefined) onError(failure.error, response.batchItemFailures[0]);
    return response;
  };
}

/**
 * A Lambda handler that calls `fn` for each record in shard order, one at a time. The
 * first record whose `fn` throws stops the batch: the records before it are
 * checkpointed, and Lambda retries from it (from its aggregate, whose earlier user
 * records are skipped when a `checkpointStore` is given).
 *
 * @example
 * ```ts
 * export const handler = createKinesisRecordHandler<Order>((record) => save(record.data), { decode: 'json' });
 * ```
 */
export function createKinesisRecordHandler<T = Buffer, C extends LambdaContext = LambdaContext>(
  fn: (record: KinesisRecord<T>, context: C | undefined) => unknown,
  options: Omit<KinesisHandlerOptions<T>, 'autoCheckpoint'> = {},
): KinesisEventHandler<C> {
  if (typeof fn !== 'function') throw new ValidationError('fn', 'must be a function');
  return createKinesisHandler<T, C>(
    async (records, context) => {
      let last: KinesisRecord<T> | undefined;
      let failure: { error: unknown } | undefined;
      try {
        for await (const record of records) {
          await fn(record, context);
          last = record;
        }
      } catch (error) {
        failure = { error };
      }
      // One checkpoint for the batch: a store is written once, not once per record.
      if (last !== undefined) {
        await records.checkpoint(last).catch((error: unknown) => {
          failure ??= { error };
        });
      }
      if (failure !== undefined) throw failure.error;
    },
    { ...options, autoCheckpoint: false },
  );
}

function logError(error: unknown, retryFrom: KinesisBatchItemFailure | undefined): void {
  const next = retryFrom === undefined ? 'every record was checkpointed, nothing is retried' : `Lambda retries from sequence number ${retryFrom.itemIdentifier}`;
  // The stack, not the error object: its cause chain may quote record data (a JSON parser's message does).
  const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : '';
  console.error(`kinesis-node-streams: the Kinesis handler failed (${describeError(error)}); ${next}${stack}`);
}
