/**
 * `kinesis-node-streams write`: stdin's lines into a stream. Every record is accounted
 * for: stored, or counted as failed (unparsable line, or rejected after retries), and the
 * exit code is 1 with a summary on stderr if any failed.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FailedRecord } from '../errors.js';
import { createKinesisWritable } from '../writable/kinesis-writable.js';
import type { KinesisEnvelope } from '../writable/record.js';
import { WRITE_FORMATS, parseLine, type KeyRule } from './format.js';
import { UsageError, choiceFlag, required, type Flags } from './args.js';
import { clientOptions, progress, rate } from './context.js';

export async function write(flags: Flags): Promise<number> {
  const streamName = required(flags, 'stream', 'write');
  const format = choiceFlag(flags, 'format', WRITE_FORMATS, 'ndjson', 'write');
  const keys: KeyRule = {};
  if (typeof flags['partition-key'] === 'string') keys.partitionKey = flags['partition-key'];
  if (typeof flags['partition-key-field'] === 'string') keys.partitionKeyField = flags['partition-key-field'];
  if (keys.partitionKey !== undefined && keys.partitionKeyField !== undefined) {
    throw new UsageError('--partition-key and --partition-key-field cannot be used together', 'write');
  }
  if (keys.partitionKeyField !== undefined && format !== 'ndjson') throw new UsageError('--partition-key-field needs --format ndjson', 'write');
  const writer = createKinesisWritable<KinesisEnvelope>({
    ...clientOptions(flags),
    streamName,
    aggregation: flags.aggregate === true,
    failOnError: false,
  });
  const failed: FailedRecord[] = [];
  writer.on('failedRecords', (records: FailedRecord[]) => failed.push(...records));
  const badLines: string[] = [];
  const perSecond = rate();
  const stopProgress = progress(() => `wrote ${writer.stats().recordsWritten.toLocaleString()} records, ${perSecond(writer.stats().recordsWritten).toLocaleString()}/s`);
  try {
    const source = format === 'raw' ? Readable.from(rawInput()) : Readable.from(lineInput(format, keys, badLines));
    await pipeline(source, writer);
  } finally {
    stopProgress();
  }
  const stats = writer.stats();
  const problems = failed.length + badLines.length;
  if (problems > 0 || process.stderr.isTTY === true) {
    process.stderr.write(`wrote ${stats.recordsWritten} record(s) to ${streamName}; ${problems} failed\n`);
    for (const line of badLines.slice(0, 10)) process.stderr.write(`  ${line}\n`);
    const codes = new Map<string, number>();
    for (const f of failed) codes.set(f.errorCode, (codes.get(f.errorCode) ?? 0) + 1);
    for (const [code, count] of codes) process.stderr.write(`  ${count} × ${code}\n`);
  }
  return problems > 0 ? 1 : 0;
}

async function* lineInput(format: 'ndjson' | 'lines', keys: KeyRule, badLines: string[]): AsyncGenerator<KinesisEnvelope> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.length === 0) continue;
    try {
      yield parseLine(line, lineNumber, format, keys);
    } catch (error) {
      badLines.push((error as Error).message);
    }
  }
}

async function* rawInput(): AsyncGenerator<KinesisEnvelope> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  yield { data: Buffer.concat(chunks) };
}
