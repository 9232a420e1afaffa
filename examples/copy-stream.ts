/**
 * Copy one stream into another, resumable: records are checkpointed only once the
 * writer has stored them.
 *
 *   tsx examples/copy-stream.ts --from clicks --to clicks-copy [--checkpoint-file F] [--max-records N] [--endpoint URL]
 */
import { parseArgs } from 'node:util';
import { FileCheckpointStore, createKinesisReadable, createKinesisWritable } from '../lib/index.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    endpoint: { type: 'string' },
    'checkpoint-file': { type: 'string', default: './copy.checkpoints.json' },
    'max-records': { type: 'string' },
  },
});
if (values.from === undefined || values.to === undefined) {
  console.error('usage: copy-stream --from SOURCE --to TARGET [--checkpoint-file F] [--max-records N] [--endpoint URL]');
  process.exit(2);
}
const max = values['max-records'] === undefined ? Infinity : Number(values['max-records']);
const client = values.endpoint === undefined ? {} : { endpoint: values.endpoint };

const source = createKinesisReadable({
  ...client,
  streamName: values.from,
  initialPosition: 'TRIM_HORIZON',
  checkpointStore: new FileCheckpointStore(values['checkpoint-file']),
});
// Records read from a stream are envelopes: same data, same partition key.
const sink = createKinesisWritable({ ...client, streamName: values.to });

let copied = 0;
for await (const record of source) {
  if (!sink.write(record)) await new Promise((resolve) => sink.once('drain', resolve));
  if (++copied % 1000 === 0 || copied >= max) {
    await sink.flush(); // everything written so far is stored in the target...
    await source.checkpoint(); // ...so everything read so far is done
  }
  if (copied >= max) break;
}
sink.end();
await new Promise((resolve) => sink.once('finish', resolve));
console.log(`copied ${copied} records`);
