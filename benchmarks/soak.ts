/**
 * Soak test (not in CI): `npm run soak [-- --minutes 10]`.
 *
 * A writer and a reader run together for --minutes on kinesalite behind the fault proxy
 * (test/helpers/fault-proxy.ts: 5xx, throttling, resets, slow and truncated answers,
 * expired iterators, partial PutRecords failures). Every --sample-s seconds it samples
 * RSS and heapUsed (after a full GC: run with --expose-gc, as the npm script does) and
 * prints a line; at the end a table and a verdict: "heap flat" if the heap after GC at the
 * end is within 20% or 4 MiB of the one after the first minute.
 *
 * Delivery is checked on the way with bounded memory: records carry (key, n) and each key
 * is written in order (preserveOrder), so per key the reader must see n in sequence, with
 * duplicates only (never a gap) — from faults after which the server had stored the write.
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKinesisReadable, createKinesisWritable, type KinesisRecord } from '../lib/index.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { createTestStream, startKinesalite } from '../test/helpers/servers.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' },
    'fault-rate': { type: 'string', default: '0.05' },
    'sample-s': { type: 'string', default: '10' },
    seed: { type: 'string', default: '7' },
    keys: { type: 'string', default: '64' },
  },
  strict: true,
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const faultRate = Number(values['fault-rate']);
const sampleMs = Number(values['sample-s']) * 1000;
const seed = Number(values.seed);
const KEYS = Number(values.keys);
const MiB = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with node --expose-gc (npm run soak does)');
  process.exit(2);
}

interface Item {
  key: number;
  n: number;
}
interface Sample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  written: number;
  read: number;
  duplicates: number;
  gaps: number;
  writerRetries: number;
  readerRetries: number;
  faults: number;
}

const kinesalite = await startKinesalite();
const proxy = await startFaultProxy({ upstream: kinesalite.endpoint, seed, rate: faultRate, slowMs: 1500 });
const streamName = 'soak';
await createTestStream(kinesalite.endpoint, streamName, 2);
const clientOptions = { endpoint: proxy.url, requestTimeoutMs: 1000, retry: { baseDelayMs: 10, maxDelayMs: 200, maxAttempts: 50 } };

const writer = createKinesisWritable<Item>({ ...clientOptions, streamName, partitionKey: (item) => `key-${item.key}`, preserveOrder: true });
const reader = createKinesisReadable<Item>({ ...clientOptions, streamName, initialPosition: 'TRIM_HORIZON', decode: 'json' });
let writerRetries = 0;
let readerRetries = 0;
writer.on('retry', () => writerRetries++);
reader.on('retry', () => readerRetries++);

// Per key, the next n expected: bounded state whatever the run length.
const nextN = Array.from({ length: KEYS }, (_, key) => key);
let written = 0;
let read = 0;
let duplicates = 0;
let gaps = 0;
let stopWriting = false;

const reading = (async () => {
  for await (const record of reader as AsyncIterable<KinesisRecord<Item>>) {
    read++;
    const { key, n } = record.data;
    if (n === nextN[key]) nextN[key] += KEYS;
    else if (n < nextN[key]) duplicates++;
    else {
      gaps++;
      nextN[key] = n + KEYS;
    }
    if (read % 1000 === 0) await reader.checkpoint();
  }
})().catch((error: unknown) => {
  if (!stopWriting) throw error;
});

const writing = (async () => {
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  while (!stopWriting) {
    for (let i = 0; i < perTick; i++) {
      if (!writer.write({ key: written % KEYS, n: written })) await once(writer, 'drain');
      written++;
    }
    await delay(tickMs);
  }
  writer.end();
  await once(writer, 'finish');
})();

const samples: Sample[] = [];
const started = Date.now();
function sample(): Sample {
  gc?.();
  const memory = process.memoryUsage();
  const s: Sample = {
    t: Math.round((Date.now() - started) / 1000),
    rssMiB: memory.rss / MiB,
    heapMiB: memory.heapUsed / MiB,
    written,
    read,
    duplicates,
    gaps,
    writerRetries,
    readerRetries,
    faults: proxy.stats().faults,
  };
  samples.push(s);
  return s;
}
const fmt = (s: Sample): string =>
  [
    String(s.t).padStart(5),
    s.rssMiB.toFixed(1).padStart(8),
    s.heapMiB.toFixed(2).padStart(9),
    String(s.written).padStart(8),
    String(s.read).padStart(8),
    String(s.duplicates).padStart(5),
    String(s.gaps).padStart(5),
    String(s.writerRetries).padStart(7),
    String(s.readerRetries).padStart(7),
    String(s.faults).padStart(7),
  ].join(' ');
const HEADER = '  t/s  rss/MiB  heap/MiB  written     read  dups  gaps  w.retry r.retry  faults';

console.log(`soak: ${minutes} min, ${rate} records/s, ${faultRate * 100}% faults (seed ${seed}), kinesalite ${kinesalite.endpoint} behind ${proxy.url}`);
console.log(HEADER);
console.log(fmt(sample()));
const endAt = started + minutes * 60_000;
while (Date.now() < endAt) {
  await delay(Math.min(sampleMs, endAt - Date.now()));
  console.log(fmt(sample()));
}

stopWriting = true;
await writing;
/** Records written and not yet delivered: per key, from the next n expected to the last written. */
function notDelivered(): number {
  let sum = 0;
  for (let key = 0; key < KEYS && key < written; key++) {
    const lastN = written - 1 - ((written - 1 - key) % KEYS);
    if (nextN[key] <= lastN) sum += (lastN - nextN[key]) / KEYS + 1;
  }
  return sum;
}
// Let the reader catch up with everything written (faults still on).
const catchUp = Date.now() + 60_000;
while (notDelivered() > 0 && Date.now() < catchUp) await delay(200);
const missing = notDelivered();
reader.destroy();
await reading;
const final = sample();
console.log(`${fmt(final)}   (after stopping and catching up)`);
await proxy.stop();
await kinesalite.stop();

const baseline = samples.find((s) => s.t >= 60) ?? samples[samples.length - 1];
const growth = final.heapMiB - baseline.heapMiB;
const flat = final.heapMiB <= baseline.heapMiB * 1.2 || growth <= 4;
console.log('');
console.log(HEADER);
for (const s of samples) console.log(fmt(s));
console.log('');
console.log(`proxy: ${proxy.summary()}`);
console.log(`written ${written}, read ${read} (${duplicates} duplicate deliveries), per-key gaps ${gaps}, missing at the end ${missing}`);
console.log(
  `heap after GC: ${baseline.heapMiB.toFixed(2)} MiB at ${baseline.t} s, ${final.heapMiB.toFixed(2)} MiB at the end ` +
    `(${growth >= 0 ? '+' : ''}${growth.toFixed(2)} MiB); rss ${samples[0].rssMiB.toFixed(1)} → ${final.rssMiB.toFixed(1)} MiB`,
);
const ok = flat && gaps === 0 && missing === 0;
console.log(`verdict: ${flat ? 'heap flat' : 'HEAP GROWS'}; ${gaps === 0 && missing === 0 ? 'no loss, per-key order kept' : 'DELIVERY PROBLEM'}`);
process.exit(ok ? 0 : 1);
