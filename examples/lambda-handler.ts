/**
 * An AWS Lambda function behind a Kinesis event source mapping with
 * FunctionResponseTypes ['ReportBatchItemFailures']: it reads orders (JSON, KPL-aggregated
 * or not), writes one summary per order to the stream TARGET_STREAM, and answers with the
 * partial batch response, so a failure makes Lambda retry from the first order whose
 * summary is not stored, not the whole batch.
 *
 *   Deployed: handler "lambda-handler.handler", environment TARGET_STREAM.
 *   Locally:  TARGET_STREAM=summaries tsx examples/lambda-handler.ts event.json   (prints the response)
 */
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createKinesisClient, createKinesisHandler, createKinesisWritable } from '../lib/index.js';

interface Order {
  orderId: string;
  customer: string;
  lines: Array<{ sku: string; quantity: number; price: number }>;
}

interface Summary {
  orderId: string;
  customer: string;
  total: number;
}

/** How many orders between two checkpoints: each one waits for the summaries to be stored. */
const CHECKPOINT_EVERY = 100;

// Created once per execution environment and reused by every invocation.
const client = createKinesisClient();

export const handler = createKinesisHandler<Order>(
  async (records) => {
    const writer = createKinesisWritable<Summary>({ client, streamName: process.env.TARGET_STREAM, partitionKey: (summary) => summary.customer });
    try {
      let count = 0;
      for await (const record of records) {
        const { orderId, customer, lines } = record.data;
        const total = lines.reduce((sum, line) => sum + line.quantity * line.price, 0);
        // No need to wait for 'drain': the flush every CHECKPOINT_EVERY orders bounds what is buffered.
        writer.write({ orderId, customer, total });
        if (++count % CHECKPOINT_EVERY === 0) {
          await writer.flush(); // every summary so far is stored...
          await records.checkpoint(record); // ...so a later failure retries only what follows
        }
      }
    } finally {
      // Nothing may stay buffered when the handler returns: the environment may be frozen or gone.
      writer.end();
      await finished(writer);
    }
  },
  { decode: 'json' },
);

// Run as a script: invoke the handler once with the event in the file given.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const event = JSON.parse(await readFile(process.argv[2] ?? '/dev/stdin', 'utf8'));
  const response = await handler(event, { functionName: 'lambda-handler-example', awsRequestId: 'local' });
  console.log(JSON.stringify(response));
  client.destroy();
}
