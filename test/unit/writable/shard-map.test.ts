import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { decimalToHashKey, decimalToHex, hashKeyHex, hashKeyOf, hashKeyToDecimal, hexToDecimal } from '../../../lib/aggregation/hash-key.js';
import { ShardMap } from '../../../lib/writable/shard-map.js';

const MAX = (1n << 128n) - 1n;

/** Uneven ranges (as after splits and merges), one closed shard overlapping an open one, listed out of order. */
function shards(): Array<{ shardId: string; start: string; end: string; open: boolean }> {
  const bounds = [0n, 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 120n + 12345n, 2n ** 127n, 2n ** 127n + 1n, MAX - 1n];
  const list = bounds.map((start, i) => ({ shardId: `shard-${i}`, start: start.toString(), end: (i + 1 < bounds.length ? bounds[i + 1] - 1n : MAX).toString(), open: true }));
  list.push({ shardId: 'closed', start: '0', end: (2n ** 127n).toString(), open: false });
  return list.reverse();
}

/** The comparison shardFor used before hex keys: a binary search with Buffer.compare. */
function referenceShardFor(list: ReturnType<typeof shards>, hashKey: Buffer): string | undefined {
  const open = list.filter((s) => s.open).map((s) => ({ ...s, startKey: decimalToHashKey(s.start), endKey: decimalToHashKey(s.end) }));
  open.sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  let low = 0;
  let high = open.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (Buffer.compare(hashKey, open[mid].startKey) < 0) high = mid - 1;
    else if (Buffer.compare(hashKey, open[mid].endKey) > 0) low = mid + 1;
    else return open[mid].shardId;
  }
  return undefined;
}

describe('ShardMap', () => {
  it('places hash keys exactly as Buffer.compare does: 0, 2^128-1, every range boundary and its neighbours, random keys', () => {
    const list = shards();
    const map = new ShardMap(list);
    const keys: bigint[] = [0n, MAX];
    for (const s of list) for (const edge of [BigInt(s.start), BigInt(s.end)]) keys.push(edge - 1n, edge, edge + 1n);
    for (let i = 0; i < 2000; i++) keys.push(BigInt(`0x${randomBytes(16).toString('hex')}`));
    for (const key of keys.filter((k) => k >= 0n && k <= MAX)) {
      const buffer = decimalToHashKey(key.toString());
      const expected = referenceShardFor(list, buffer);
      assert.equal(map.shardFor(buffer), expected, `hash key ${key}`);
      assert.equal(map.shardForHex(decimalToHex(key.toString())), expected, `hash key ${key} (hex)`);
      assert.equal(map.shardOfKey('ignored', key.toString()), expected, `explicit hash key ${key}`);
    }
  });

  it('places partition keys by their MD5, the same whether remembered or not', () => {
    const list = shards();
    const map = new ShardMap(list);
    for (let i = 0; i < 500; i++) {
      const key = `user-${i % 50}-é`;
      const md5 = createHash('md5').update(key, 'utf8').digest();
      assert.equal(map.shardOfKey(key), referenceShardFor(list, md5), key);
    }
  });

  it('finds no open shard for a hash key outside every open range', () => {
    const map = new ShardMap([{ shardId: 'a', start: '100', end: '200', open: true }]);
    assert.equal(map.shardForHex(decimalToHex('99')), undefined);
    assert.equal(map.shardForHex(decimalToHex('201')), undefined);
    assert.equal(map.shardOfKey('x', '99'), undefined);
    assert.equal(map.shardOfKey('x', '150'), 'a');
  });
});

describe('hash keys', () => {
  it('hex and Buffer forms agree with the numbers they spell', () => {
    for (const key of [0n, 1n, 255n, 256n, 2n ** 64n, MAX, BigInt(`0x${randomBytes(16).toString('hex')}`)]) {
      const hex = decimalToHex(key.toString());
      assert.equal(hex.length, 32);
      assert.equal(BigInt(`0x${hex}`), key);
      assert.equal(hexToDecimal(hex), key.toString());
      assert.equal(decimalToHashKey(key.toString()).toString('hex'), hex);
      assert.equal(hashKeyToDecimal(decimalToHashKey(key.toString())), key.toString());
    }
    assert.equal(hashKeyHex('user-1'), createHash('md5').update('user-1').digest('hex'));
    assert.deepEqual(hashKeyOf('user-1'), createHash('md5').update('user-1').digest());
    assert.equal(hashKeyHex('ignored', '255'), decimalToHex('255'));
  });
});
