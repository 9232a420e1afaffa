import assert from 'node:assert/strict';
import type { KinesisStreamEvent } from 'aws-lambda';
import { ValidationError } from '../../../lib/errors.js';
import { parseKinesisEvent } from '../../../lib/lambda/event.js';
import { makeEvent, streamArn } from '../../helpers/lambda-events.js';

/** A deep copy of a valid two-record event, changed by `edit`. */
function edited(edit: (event: KinesisStreamEvent) => void): unknown {
  const event = structuredClone(makeEvent(['first', 'second']));
  edit(event);
  return event;
}

function assertInvalid(event: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => parseKinesisEvent(event),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `a ValidationError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_KINESIS_VALIDATION');
      assert.equal(error.field, field);
      if (message !== undefined) assert.match(error.message, message);
      return true;
    },
  );
}

describe('lambda/event: parseKinesisEvent', () => {
  it('decodes data, takes the stream from eventSourceARN and the shard from eventID', () => {
    const event = makeEvent(['hello', Buffer.from([0, 255, 1])], { streamName: 'orders', shardId: 'shardId-000000000007' });
    const parsed = parseKinesisEvent(event);
    assert.equal(parsed.streamName, 'orders');
    assert.equal(parsed.shardId, 'shardId-000000000007');
    assert.equal(parsed.streamArn, streamArn('orders'));
    assert.deepEqual(parsed.records.map((r) => r.data), [Buffer.from('hello'), Buffer.from([0, 255, 1])]);
    assert.deepEqual(parsed.records.map((r) => r.sequenceNumber), event.Records.map((r) => r.kinesis.sequenceNumber));
    assert.deepEqual(parsed.records.map((r) => r.partitionKey), ['k0', 'k1']);
    assert.deepEqual(parsed.records.map((r) => r.index), [0, 1]);
  });

  it('turns Lambda seconds into the same millisecond Date the SDK reads from GetRecords', () => {
    for (const ms of [1_545_084_650_987, 1_700_000_000_001, 1_700_000_000_999, 0]) {
      const event = makeEvent(['x'], { arrival: new Date(ms) });
      assert.equal(parseKinesisEvent(event).records[0].approximateArrivalTimestamp.getTime(), ms);
    }
  });

  it('accepts an event without records', () => {
    const parsed = parseKinesisEvent({ Records: [] });
    assert.deepEqual(parsed, { streamName: undefined, streamArn: undefined, shardId: undefined, records: [] });
  });

  it('reads the stream name from a consumer (enhanced fan-out) ARN and other partitions', () => {
    const arns = [
      'arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/lambda-efo:1700000000',
      'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/orders',
      'arn:aws-us-gov:kinesis:us-gov-west-1:123456789012:stream/orders',
    ];
    for (const arn of arns) {
      const event = edited((e) => e.Records.forEach((r) => (r.eventSourceARN = arn)));
      assert.equal(parseKinesisEvent(event).streamName, 'orders', arn);
    }
  });

  it('accepts empty data and a record without the optional metadata', () => {
    const event = makeEvent(['']);
    const minimal = { Records: [{ kinesis: { ...event.Records[0].kinesis }, eventID: event.Records[0].eventID, eventSourceARN: event.Records[0].eventSourceARN }] };
    delete (minimal.Records[0].kinesis as { kinesisSchemaVersion?: string }).kinesisSchemaVersion;
    assert.equal(parseKinesisEvent(minimal).records[0].data.length, 0);
  });

  describe('rejects a malformed event, naming the field', () => {
    it('not an object, no Records array, a record that is not an object', () => {
      assertInvalid(undefined, 'event');
      assertInvalid('{"Records":[]}', 'event');
      assertInvalid({}, 'Records');
      assertInvalid({ Records: {} }, 'Records');
      assertInvalid({ Records: [null] }, 'Records[0]');
      assertInvalid(edited((e) => ((e.Records as unknown[])[1] = 42)), 'Records[1]');
    });

    it('an event of another source (SQS, DynamoDB streams)', () => {
      assertInvalid(edited((e) => (e.Records[1].eventSource = 'aws:sqs')), 'Records[1].eventSource', /not a Kinesis event/);
      assertInvalid(
        { Records: [{ eventSource: 'aws:dynamodb', dynamodb: {}, eventID: '1', eventSourceARN: 'arn:aws:dynamodb:us-east-1:1:table/t/stream/x' }] },
        'Records[0].eventSource',
      );
      assertInvalid(edited((e) => delete (e.Records[0] as Partial<typeof e.Records[0]>).kinesis), 'Records[0].kinesis');
    });

    it('data that is not strict base64', () => {
      const bad = ['QUJD*', 'QUJD RA==', 'QUJDRA', 'QUJD=A==', 'QUJDRA===', '-_8=', 'QUJDRA==\n', '===='];
      for (const data of bad) {
        assertInvalid(edited((e) => (e.Records[1].kinesis.data = data)), 'Records[1].kinesis.data', /base64/);
      }
      assertInvalid(edited((e) => ((e.Records[0].kinesis as { data: unknown }).data = Buffer.from('x'))), 'Records[0].kinesis.data');
    });

    it('bad sequence numbers, partition keys and timestamps', () => {
      assertInvalid(edited((e) => (e.Records[0].kinesis.sequenceNumber = '12a')), 'Records[0].kinesis.sequenceNumber');
      assertInvalid(edited((e) => ((e.Records[0].kinesis as { sequenceNumber: unknown }).sequenceNumber = 12)), 'Records[0].kinesis.sequenceNumber');
      assertInvalid(edited((e) => (e.Records[1].kinesis.partitionKey = '')), 'Records[1].kinesis.partitionKey');
      assertInvalid(edited((e) => ((e.Records[1].kinesis as { approximateArrivalTimestamp: unknown }).approximateArrivalTimestamp = '2024-01-01')), 'Records[1].kinesis.approximateArrivalTimestamp');
      assertInvalid(edited((e) => (e.Records[1].kinesis.approximateArrivalTimestamp = Number.NaN)), 'Records[1].kinesis.approximateArrivalTimestamp');
      assertInvalid(edited((e) => ((e.Records[0].kinesis as { kinesisSchemaVersion: unknown }).kinesisSchemaVersion = 1)), 'Records[0].kinesis.kinesisSchemaVersion');
    });

    it('an eventID that is not shardId:sequenceNumber of the record', () => {
      assertInvalid(edited((e) => (e.Records[1].eventID = 'shardId-000000000000')), 'Records[1].eventID');
      assertInvalid(edited((e) => (e.Records[1].eventID = `shardId-000000000000:${e.Records[0].kinesis.sequenceNumber}`)), 'Records[1].eventID', /sequence number/);
    });

    it('an eventSourceARN that is not a Kinesis stream', () => {
      assertInvalid(edited((e) => (e.Records[0].eventSourceARN = 'arn:aws:sqs:us-east-1:123456789012:queue')), 'Records[0].eventSourceARN');
      assertInvalid(edited((e) => delete (e.Records[0] as Partial<typeof e.Records[0]>).eventSourceARN), 'Records[0].eventSourceARN');
    });

    it('records of two shards or two streams', () => {
      assertInvalid(
        edited((e) => (e.Records[1].eventID = `shardId-000000000001:${e.Records[1].kinesis.sequenceNumber}`)),
        'Records[1].eventID',
        /one shard per batch/,
      );
      assertInvalid(edited((e) => (e.Records[1].eventSourceARN = streamArn('payments'))), 'Records[1].eventSourceARN', /one stream/);
    });

    it('records out of shard order or repeated', () => {
      const swapped = edited((e) => e.Records.reverse());
      assertInvalid(swapped, 'Records[1].kinesis.sequenceNumber', /shard order/);
      const repeated = edited((e) => (e.Records[1] = structuredClone(e.Records[0])));
      assertInvalid(repeated, 'Records[1].kinesis.sequenceNumber');
    });

    it('never quotes record data or partition keys in the message', () => {
      const secret = 'c2VjcmV0LXBheWxvYWQ*';
      assert.throws(() => parseKinesisEvent(edited((e) => (e.Records[0].kinesis.data = secret))), (error: Error) => !error.message.includes(secret));
    });
  });
});
