/**
 * The few protobuf wire-format pieces the KPL aggregated record format needs: varints
 * and length-delimited fields. Hand-written so an aggregate is encoded straight into
 * one buffer, with no per-record allocation.
 */

/** Bytes of `value` (a non-negative integer below 2^53) as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes `value` as a varint at `offset`; returns the offset after it. */
export function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[offset++] = value;
  return offset;
}

/** A cursor over protobuf bytes. Throws on truncated or malformed input. */
export class ProtobufReader {
  offset: number;
  /** Start of the content of the last field read by delimitedEnd(). */
  fieldStart = 0;

  constructor(
    readonly buffer: Uint8Array,
    start: number,
    public end: number,
  ) {
    this.offset = start;
  }

  /** Reads another span of the same buffer (no new reader per nested message). */
  reset(start: number, end: number): void {
    this.offset = start;
    this.end = end;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new Error('truncated varint');
      const byte = this.buffer[this.offset++];
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new Error('varint too large');
        return result;
      }
      multiplier *= 128;
    }
    throw new Error('varint too long');
  }

  /** End of a length-delimited field's content (its start in `fieldStart`); moves past it. No allocation. */
  delimitedEnd(): number {
    const length = this.varint();
    const start = this.offset;
    const end = start + length;
    if (end > this.end) throw new Error('truncated field');
    this.fieldStart = start;
    this.offset = end;
    return end;
  }

  /** Skips a field of `wireType` whose tag was just read. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.offset += 8;
        break;
      case 2:
        this.delimitedEnd();
        return;
      case 5:
        this.offset += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.offset > this.end) throw new Error('truncated field');
  }
}
