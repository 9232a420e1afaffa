import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, FileCheckpointStore, MemoryCheckpointStore } from '../../../lib/index.js';
import { compareCheckpoints } from '../../../lib/checkpoint/store.js';

describe('FileCheckpointStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kns-cp-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('starts empty when the file does not exist and persists across instances', async () => {
    const path = join(dir, 'cp.json');
    const store = new FileCheckpointStore(path);
    assert.equal(await store.get('s', 'shard-1'), undefined);
    await store.set('s', 'shard-1', { sequenceNumber: '123' });
    await store.set('s', 'shard-2', { sequenceNumber: 'SHARD_END' });
    await store.set('t', 'shard-1', { sequenceNumber: '5', subSequenceNumber: 2 });
    const again = new FileCheckpointStore(path);
    assert.deepEqual(await again.get('s', 'shard-1'), { sequenceNumber: '123' });
    assert.deepEqual(await again.get('s', 'shard-2'), { sequenceNumber: 'SHARD_END' });
    assert.deepEqual(await again.get('t', 'shard-1'), { sequenceNumber: '5', subSequenceNumber: 2 });
    assert.deepEqual(await readdir(dir), ['cp.json'], 'no temporary files left behind');
  });

  it('coalesces concurrent writes and keeps the last value of each shard', async () => {
    const path = join(dir, 'cp.json');
    const store = new FileCheckpointStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.set('s', `shard-${i % 5}`, { sequenceNumber: String(i) })));
    const content = JSON.parse(await readFile(path, 'utf8')) as { streams: Record<string, Record<string, { sequenceNumber: string }>> };
    assert.deepEqual(Object.values(content.streams.s).map((c) => c.sequenceNumber).sort(), ['45', '46', '47', '48', '49']);
  });

  it('a corrupt file is a CheckpointError, not a silent restart', async () => {
    const path = join(dir, 'cp.json');
    await writeFile(path, '{"format": "kinesis-node-streams/checkp');
    await assert.rejects(new FileCheckpointStore(path).get('s', 'x'), (e: unknown) => e instanceof CheckpointError && /corrupt/.test(e.message));
  });

  it('a foreign JSON file is a CheckpointError', async () => {
    const path = join(dir, 'package.json');
    await writeFile(path, '{"name": "something-else"}');
    await assert.rejects(new FileCheckpointStore(path).get('s', 'x'), (e: unknown) => e instanceof CheckpointError && /not a kinesis-node-streams checkpoint file/.test(e.message));
  });

  it('a malformed checkpoint inside the file is a CheckpointError', async () => {
    const path = join(dir, 'cp.json');
    await writeFile(path, JSON.stringify({ format: 'kinesis-node-streams/checkpoints', version: 1, streams: { s: { a: { sequenceNumber: 'abc' } } } }));
    await assert.rejects(new FileCheckpointStore(path).get('s', 'a'), CheckpointError);
  });

  it('an unwritable location is a CheckpointError', async () => {
    const store = new FileCheckpointStore(join(dir, 'missing-dir', 'cp.json'));
    await assert.rejects(store.set('s', 'a', { sequenceNumber: '1' }), (e: unknown) => e instanceof CheckpointError && e.code === 'ERR_KINESIS_CHECKPOINT');
  });

  it('rejects an invalid checkpoint', async () => {
    const store = new FileCheckpointStore(join(dir, 'cp.json'));
    await assert.rejects(store.set('s', 'a', { sequenceNumber: 'x' }), CheckpointError);
  });
});

describe('MemoryCheckpointStore', () => {
  it('stores copies', async () => {
    const store = new MemoryCheckpointStore();
    const checkpoint = { sequenceNumber: '1' };
    await store.set('s', 'a', checkpoint);
    checkpoint.sequenceNumber = '2';
    assert.deepEqual(await store.get('s', 'a'), { sequenceNumber: '1' });
  });
});

describe('compareCheckpoints', () => {
  it('orders by sequence number as a number, sub-records before the whole record, SHARD_END last', () => {
    const order = [
      { sequenceNumber: '9' },
      { sequenceNumber: '10', subSequenceNumber: 0 },
      { sequenceNumber: '10', subSequenceNumber: 3 },
      { sequenceNumber: '10' },
      { sequenceNumber: '49590338271490256608559692538361571095921575989136588898' },
      { sequenceNumber: 'SHARD_END' },
    ];
    for (let i = 0; i < order.length; i++) {
      for (let j = 0; j < order.length; j++) {
        assert.equal(Math.sign(compareCheckpoints(order[i], order[j])), Math.sign(i - j), `${i} vs ${j}`);
      }
    }
  });
});
