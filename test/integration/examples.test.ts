import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisReadable, createKinesisWritable, type KinesisRecord } from '../../lib/index.js';
import { lambdaRecordsByShard } from '../helpers/lambda-events.js';
import { createTestStream, localClientConfig, startKinesalite, type LocalServer } from '../helpers/servers.js';
import { readStored, storedJson } from '../helpers/streams.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tsx(script: string, args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, timeout: 120000, env: { ...process.env, ...env } });
}

describe('examples', function () {
  this.timeout(180000);
  let server: LocalServer;
  let dir: string;

  before(async () => {
    server = await startKinesalite();
    dir = await mkdtemp(join(tmpdir(), 'kns-examples-'));
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('examples/copy-stream.ts copies a stream and resumes from its checkpoint', async () => {
    await createTestStream(server.endpoint, 'copy-from', 2);
    await createTestStream(server.endpoint, 'copy-to', 1);
    const items = Array.from({ length: 1500 }, (_, n) => ({ data: `r${n}`, partitionKey: `k${n % 7}` }));
    await pipeline(Readable.from(items), createKinesisWritable({ endpoint: server.endpoint, streamName: 'copy-from' }));
    const checkpointFile = join(dir, 'copy.json');
    const args = ['--from', 'copy-from', '--to', 'copy-to', '--endpoint', server.endpoint, '--checkpoint-file', checkpointFile];
    const first = await tsx('examples/copy-stream.ts', [...args, '--max-records', '1000']);
    assert.match(first.stdout, /copied 1000 records/);
    const second = await tsx('examples/copy-stream.ts', [...args, '--max-records', '500']);
    assert.match(second.stdout, /copied 500 records/);
    const reader = createKinesisReadable<string>({ endpoint: server.endpoint, streamName: 'copy-to', initialPosition: 'TRIM_HORIZON', decode: 'string' });
    const copied: Array<KinesisRecord<string>> = [];
    for await (const record of reader) {
      copied.push(record as KinesisRecord<string>);
      if (copied.length === 1500) break;
    }
    assert.deepEqual(copied.map((r) => r.data).sort(), items.map((i) => i.data).sort());
    assert.ok(copied.every((r) => r.partitionKey === `k${Number(r.data.slice(1)) % 7}`), 'partition keys are kept');
  });

  it('examples/lambda-handler.ts answers a real event: the whole batch to retry while its target is missing, then every summary stored', async () => {
    await createTestStream(server.endpoint, 'orders', 1);
    const orders = Array.from({ length: 250 }, (_, n) => ({ orderId: `o${n}`, customer: `c${n % 9}`, lines: [{ sku: 'sku-1', quantity: 1 + (n % 3), price: 10 }] }));
    await pipeline(
      Readable.from(orders),
      createKinesisWritable({ endpoint: server.endpoint, streamName: 'orders', aggregation: { maxBytes: 4096 }, partitionKey: (order: { customer: string }) => order.customer }),
    );
    const client = new KinesisClient(localClientConfig(server.endpoint));
    try {
      const [records] = [...lambdaRecordsByShard(await readStored(client, 'orders'), 'orders').values()];
      assert.ok(records.length < orders.length, 'the event carries KPL aggregates');
      const eventFile = join(dir, 'lambda-event.json');
      await writeFile(eventFile, JSON.stringify({ Records: records }));
      const env = { AWS_ENDPOINT_URL_KINESIS: server.endpoint, TARGET_STREAM: 'order-summaries' };
      const failed = await tsx('examples/lambda-handler.ts', [eventFile], env);
      assert.deepEqual(JSON.parse(failed.stdout), { batchItemFailures: [{ itemIdentifier: records[0].kinesis.sequenceNumber }] });
      assert.match(failed.stderr, /handler failed.*retries from sequence number/);
      await createTestStream(server.endpoint, 'order-summaries', 1);
      const done = await tsx('examples/lambda-handler.ts', [eventFile], env);
      assert.deepEqual(JSON.parse(done.stdout), { batchItemFailures: [] });
      const summaries = (await readStored(client, 'order-summaries')).map((r) => storedJson<{ orderId: string; customer: string; total: number }>(r));
      assert.deepEqual(
        summaries.sort((a, b) => Number(a.orderId.slice(1)) - Number(b.orderId.slice(1))),
        orders.map((o) => ({ orderId: o.orderId, customer: o.customer, total: o.lines[0].quantity * 10 })),
      );
    } finally {
      client.destroy();
    }
  });

  it('the npm start demo runs end to end and reports no loss', async () => {
    const { stdout } = await tsx('examples/demo.ts', ['--records', '5000', '--shards', '2']);
    const summary = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, number>;
    assert.equal(summary.written, 5000);
    assert.equal(summary.read, 5000);
    assert.equal(summary.missing, 0);
    assert.equal(summary.duplicates, 0);
    assert.equal(summary.outOfOrder, 0);
  });
});
