/**
 * Runs the streams with recognisable credentials and payloads and DEBUG on, and provokes
 * errors, for test/integration/security.test.ts, which checks that neither the
 * credentials nor the payload marker ever shows up in this process's output.
 *
 *   DEBUG=kinesis-node-streams:* node --import tsx test/helpers/secrets-child.ts
 *     --kinesis URL --stream S --decode-stream D
 *
 * Everything goes to stderr, where `debug` writes too, so one stream keeps the order:
 * `=== phase NAME` starts a phase; each error is printed as `error.name: error.message`
 * only (never the object); `=== end` when done.
 */
import { once } from 'node:events';
import { inspect, parseArgs } from 'node:util';
import { createKinesisReadable, createKinesisWritable, type KinesisRecord } from '../../lib/index.js';

const { values } = parseArgs({
  options: { kinesis: { type: 'string' }, stream: { type: 'string' }, 'decode-stream': { type: 'string' } },
  strict: true,
});
const endpoint = values.kinesis as string;
const stream = values.stream as string;
const decodeStream = values['decode-stream'] as string;

// Built by concatenation so that these exact strings appear nowhere in the sources.
const credentials = { accessKeyId: 'AKIA' + 'SECRETMARKER1', secretAccessKey: 'SECRET' + 'VALUE' + '987xyz' };
const MARKER = 'PAYLOAD-' + 'MARKER-42';
const common = { endpoint, region: 'us-east-1', credentials };

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

function report(error: unknown): void {
  if (!(error instanceof Error)) return say(`not an Error: ${typeof error}`);
  say(`${error.name}: ${error.message}`);
  // The full object (cause, $metadata, …) may carry the failed items by design, but never
  // the secret key. What console.error(error) shows must not hold the access key id either;
  // the SDK's own hidden `$response` of a service error (the cause) does hold the signed
  // request's Authorization header, with the access key id in its scope: reported, not judged.
  const deep = inspect(error, { depth: 12, showHidden: true });
  const shallow = inspect(error);
  say(`secret key in the deeply inspected error: ${deep.includes(credentials.secretAccessKey)}`);
  say(`credentials in console.error(error): ${shallow.includes(credentials.secretAccessKey) || shallow.includes(credentials.accessKeyId)}`);
  say(`access key id in the deeply inspected error: ${deep.includes(credentials.accessKeyId)}`);
}

/** Resolves with the stream's error, or undefined if it finished cleanly. */
async function errorOf(stream: NodeJS.EventEmitter & { closed?: boolean }): Promise<unknown> {
  try {
    await once(stream, 'close');
  } catch (error) {
    return error;
  }
  return undefined;
}

async function writeItems(streamName: string, items: unknown[]): Promise<unknown> {
  const writer = createKinesisWritable({ ...common, streamName, maxInFlight: 1 });
  let failure: unknown;
  writer.on('error', (error) => (failure = error));
  for (const item of items) writer.write(item);
  writer.end();
  await errorOf(writer);
  return failure;
}

async function readAll(streamName: string, decode: 'string' | 'json', count: number): Promise<{ records: number; error: unknown }> {
  const reader = createKinesisReadable<unknown>({ ...common, streamName, initialPosition: 'TRIM_HORIZON', decode, pollIntervalMs: 200 });
  let records = 0;
  try {
    for await (const record of reader as AsyncIterable<KinesisRecord<unknown>>) {
      if (typeof record.data === 'string' && record.data.includes(MARKER)) records++;
      if (records === count) break;
    }
  } catch (error) {
    return { records, error };
  }
  return { records, error: undefined };
}

say('=== phase write-read');
const written = Array.from({ length: 20 }, (_, i) => ({ data: `${MARKER} record ${i}`, partitionKey: `key-${i % 4}` }));
const writeError = await writeItems(stream, written);
if (writeError !== undefined) report(writeError);
const read = await readAll(stream, 'string', written.length);
if (read.error !== undefined) report(read.error);
say(`read ${read.records} of ${written.length}`);

say('=== phase writer-stream-not-found');
report(await writeItems('no-such-stream', [{ data: `${MARKER} lost`, partitionKey: 'k' }]));

say('=== phase reader-stream-not-found');
report((await readAll('no-such-stream', 'string', 1)).error);

say('=== phase validation-empty-partition-key');
report(await writeItems(stream, [{ data: `${MARKER} bad key`, partitionKey: '' }]));

say('=== phase validation-oversize');
report(await writeItems(stream, [{ data: `${MARKER} ${'x'.repeat(1024 * 1024)}`, partitionKey: 'k' }]));

say('=== phase validation-item');
report(await writeItems(stream, [Symbol(MARKER)]));

say('=== phase decode');
// A payload that is not JSON and is nothing but the marker.
const decodeWriteError = await writeItems(decodeStream, [{ data: MARKER, partitionKey: 'k' }]);
if (decodeWriteError !== undefined) report(decodeWriteError);
report((await readAll(decodeStream, 'json', 1)).error);

say('=== end');
