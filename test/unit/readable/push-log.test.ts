import assert from 'node:assert/strict';
import { PushLog, type ConsumedMark } from '../../../lib/readable/push-log.js';

type Source = ConsumedMark<string> & { name: string };
const source = (name: string): Source => ({ name, lastConsumed: undefined });

/** A stand-in for Readable#push: 'flowing' hands each record to `onData` at once; otherwise it is buffered. */
function readable(flowing: boolean, onData: (record: string) => void = () => {}): { push(r: string): boolean; readonly readableLength: number; buffer: string[] } {
  const buffer: string[] = [];
  return {
    buffer,
    get readableLength() {
      return buffer.length;
    },
    push(record: string) {
      if (flowing && buffer.length === 0) onData(record);
      else buffer.push(record);
      return buffer.length < 2;
    },
  };
}

describe('PushLog', () => {
  it('marks read all records but those still buffered, per source, in push order', () => {
    const log = new PushLog<Source, string>();
    const a = source('a');
    const b = source('b');
    log.add(a, 'a1');
    log.add(b, 'b1');
    log.add(a, 'a2');
    log.trim(2);
    assert.deepEqual([a.lastConsumed, b.lastConsumed, log.empty], ['a1', undefined, false]);
    log.trim(0);
    assert.deepEqual([a.lastConsumed, b.lastConsumed, log.empty], ['a2', 'b1', true]);
  });

  it('a record handed straight to a listener is read during its own push and never logged', () => {
    const log = new PushLog<Source, string>();
    const a = source('a');
    const seen: Array<string | undefined> = [];
    const target = readable(true, () => seen.push(a.lastConsumed));
    assert.equal(log.push(a, 'a1', target), true);
    assert.deepEqual(seen, ['a1'], 'a checkpoint inside the listener sees the record it handles');
    assert.equal(log.empty, true);
  });

  it('a buffered record stays unread until trimmed, and what was read before it keeps its mark', () => {
    const log = new PushLog<Source, string>();
    const a = source('a');
    a.lastConsumed = 'a0';
    const target = readable(false);
    assert.equal(log.push(a, 'a1', target), true);
    assert.equal(log.push(a, 'a2', target), false, 'push() answers as the Readable did');
    assert.equal(a.lastConsumed, 'a0');
    target.buffer.shift();
    log.trim(target.readableLength);
    assert.equal(a.lastConsumed, 'a1');
  });

  it('drops the read part of a long log without losing what is unread', () => {
    const log = new PushLog<Source, string>();
    const a = source('a');
    for (let i = 0; i < 3000; i++) log.add(a, `a${i}`);
    log.trim(10);
    assert.equal(a.lastConsumed, 'a2989');
    log.add(a, 'a3000');
    log.trim(1);
    assert.equal(a.lastConsumed, 'a2999');
    log.trim(0);
    assert.equal(a.lastConsumed, 'a3000');
    assert.equal(log.empty, true);
  });
});
