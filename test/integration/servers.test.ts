import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import {
  createTestStream,
  dynamoListTables,
  localClientConfig,
  startDynalite,
  startKinesalite,
  startKinesisMock,
  type LocalServer,
} from '../helpers/servers.js';

/** Resolves with the connection error code; a successful connection fails the test. */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`port ${port} still accepts connections`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

// Above the helper's own 30 s start timeout, so its error message (with the server's
// output) is what a failure shows.
const START_HOOK_TIMEOUT_MS = 40_000;

const kinesisServers: Array<[string, () => Promise<LocalServer>]> = [
  ['kinesalite', startKinesalite],
  ['kinesis-mock', startKinesisMock],
];

for (const [name, start] of kinesisServers) {
  describe(`local server: ${name}`, () => {
    let server: LocalServer | undefined;

    before(async function () {
      this.timeout(START_HOOK_TIMEOUT_MS);
      server = await start();
    });

    after(async () => {
      await server?.stop();
    });

    it('creates an ACTIVE 2-shard stream that ListShards reports', async () => {
      assert.ok(server);
      await createTestStream(server.endpoint, 'servers-test', 2);
      const client = new KinesisClient(localClientConfig(server.endpoint));
      try {
        const { Shards } = await client.send(new ListShardsCommand({ StreamName: 'servers-test' }));
        assert.equal(Shards?.length, 2);
      } finally {
        client.destroy();
      }
    });

    it('stop() ends the server and closes its port', async () => {
      assert.ok(server);
      await server.stop();
      await server.stop(); // idempotent
      assert.equal(await connectError(server.port), 'ECONNREFUSED');
    });
  });
}

describe('local server: dynalite', () => {
  let server: LocalServer | undefined;

  before(async function () {
    this.timeout(START_HOOK_TIMEOUT_MS);
    server = await startDynalite();
  });

  after(async () => {
    await server?.stop();
  });

  it('answers ListTables with HTTP 200 and a TableNames array', async () => {
    assert.ok(server);
    const { status, body } = await dynamoListTables(server.endpoint);
    assert.equal(status, 200, body);
    assert.ok(Array.isArray((JSON.parse(body) as { TableNames?: unknown }).TableNames), body);
  });

  it('stop() ends the server and closes its port', async () => {
    assert.ok(server);
    await server.stop();
    assert.equal(await connectError(server.port), 'ECONNREFUSED');
  });
});
