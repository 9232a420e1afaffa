/**
 * The JSON body of a PutRecords request, written straight into one Buffer: the SDK's
 * generic serializer walks the schema for every entry; here each entry is three
 * memcpy-like writes (the base64 of its Data, its partition key, its explicit hash key).
 * The bytes mean the same to the service as the SDK's (only the member order differs,
 * which JSON does not care about).
 */

/** One entry as the SDK's PutRecordsRequestEntry types it. */
export interface PutRecordsEntryLike {
  Data?: unknown;
  PartitionKey?: unknown;
  ExplicitHashKey?: unknown;
}

const OPEN_RECORDS = Buffer.from('"Records":[');
const OPEN_DATA = Buffer.from('{"Data":"');
const HASH_KEY = Buffer.from('","ExplicitHashKey":');
const KEY_AFTER_DATA = Buffer.from('","PartitionKey":');
const KEY_AFTER_HASH_KEY = Buffer.from(',"PartitionKey":');
const COMMA = 0x2c;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * `head` is the JSON the SDK wrote for the other members of the input (`{"StreamName":..}`
 * or `{}`); the result is that object with `"Records":[...]` added. Returns undefined when
 * an entry is not the plain shape written here (Data not bytes, a key not a string), so
 * the caller leaves the request to the SDK, which validates and serialises it as always.
 */
export function putRecordsBody(head: Uint8Array, records: readonly PutRecordsEntryLike[]): Buffer | undefined {
  if (head.byteLength < 2 || head[0] !== 0x7b || head[head.byteLength - 1] !== CLOSE_OBJECT) return undefined;
  const data = new Array<string>(records.length);
  const keys = new Array<string>(records.length);
  const hashKeys = new Array<string | undefined>(records.length);
  // The head without its '}', a comma, '"Records":[', ']', '}'.
  let size = head.byteLength + OPEN_RECORDS.length + 2;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (!(r.Data instanceof Uint8Array) || typeof r.PartitionKey !== 'string') return undefined;
    const bytes = Buffer.isBuffer(r.Data) ? r.Data : Buffer.from(r.Data.buffer, r.Data.byteOffset, r.Data.byteLength);
    data[i] = bytes.toString('base64');
    keys[i] = JSON.stringify(r.PartitionKey);
    size += OPEN_DATA.length + data[i].length + Buffer.byteLength(keys[i], 'utf8') + 1 + (i > 0 ? 1 : 0);
    if (r.ExplicitHashKey != null) {
      if (typeof r.ExplicitHashKey !== 'string') return undefined;
      const hashKey = JSON.stringify(r.ExplicitHashKey);
      hashKeys[i] = hashKey;
      size += HASH_KEY.length + Buffer.byteLength(hashKey, 'utf8') + KEY_AFTER_HASH_KEY.length;
    } else {
      size += KEY_AFTER_DATA.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  out.set(head.subarray(0, head.byteLength - 1));
  let at = head.byteLength - 1;
  if (head.byteLength > 2) out[at++] = COMMA;
  at += OPEN_RECORDS.copy(out, at);
  for (let i = 0; i < records.length; i++) {
    if (i > 0) out[at++] = COMMA;
    at += OPEN_DATA.copy(out, at);
    at += out.write(data[i], at, 'latin1');
    const hashKey = hashKeys[i];
    if (hashKey !== undefined) {
      at += HASH_KEY.copy(out, at);
      at += out.write(hashKey, at, 'utf8');
      at += KEY_AFTER_HASH_KEY.copy(out, at);
    } else {
      at += KEY_AFTER_DATA.copy(out, at);
    }
    at += out.write(keys[i], at, 'utf8');
    out[at++] = CLOSE_OBJECT;
  }
  out[at++] = CLOSE_ARRAY;
  out[at] = CLOSE_OBJECT;
  // `{}` as the head has no comma after it: one byte fewer than reserved.
  return at + 1 === size ? out : out.subarray(0, at + 1);
}
