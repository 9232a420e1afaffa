/**
 * Driving readers under sinon fake timers: run fake time forward until a promise settles.
 */
import type sinon from 'sinon';

/** Runs fake time forward, 50 ms at a time, until `promise` settles (or `limitMs` of fake time pass). */
export async function drive<T>(clock: sinon.SinonFakeTimers, promise: Promise<T>, limitMs = 120000): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => undefined);
  for (let elapsed = 0; !settled && elapsed < limitMs; elapsed += 50) await clock.tickAsync(50);
  if (!settled) throw new Error(`not settled after ${limitMs} ms of fake time`);
  return watched;
}
