/**
 * An in-memory stand-in for KinesisClient for unit tests: records every PutRecords
 * call, stores entries, and fails entries or whole requests on demand.
 */
import type { KinesisClient, PutRecordsCommandInput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';

export interface StoredRecord {
  streamName: string;
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

interface SendOptions {
  abortSignal?: AbortSignal;
}

interface CommandLike {
  constructor: { name: string };
  input: unknown;
}

/** An error shaped like the SDK's service exceptions. */
export function serviceError(name: string, status = 400, message = `${name} (test)`): Error {
  const error = new Error(message) as Error & { $metadata: { httpStatusCode: number }; $fault: string };
  error.name = name;
  error.$metadata = { httpStatusCode: status };
  error.$fault = status >= 500 ? 'server' : 'client';
  return error;
}

export class FakeKinesis {
  readonly putCalls: PutRecordsCommandInput[] = [];
  readonly stored: StoredRecord[] = [];
  /** Error code for an entry, or undefined to store it. */
  failEntry: ((entry: StoredRecord, call: number) => string | undefined) | undefined;
  /** An error to throw for a whole request, or undefined to process it. */
  failRequest: ((input: PutRecordsCommandInput, call: number) => Error | undefined) | undefined;
  /** Awaited before answering, e.g. to hold requests in flight. */
  beforeAnswer: ((input: PutRecordsCommandInput, call: number) => Promise<void>) | undefined;
  destroyed = false;
  private sequence = 0;

  /** This object typed as the SDK client it stands in for. */
  asClient(): KinesisClient {
    return this as unknown as KinesisClient;
  }

  async send(command: CommandLike, options: SendOptions = {}): Promise<unknown> {
    const name = command.constructor.name;
    if (name !== 'PutRecordsCommand') throw new Error(`FakeKinesis does not implement ${name}`);
    const input = command.input as PutRecordsCommandInput;
    const call = this.putCalls.length;
    this.putCalls.push(input);
    if (this.beforeAnswer !== undefined) await abortable(this.beforeAnswer(input, call), options.abortSignal);
    options.abortSignal?.throwIfAborted();
    const requestError = this.failRequest?.(input, call);
    if (requestError !== undefined) throw requestError;
    let failed = 0;
    const records: PutRecordsResultEntry[] = (input.Records ?? []).map((entry) => {
      const record: StoredRecord = {
        streamName: input.StreamName ?? '',
        partitionKey: entry.PartitionKey ?? '',
        data: Buffer.from(entry.Data ?? new Uint8Array()),
      };
      if (entry.ExplicitHashKey !== undefined) record.explicitHashKey = entry.ExplicitHashKey;
      const code = this.failEntry?.(record, call);
      if (code !== undefined) {
        failed++;
        return { ErrorCode: code, ErrorMessage: `${code} (test)` };
      }
      this.stored.push(record);
      return { SequenceNumber: String(++this.sequence), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failed, Records: records };
  }

  destroy(): void {
    this.destroyed = true;
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
