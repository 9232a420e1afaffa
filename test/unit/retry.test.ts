import assert from 'node:assert/strict';
import { ValidationError } from '../../lib/errors.js';
import { RetryPolicy, errorCode, isRetriableEntryCode, isRetriableError } from '../../lib/retry.js';
import { serviceError } from '../helpers/fake-kinesis.js';

describe('retry policy', () => {
  it('full jitter: delays lie in [0, min(max, base·2^(attempt-1))]', () => {
    const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** (attempt - 1));
      const delays = Array.from({ length: 200 }, () => policy.delayFor(attempt));
      assert.ok(delays.every((d) => d >= 0 && d <= ceiling), `attempt ${attempt}`);
      assert.ok(new Set(delays).size > 10, 'delays are jittered');
    }
  });

  it('counts attempts against maxAttempts', () => {
    const policy = new RetryPolicy({ maxAttempts: 3 });
    assert.equal(policy.canRetry(1), true);
    assert.equal(policy.canRetry(2), true);
    assert.equal(policy.canRetry(3), false);
  });

  it('rejects bad options naming the field', () => {
    assert.throws(() => new RetryPolicy({ maxAttempts: 0 }), (e: unknown) => e instanceof ValidationError && e.field === 'retry.maxAttempts');
    assert.throws(() => new RetryPolicy({ baseDelayMs: -1 }), (e: unknown) => e instanceof ValidationError && e.field === 'retry.baseDelayMs');
    assert.throws(() => new RetryPolicy({ maxDelayMs: Number.NaN }), (e: unknown) => e instanceof ValidationError && e.field === 'retry.maxDelayMs');
  });

  it('classifies throttling, 5xx and network errors as retriable', () => {
    for (const error of [
      serviceError('ProvisionedThroughputExceededException'),
      serviceError('LimitExceededException'),
      serviceError('KMSThrottlingException'),
      serviceError('SomethingNew', 503),
      serviceError('InternalFailure', 500),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('timeout'), { name: 'TimeoutError' }),
    ]) {
      assert.equal(isRetriableError(error), true, errorCode(error));
    }
  });

  it('classifies missing streams, access and validation errors as final', () => {
    for (const error of [
      serviceError('ResourceNotFoundException'),
      serviceError('AccessDeniedException'),
      serviceError('ValidationException'),
      new Error('plain'),
      'a string',
      null,
    ]) {
      assert.equal(isRetriableError(error), false, String(error));
    }
  });

  it('retries PutRecords entry codes except KMS configuration errors', () => {
    assert.equal(isRetriableEntryCode('ProvisionedThroughputExceededException'), true);
    assert.equal(isRetriableEntryCode('InternalFailure'), true);
    assert.equal(isRetriableEntryCode('KMSThrottlingException'), true);
    assert.equal(isRetriableEntryCode('KMSAccessDeniedException'), false);
    assert.equal(isRetriableEntryCode('KMSDisabledException'), false);
  });

  it('errorCode reads SDK exception names and Node error codes', () => {
    assert.equal(errorCode(serviceError('ResourceNotFoundException')), 'ResourceNotFoundException');
    assert.equal(errorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(errorCode(42), 'UnknownError');
  });
});
