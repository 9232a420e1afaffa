/**
 * PutRecords and GetRecords answers (HTTP 200, awsJson1_1) read into the SDK's output
 * shapes with one JSON.parse and a loop. The SDK's deserializer walks the schema for every
 * record and checks every base64 string against a regular expression before decoding it:
 * on a 10,000-record GetRecords answer that is most of the client's CPU. The service
 * only ever sends valid base64 there, so Buffer's decoder alone is enough.
 *
 * Same output as the SDK's: Data a Uint8Array, ApproximateArrivalTimestamp a Date (epoch
 * seconds × 1000, rounded, as the SDK's parseEpochTimestamp does), members sent as null
 * left out; other members are JSON types already.
 */
import { isAscii } from 'node:buffer';

type Json = Record<string, unknown>;

/** The answer's text: JSON from Kinesis is ASCII but for partition keys, and latin1 is a plain copy. */
function parse(bytes: Uint8Array): Json {
  if (bytes.byteLength === 0) return {};
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parsed: unknown = JSON.parse(isAscii(buffer) ? buffer.toString('latin1') : buffer.toString('utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('Kinesis answer is not a JSON object');
  return parsed as Json;
}

/** Removes members that are null, as the SDK leaves them out (nested objects too). */
function dropNulls(object: Json): void {
  for (const key in object) {
    const value = object[key];
    if (value === null) delete object[key];
    else if (typeof value === 'object') {
      if (Array.isArray(value)) {
        for (const item of value) if (item !== null && typeof item === 'object') dropNulls(item as Json);
      } else {
        dropNulls(value as Json);
      }
    }
  }
}

/** A GetRecords answer as the SDK returns it (without $metadata). */
export function parseGetRecords(bytes: Uint8Array): Json {
  const answer = parse(bytes);
  const records = answer.Records;
  for (const key in answer) {
    if (key !== 'Records' && answer[key] === null) delete answer[key];
    else if (key === 'ChildShards' && Array.isArray(answer[key])) dropNulls({ ChildShards: answer[key] });
  }
  if (!Array.isArray(records)) return answer;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as Json | null;
    if (record === null || typeof record !== 'object') continue;
    for (const key in record) {
      const value = record[key];
      if (value === null) {
        delete record[key];
      } else if (key === 'Data') {
        if (typeof value === 'string') {
          const data = Buffer.from(value, 'base64');
          // A plain Uint8Array, like the SDK's: code that compares prototypes sees no difference.
          record.Data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        }
      } else if (key === 'ApproximateArrivalTimestamp') {
        record.ApproximateArrivalTimestamp = new Date(Math.round(Number(value) * 1000));
      }
    }
  }
  return answer;
}

/** A PutRecords answer as the SDK returns it (without $metadata): JSON types only. */
export function parsePutRecords(bytes: Uint8Array): Json {
  const answer = parse(bytes);
  dropNulls(answer);
  return answer;
}
