import assert from 'node:assert/strict';
import { ValidationError } from '../../../lib/errors.js';
import { randomPartitionKey, validateExplicitHashKey, validatePartitionKey } from '../../../lib/writable/partition-key.js';

describe('partition keys', () => {
  it('random keys are 10 characters and vary', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => randomPartitionKey()));
    assert.ok(keys.size > 990);
    for (const key of keys) assert.equal(key.length, 10);
  });

  it('accepts 1 to 256 characters, counted as Unicode code points', () => {
    assert.equal(validatePartitionKey('a', 'partitionKey'), 'a');
    assert.equal(validatePartitionKey('x'.repeat(256), 'partitionKey').length, 256);
    const emoji = '😀'.repeat(256); // 512 UTF-16 units, 256 code points
    assert.equal(validatePartitionKey(emoji, 'partitionKey'), emoji);
  });

  for (const [label, key] of [
    ['empty', ''],
    ['257 characters', 'x'.repeat(257)],
    ['257 astral characters', '😀'.repeat(257)],
    ['a number', 42],
    ['null', null],
  ] as const) {
    it(`rejects ${label} with a ValidationError naming the field`, () => {
      assert.throws(
        () => validatePartitionKey(key, 'partitionKey'),
        (error: unknown) => error instanceof ValidationError && error.field === 'partitionKey' && error.code === 'ERR_KINESIS_VALIDATION',
      );
    });
  }

  it('accepts explicit hash keys from 0 to 2^128 - 1', () => {
    assert.equal(validateExplicitHashKey('0', 'explicitHashKey'), '0');
    const max = ((1n << 128n) - 1n).toString();
    assert.equal(validateExplicitHashKey(max, 'explicitHashKey'), max);
  });

  for (const key of [(1n << 128n).toString(), '-1', '01', '1.5', 'abc', '', ' 1', 12]) {
    it(`rejects explicit hash key ${JSON.stringify(key)}`, () => {
      assert.throws(
        () => validateExplicitHashKey(key, 'explicitHashKey'),
        (error: unknown) => error instanceof ValidationError && error.field === 'explicitHashKey' && error.message.includes('explicitHashKey'),
      );
    });
  }
});
