import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestStream, startKinesalite, type LocalServer } from '../helpers/servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--import', 'tsx', 'lib/cli/main.ts'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function start(args: string[], input?: string): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const begin = Date.now();
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, AWS_REGION: 'us-east-1' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const done = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr, ms: Date.now() - begin }));
  return { child, done, stdout: () => stdout };
}

function run(args: string[], input?: string): Promise<Run> {
  return start(args, input).done;
}

function shell(command: string): Promise<Run> {
  const begin = Date.now();
  const child = spawn('bash', ['-c', `set -o pipefail; ${command}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr, ms: Date.now() - begin }));
}

function lines(text: string): Array<{ data: { id: number; user: string }; partitionKey: string; sequenceNumber: string; shardId: string }> {
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('kinesis-node-streams command', function () {
  this.timeout(120000);
  let server: LocalServer;
  let dir: string;
  const input = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: i, user: `u${i % 7}` })).join('\n') + '\n';

  before(async () => {
    server = await startKinesalite();
    dir = await mkdtemp(join(tmpdir(), 'kns-cli-'));
    await createTestStream(server.endpoint, 'cli', 2);
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes 1000 NDJSON lines and reads them back equal', async () => {
    const written = await run(['write', '--stream', 'cli', '--endpoint', server.endpoint, '--partition-key-field', 'user'], input);
    assert.equal(written.code, 0, written.stderr);
    const read = await run(['read', '--stream', 'cli', '--endpoint', server.endpoint, '--from', 'trim-horizon', '--max-records', '1000']);
    assert.equal(read.code, 0, read.stderr);
    const records = lines(read.stdout);
    assert.equal(records.length, 1000);
    assert.deepEqual(records.map((r) => r.data.id).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.ok(records.every((r) => r.partitionKey === r.data.user && r.sequenceNumber.length > 0 && r.shardId.startsWith('shardId-')));
  });

  it('read | head -n 5 exits promptly, without reading the whole stream', async () => {
    const result = await shell(`node ${CLI.join(' ')} read --stream cli --endpoint ${server.endpoint} --from trim-horizon | head -n 5`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 5);
    assert.ok(result.ms < 15000, `took ${result.ms} ms`);
    assert.doesNotMatch(result.stderr, /EPIPE|Error/);
  });

  it('stops on SIGINT after checkpointing, and the next run resumes from the checkpoint', async () => {
    await createTestStream(server.endpoint, 'cli-sig', 2);
    const total = 3000;
    const many = Array.from({ length: total }, (_, i) => JSON.stringify({ id: i, user: `u${i % 7}` })).join('\n') + '\n';
    assert.equal((await run(['write', '--stream', 'cli-sig', '--endpoint', server.endpoint], many)).code, 0);
    const checkpointFile = join(dir, 'cli-sig.json');
    const args = ['read', '--stream', 'cli-sig', '--endpoint', server.endpoint, '--from', 'trim-horizon', '--checkpoint-file', checkpointFile];
    const first = start(args);
    await waitFor(() => first.stdout().split('\n').length > 100, 'the first run to print records');
    first.child.kill('SIGINT');
    const stopped = await first.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    const firstIds = lines(stopped.stdout).map((r) => r.data.id);
    // More records after the stop: the next run must print the rest, and only the rest.
    const more = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: total + i, user: 'u0' })).join('\n') + '\n';
    assert.equal((await run(['write', '--stream', 'cli-sig', '--endpoint', server.endpoint], more)).code, 0);
    const second = start(args);
    await waitFor(() => lines(second.stdout()).length >= total + 500 - firstIds.length, 'the second run to print the rest');
    second.child.kill('SIGTERM');
    const resumed = await second.done;
    assert.equal(resumed.code, 0, resumed.stderr);
    const secondIds = lines(resumed.stdout).map((r) => r.data.id);
    assert.deepEqual([...firstIds, ...secondIds].sort((a, b) => a - b), Array.from({ length: total + 500 }, (_, i) => i), 'nothing missing, nothing repeated');
  });

  it('copies a stream and shows stats', async () => {
    await createTestStream(server.endpoint, 'cli-copy', 1);
    const copied = await run(['copy', '--from', 'cli', '--to', 'cli-copy', '--endpoint', server.endpoint, '--start', 'trim-horizon', '--max-records', '1000']);
    assert.equal(copied.code, 0, copied.stderr);
    const read = await run(['read', '--stream', 'cli-copy', '--endpoint', server.endpoint, '--from', 'trim-horizon', '--max-records', '1000', '--format', 'data']);
    assert.deepEqual(read.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    const stats = await run(['stats', '--stream', 'cli-sig', '--endpoint', server.endpoint, '--checkpoint-file', join(dir, 'cli-sig.json'), '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    const parsed = JSON.parse(stats.stdout) as { shards: Array<{ shardId: string; state: string; checkpoint?: string }> };
    assert.equal(parsed.shards.length, 2);
    assert.ok(parsed.shards.every((s) => s.state === 'open' && s.checkpoint !== undefined));
    const table = await run(['stats', '--stream', 'cli-sig', '--endpoint', server.endpoint]);
    assert.match(table.stdout, /cli-sig: 2 shard\(s\), 2 open/);
  });

  it('reports failed input lines and exits 1', async () => {
    const result = await run(['write', '--stream', 'cli-copy', '--endpoint', server.endpoint], '{"ok":1}\nnot json\n');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /wrote 1 record\(s\) to cli-copy; 1 failed/);
    assert.match(result.stderr, /line 2: not JSON/);
  });

  for (const [label, args, message] of [
    ['an unknown flag', ['read', '--stream', 's', '--bogus'], /^kinesis-node-streams: Unknown option '--bogus'/],
    ['a missing --stream', ['read'], /^kinesis-node-streams: --stream is required/],
    ['a bad --from', ['read', '--stream', 's', '--from', 'yesterday'], /^kinesis-node-streams: --from must be latest, trim-horizon or an ISO time/],
    ['a bad --format', ['write', '--stream', 's', '--format', 'xml'], /^kinesis-node-streams: --format must be one of ndjson, lines, raw/],
    ['an unknown command', ['tail'], /^kinesis-node-streams: unknown command "tail"/],
  ] as const) {
    it(`exits 2 with a one-line error and the usage for ${label}`, async () => {
      const result = await run([...args]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Usage: kinesis-node-streams/);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    });
  }

  it('--help prints each command\'s usage', async () => {
    for (const command of ['read', 'write', 'copy', 'stats']) {
      const result = await run([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`Usage: kinesis-node-streams ${command}`));
      assert.match(result.stdout, /--endpoint/);
    }
    const main = await run(['--help']);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /Commands:/);
  });
});
