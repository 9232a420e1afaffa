/**
 * How the command line turns records into output lines and input lines into items.
 * Pure logic.
 */
import type { KinesisRecord } from '../readable/shard-reader.js';
import type { KinesisEnvelope } from '../writable/record.js';

/** Output formats of `read`. */
export const READ_FORMATS = ['ndjson', 'raw', 'data'] as const;
export type ReadFormat = (typeof READ_FORMATS)[number];

/** Input formats of `write`. */
export const WRITE_FORMATS = ['ndjson', 'lines', 'raw'] as const;
export type WriteFormat = (typeof WRITE_FORMATS)[number];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Data as text when it is valid UTF-8 without control characters other than whitespace. */
function asText(data: Buffer): string | undefined {
  try {
    const text = utf8.decode(data);
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000e-\u001f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/** One output line (or chunk, for raw) for a record. */
export function formatRecord(record: KinesisRecord<Buffer>, format: ReadFormat): string | Buffer {
  if (format === 'raw') return Buffer.concat([record.data, NEWLINE]);
  const text = asText(record.data);
  if (format === 'data') return `${text ?? record.data.toString('base64')}\n`;
  let data: unknown = text;
  let dataEncoding = 'utf8';
  if (text === undefined) {
    data = record.data.toString('base64');
    dataEncoding = 'base64';
  } else {
    try {
      data = JSON.parse(text);
      dataEncoding = 'json';
    } catch {
      // plain text
    }
  }
  const line: Record<string, unknown> = {
    data,
    dataEncoding,
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
  };
  if (record.subSequenceNumber !== undefined) line.subSequenceNumber = record.subSequenceNumber;
  if (record.explicitHashKey !== undefined) line.explicitHashKey = record.explicitHashKey;
  line.shardId = record.shardId;
  line.approximateArrivalTimestamp = record.approximateArrivalTimestamp.toISOString();
  return `${JSON.stringify(line)}\n`;
}

const NEWLINE = Buffer.from('\n');

/** How `write` keys records. */
export interface KeyRule {
  partitionKey?: string;
  partitionKeyField?: string;
}

/** The envelope to write for one input line; throws with a message naming the line. */
export function parseLine(line: string, lineNumber: number, format: Exclude<WriteFormat, 'raw'>, keys: KeyRule): KinesisEnvelope {
  const envelope: KinesisEnvelope = { data: line };
  if (format === 'ndjson') {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`line ${lineNumber}: not JSON (${(error as Error).message})`, { cause: error });
    }
    if (keys.partitionKeyField !== undefined) {
      const key = fieldOf(value, keys.partitionKeyField);
      if (key === undefined || key === null || key === '') throw new Error(`line ${lineNumber}: no ${keys.partitionKeyField} field for the partition key`);
      envelope.partitionKey = typeof key === 'string' ? key : JSON.stringify(key);
    }
  }
  if (keys.partitionKey !== undefined) envelope.partitionKey = keys.partitionKey;
  return envelope;
}

/** A field of a JSON value; dots reach into nested objects (`user.id`). */
function fieldOf(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
