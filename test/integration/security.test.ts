/**
 * Security properties that only show from outside a process:
 *  - credentials and record payloads never reach logs (DEBUG=kinesis-node-streams:*) or
 *    error messages (test/helpers/secrets-child.ts);
 *  - a destroyed reader or writer that owns its clients leaves no socket or timer
 *    behind, and the process ends by itself (test/helpers/resources-child.ts);
 *  - the npm package holds only dist/, README.md, LICENSE and package.json.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestStream, startDynalite, startKinesalite, type LocalServer } from '../helpers/servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRETS_CHILD = fileURLToPath(new URL('../helpers/secrets-child.ts', import.meta.url));
const RESOURCES_CHILD = fileURLToPath(new URL('../helpers/resources-child.ts', import.meta.url));
const run = promisify(execFile);

// The child builds the same strings by concatenation.
const ACCESS_KEY_ID = ['AKIA', 'SECRETMARKER1'].join('');
const SECRET_ACCESS_KEY = ['SECRET', 'VALUE', '987xyz'].join('');
const PAYLOAD_MARKER = ['PAYLOAD', 'MARKER', '42'].join('-');

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Date.now() at exit. */
  exitedAt: number;
}

/** Runs a TypeScript child to its end (killed after `timeoutMs`). */
function runChild(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, exitedAt: Date.now() });
    });
  });
}

/** The child's stderr split at its `=== phase NAME` lines. */
function phases(stderr: string): Map<string, string> {
  const out = new Map<string, string>();
  let name = 'startup';
  let lines: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = /^=== (?:phase )?(.+)$/.exec(line);
    if (match === null) {
      lines.push(line);
      continue;
    }
    out.set(name, lines.join('\n'));
    name = match[1];
    lines = [];
  }
  out.set(name, lines.join('\n'));
  return out;
}

function leaks(text: string): string[] {
  return [ACCESS_KEY_ID, SECRET_ACCESS_KEY, PAYLOAD_MARKER].filter((marker) => text.includes(marker));
}

/** The lines of `text` holding a marker, for assertion messages. */
function leakingLines(text: string): string {
  return text
    .split('\n')
    .filter((line) => leaks(line).length > 0)
    .slice(0, 5)
    .join('\n');
}

describe('security', function () {
  this.timeout(60_000);
  let kinesis: LocalServer;
  let dynalite: LocalServer;

  before(async () => {
    [kinesis, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
  });

  after(async () => {
    await Promise.all([kinesis?.stop(), dynalite?.stop()]);
  });

  describe('credentials and payloads never in logs or error messages (DEBUG=kinesis-node-streams:*)', () => {
    let result: Finished;
    let byPhase: Map<string, string>;

    before(async () => {
      await createTestStream(kinesis.endpoint, 'secrets', 2);
      await createTestStream(kinesis.endpoint, 'secrets-decode', 1);
      const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: 'kinesis-node-streams:*', DEBUG_COLORS: '0' };
      delete env.AWS_ACCESS_KEY_ID;
      delete env.AWS_SECRET_ACCESS_KEY;
      result = await runChild(SECRETS_CHILD, ['--kinesis', kinesis.endpoint, '--stream', 'secrets', '--decode-stream', 'secrets-decode'], env, 40_000);
      byPhase = phases(result.stderr);
    });

    it('the child ran every phase, with debug output and the expected errors', () => {
      assert.equal(result.code, 0, `child exited ${result.code ?? result.signal}\n${result.stderr.slice(-3000)}`);
      assert.ok(byPhase.has('end'), 'the child finished');
      // The test would see a leak: debug lines are there, from several areas.
      for (const area of ['client', 'writable', 'readable']) {
        assert.match(result.stderr, new RegExp(`kinesis-node-streams:${area} `), `no debug output from ${area}`);
      }
      assert.match(byPhase.get('write-read') ?? '', /^read 20 of 20$/m);
      const expected: Array<[string, RegExp]> = [
        ['writer-stream-not-found', /^StreamNotFoundError: /m],
        ['reader-stream-not-found', /^StreamNotFoundError: /m],
        ['validation-empty-partition-key', /^ValidationError: /m],
        ['validation-oversize', /^ValidationError: /m],
        ['validation-item', /^ValidationError: /m],
        ['decode', /^DecodeError: /m],
      ];
      for (const [phase, error] of expected) assert.match(byPhase.get(phase) ?? '', error, `phase ${phase}:\n${byPhase.get(phase)}`);
      assert.doesNotMatch(result.stderr, /secret key in the deeply inspected error: true/, 'an error object carries the secret key');
      assert.doesNotMatch(result.stderr, /credentials in console\.error\(error\): true/, 'console.error(error) shows the credentials');
      const deepIds = result.stderr.match(/access key id in the deeply inspected error: true/g)?.length ?? 0;
      console.log(`      ${deepIds} error(s) hold the access key id deep inside the SDK's hidden $response (signed Authorization header)`);
    });

    for (const phase of ['startup', 'write-read', 'writer-stream-not-found', 'reader-stream-not-found', 'validation-empty-partition-key', 'validation-oversize', 'validation-item']) {
      it(`${phase}: no access key id, secret key or payload in the output`, () => {
        const text = byPhase.get(phase) ?? '';
        assert.deepEqual(leaks(text), [], `leaked in phase ${phase}:\n${leakingLines(text)}`);
      });
    }

    it('decode: a DecodeError on a non-JSON payload does not quote the payload', () => {
      // JSON.parse messages quote the input; DecodeError keeps the SyntaxError as `cause`
      // and names only its type in the message.
      const text = byPhase.get('decode') ?? '';
      assert.deepEqual(leaks(text), [], `leaked in phase decode:\n${leakingLines(text)}`);
    });

    it('stdout stays empty', () => {
      assert.deepEqual(leaks(result.stdout), []);
    });
  });

  it('a destroyed reader and writer (and a DynamoDBLeaseStore reader) leave no socket or timer behind; the process ends by itself', async () => {
    await createTestStream(kinesis.endpoint, 'resources', 2);
    await createTestStream(kinesis.endpoint, 'resources-leases', 2);
    const result = await runChild(
      RESOURCES_CHILD,
      ['--kinesis', kinesis.endpoint, '--stream', 'resources', '--lease-stream', 'resources-leases', '--dynamo', dynalite.endpoint, '--table', 'resources-leases'],
      process.env,
      30_000,
    );
    const lines = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { phase?: string; records?: number; baseline?: string[]; after?: string[]; extra?: string[]; settledMs?: number; done?: boolean; t?: number });
    const done = lines.find((l) => l.done === true);
    assert.ok(done !== undefined, `the child did not finish (${result.code ?? result.signal})\n${result.stderr.slice(-2000)}`);
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    for (const line of lines.filter((l) => l.phase !== undefined)) {
      assert.equal(line.records, 200, `${line.phase}: records read`);
      assert.deepEqual(line.extra, [], `${line.phase}: resources left after destroy: ${JSON.stringify(line.extra)} (baseline ${JSON.stringify(line.baseline)})`);
    }
    assert.equal(lines.filter((l) => l.phase !== undefined).length, 2);
    const lingerMs = result.exitedAt - (done.t ?? 0);
    assert.ok(lingerMs < 3000, `the process took ${lingerMs} ms to exit after its last line`);
    const settled = lines.filter((l) => l.phase !== undefined).map((l) => `${l.phase} ${l.settledMs} ms`).join(', ');
    console.log(`      resources back to the baseline after destroy: ${settled}; exited ${lingerMs} ms after its last line`);
  });

  it('npm pack holds only dist/, README.md, LICENSE and package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; main: string; types: string; bin: Record<string, string> };
    assert.deepEqual(pkg.files, ['dist/', 'README.md', 'LICENSE']);
    // Build only when there is nothing to pack yet (keeps the test fast).
    if (!existsSync(join(ROOT, 'dist/index.js'))) await run('npm', ['run', 'build'], { cwd: ROOT });
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const [listing] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const paths = listing.files.map((f) => f.path).sort();
    const outside = paths.filter((p) => !p.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(p));
    assert.deepEqual(outside, [], 'files packed outside dist/, README.md, LICENSE, package.json');
    for (const entry of [pkg.main, pkg.types, ...Object.values(pkg.bin)]) assert.ok(paths.includes(entry.replace(/^\.\//, '')), `${entry} is not packed`);
    // Every packed file under dist/ is the output of a file in lib/ (no stale or foreign build output).
    const stale = paths.filter((p) => p.startsWith('dist/') && !existsSync(join(ROOT, 'lib', p.slice('dist/'.length).replace(/\.(js|d\.ts|js\.map|d\.ts\.map)$/, '.ts'))));
    assert.deepEqual(stale, [], 'packed dist/ files with no source in lib/');
  });
});
