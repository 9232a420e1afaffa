/**
 * Local Kinesis and DynamoDB servers for integration tests (see DESIGN.md, "Local servers
 * for tests"). Each start picks free loopback ports, spawns the server as a child process
 * and resolves only once it answers a real request; `stop()` always ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListStreamsCommand,
  type KinesisClientConfig,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface LocalServer {
  /** e.g. `http://127.0.0.1:45123` */
  endpoint: string;
  port: number;
  /** Ends the server (SIGTERM, SIGKILL after 3 s); resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 3_000;
const START_ATTEMPTS = 4;
const TAIL_BYTES = 8 * 1024;
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Loaded into every server before its own code: the server exits when its stdin (a pipe
 * from this process) reaches EOF, i.e. when the test process is gone, even if it was
 * SIGKILLed and never ran its 'exit' handler.
 */
const PARENT_WATCHDOG =
  'data:text/javascript;base64,' +
  Buffer.from("process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();").toString(
    'base64',
  );

/** Servers not yet known to have exited; killed on process exit as a last resort. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Client settings for the local servers: plain HTTP/1.1, fake credentials, no retries. */
export function localClientConfig(endpoint: string): KinesisClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    // The SDK's default HTTP/2 handler cannot talk to plain-http local servers.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 10_000 }),
  };
}

export function startKinesalite(): Promise<LocalServer> {
  return startServer({
    name: 'kinesalite',
    portCount: 1,
    cwd: REPO_ROOT,
    args: ([port]) => [
      join(REPO_ROOT, 'node_modules/kinesalite/cli.js'),
      '--port', String(port),
      '--createStreamMs', '0',
      '--deleteStreamMs', '0',
      '--updateStreamMs', '0',
      '--shardLimit', '1000',
    ],
    probe: probeKinesis,
  });
}

export function startKinesisMock(): Promise<LocalServer> {
  const packageDir = join(REPO_ROOT, 'node_modules/kinesis-local');
  return startServer({
    name: 'kinesis-mock',
    portCount: 2,
    // It loads its TLS certificate from ./server.json, relative to the working directory.
    cwd: packageDir,
    args: () => [join(packageDir, 'main.js')],
    env: ([plainPort, tlsPort]) => ({
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      // State transitions default to 500 ms each; tests should not wait for them.
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      REGISTER_STREAM_CONSUMER_DURATION: '0ms',
      DEREGISTER_STREAM_CONSUMER_DURATION: '0ms',
      START_STREAM_ENCRYPTION_DURATION: '0ms',
      STOP_STREAM_ENCRYPTION_DURATION: '0ms',
      MERGE_SHARDS_DURATION: '0ms',
      SPLIT_SHARD_DURATION: '0ms',
      UPDATE_SHARD_COUNT_DURATION: '0ms',
      UPDATE_STREAM_MODE_DURATION: '0ms',
      SHARD_LIMIT: '1000',
      ON_DEMAND_STREAM_COUNT_LIMIT: '100',
      // Never read or write a persisted state file in the package directory.
      LOAD_DATA_IF_EXISTS: 'false',
      SHOULD_PERSIST_DATA: 'false',
      AWS_REGION: 'us-east-1',
      LOG_LEVEL: 'WARN',
    }),
    probe: probeKinesis,
  });
}

export function startDynalite(): Promise<LocalServer> {
  return startServer({
    name: 'dynalite',
    portCount: 1,
    cwd: REPO_ROOT,
    args: ([port]) => [
      join(REPO_ROOT, 'node_modules/dynalite/cli.js'),
      '--port', String(port),
      '--host', '127.0.0.1',
      '--createTableMs', '0',
    ],
    probe: async (endpoint, signal) => {
      await dynamoListTables(endpoint, signal); // any HTTP answer proves it listens
    },
  });
}

/** Creates a Kinesis stream and resolves once DescribeStreamSummary reports it ACTIVE. */
export async function createTestStream(endpoint: string, name: string, shardCount: number): Promise<void> {
  const client = new KinesisClient(localClientConfig(endpoint));
  try {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
        if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
      } catch (error) {
        // Creation may not be visible yet; anything else is a real failure.
        if (!['ResourceNotFoundException', 'LimitExceededException'].includes((error as Error).name)) throw error;
      }
      if (Date.now() > deadline) throw new Error(`stream ${name} did not become ACTIVE within ${START_TIMEOUT_MS} ms`);
      await delay(POLL_INTERVAL_MS);
    }
  } finally {
    client.destroy();
  }
}

/**
 * A raw DynamoDB ListTables call (`@aws-sdk/client-dynamodb` is not a dependency here).
 * dynalite checks that a SigV4 Authorization header is present and well formed, not the
 * signature itself, so a fixed fake one is enough.
 */
export function dynamoListTables(endpoint: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const body = '{}';
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/', endpoint),
      {
        method: 'POST',
        signal,
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'Content-Length': Buffer.byteLength(body),
          'X-Amz-Target': 'DynamoDB_20120810.ListTables',
          'X-Amz-Date': amzDate,
          Authorization:
            `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, ` +
            'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface ServerSpec {
  name: string;
  /** Free ports to pick; the first one is the HTTP endpoint's. */
  portCount: number;
  cwd: string;
  args(ports: number[]): string[];
  env?(ports: number[]): Record<string, string>;
  /** Resolves when the server answered a request; rejects otherwise. */
  probe(endpoint: string, signal: AbortSignal): Promise<void>;
}

class PortInUseError extends Error {}

async function startServer(spec: ServerSpec): Promise<LocalServer> {
  installExitHook();
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(spec.portCount);
    try {
      return await launch(spec, ports);
    } catch (error) {
      // Another process may take a port between our probe and the server's bind.
      if (!(error instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function freePorts(count: number): Promise<number[]> {
  // All servers are held open together so the ports are distinct.
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** The last bytes of a child's output, for error messages. */
class OutputTail {
  private text = '';
  append(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-TAIL_BYTES);
  }
  toString(): string {
    return this.text.trim();
  }
}

async function launch(spec: ServerSpec, ports: number[]): Promise<LocalServer> {
  const [port] = ports;
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [`--import=${PARENT_WATCHDOG}`, ...spec.args(ports)], {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env?.(ports) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  const stdout = new OutputTail();
  const stderr = new OutputTail();
  child.stdout.on('data', (chunk: Buffer) => stdout.append(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.append(chunk));
  // Never write to stdin; it only signals this process's death (PARENT_WATCHDOG).
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    // A failed spawn emits 'error' and possibly no 'exit'.
    child.once('error', (error) => {
      stderr.append(Buffer.from(`\nspawn error: ${error.message}`));
      running.delete(child);
      resolve();
    });
  });
  // A forgotten stop() must not keep the test process alive; the exit hook kills it then.
  unrefChild(child);

  const describeFailure = async (reason: string): Promise<Error> => {
    // Let the pipes drain so the tail holds the server's last words.
    await Promise.race([once(child, 'close'), delay(500)]);
    const output = [`stderr:\n${stderr}`, `stdout:\n${stdout}`].join('\n');
    const message = `${spec.name} ${reason} (ports ${ports.join(', ')})\n${output}`;
    return /EADDRINUSE|address already in use/i.test(output) ? new PortInUseError(message) : new Error(message);
  };

  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(), START_TIMEOUT_MS);
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    abort.abort();
  });
  try {
    for (;;) {
      try {
        await spec.probe(endpoint, abort.signal);
        break;
      } catch {
        // Not listening yet (or already gone: checked next).
      }
      if (hasExited) throw await describeFailure(`exited with code ${child.exitCode ?? child.signalCode} before answering`);
      if (abort.signal.aborted) {
        child.kill('SIGKILL');
        await exited;
        throw await describeFailure(`did not answer within ${START_TIMEOUT_MS} ms`);
      }
      await delay(POLL_INTERVAL_MS, undefined, { signal: abort.signal }).catch(() => {});
    }
  } finally {
    clearTimeout(timeout);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (hasExited) return;
      child.ref(); // keep the process alive until the server has really gone
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(killTimer);
      }
    })();
    return stopping;
  };
  return { endpoint, port, stop };
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as (typeof stream & { unref?: () => void }) | null)?.unref?.();
  }
}

async function probeKinesis(endpoint: string, signal: AbortSignal): Promise<void> {
  const client = new KinesisClient({
    ...localClientConfig(endpoint),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 5_000 }),
  });
  try {
    await client.send(new ListStreamsCommand({}), { abortSignal: signal });
  } finally {
    client.destroy();
  }
}
