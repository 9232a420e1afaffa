/**
 * Benchmark record payloads, shared by the cases (writer side) and the stub server (reader
 * side): a ring of pre-built Buffers with seeded pseudo-random content, identical in every
 * process, so no run pays for making its data and every run moves the same bytes.
 */

/** Distinct pre-built payloads, cycled; a power of two. */
export const RING_SIZE = 1024;

/** A ring of RING_SIZE Buffers of `recordBytes` each, from a fixed-seed xorshift PRNG. */
export function buildPayloads(recordBytes: number): Buffer[] {
  let state = 0x9e3779b9;
  const pool = Buffer.allocUnsafe(RING_SIZE * recordBytes);
  for (let i = 0; i < pool.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pool[i] = state & 0xff;
  }
  return Array.from({ length: RING_SIZE }, (_, i) => pool.subarray(i * recordBytes, (i + 1) * recordBytes));
}
