/**
 * Record data decoding for createKinesisReadable: 'buffer' (as is), 'string' (UTF-8),
 * 'json', or a function. A failure names the shard and sequence number.
 */
import { DecodeError, ValidationError } from '../errors.js';
import { describeValue } from '../options.js';

/** What a decode function is told about the record it decodes. */
export interface DecodeMeta {
  streamName: string;
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
}

/** The `decode` option. */
export type DecodeOption<T> = 'buffer' | 'string' | 'json' | ((data: Buffer, meta: DecodeMeta) => T);

/** A decoder bound to one option value. Throws DecodeError. */
export type Decoder<T> = (data: Buffer, meta: DecodeMeta) => T;

/** The default decoder: the data as is. Readers skip calling it (no meta object per record). */
export const BUFFER_DECODER: Decoder<Buffer> = (data) => data;

/** The decoder for the `decode` option; a ValidationError for anything else. */
export function createDecoder<T>(option: DecodeOption<T> | undefined): Decoder<T> {
  if (option === undefined || option === 'buffer') return BUFFER_DECODER as unknown as Decoder<T>;
  const decode = pick(option);
  return (data, meta) => {
    try {
      return decode(data, meta) as T;
    } catch (cause) {
      throw new DecodeError(meta.streamName, meta.shardId, meta.sequenceNumber, cause);
    }
  };
}

function pick(option: unknown): (data: Buffer, meta: DecodeMeta) => unknown {
  if (typeof option === 'function') return option as (data: Buffer, meta: DecodeMeta) => unknown;
  switch (option) {
    case 'buffer':
      return (data) => data;
    case 'string':
      return (data) => data.toString('utf8');
    case 'json':
      return (data) => JSON.parse(data.toString('utf8'));
    default:
      throw new ValidationError('decode', `must be 'buffer', 'string', 'json' or a function, got ${describeValue(option)}`);
  }
}
