import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal, type FieldTable, type FieldValue } from '../codec/field-value.js';
import { Reader } from '../codec/reader.js';
import { Writer } from '../codec/writer.js';
import { FrameError, InvalidArgumentError } from '../errors.js';
import {
  type BasicProperties,
  type DecodedBasicProperties,
  readBasicProperties,
  writeBasicProperties,
} from './properties.js';

/** Every property in wire order, with its flag and a sample value. */
const SAMPLES: [keyof BasicProperties, number, BasicProperties[keyof BasicProperties]][] = [
  ['contentType', 0x8000, 'application/json'],
  ['contentEncoding', 0x4000, 'gzip'],
  ['headers', 0x2000, { retries: 3 }],
  ['deliveryMode', 0x1000, 2],
  ['priority', 0x0800, 9],
  ['correlationId', 0x0400, 'request-1'],
  ['replyTo', 0x0200, 'amq.rabbitmq.reply-to'],
  ['expiration', 0x0100, '60000'],
  ['messageId', 0x0080, 'message-1'],
  ['timestamp', 0x0040, new Date(1_700_000_000_000)],
  ['type', 0x0020, 'order.created'],
  ['userId', 0x0010, 'guest'],
  ['appId', 0x0008, 'billing'],
  ['clusterId', 0x0004, 'cluster'],
];

const TRAILER = [0xde, 0xad, 0xbe, 0xef];

function encode(properties: BasicProperties): Uint8Array {
  const writer = new Writer();
  writer.begin();
  writeBasicProperties(writer, properties);
  return writer.finish().slice();
}

function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part === 'string') out.push(...new TextEncoder().encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but none was thrown');
}

/**
 * Decodes `wire` three ways: whole; cut short at every length, which must throw
 * FRAME_TRUNCATED; and followed by trailing bytes, which must be left unread and unchanged.
 */
function expectDecodes(wire: Uint8Array, expected: DecodedBasicProperties): void {
  const whole = new Reader(wire);
  expect(readBasicProperties(whole)).toStrictEqual(expected);
  expect(whole.offset).toBe(wire.length);

  for (let length = 0; length < wire.length; length++) {
    const error = catchError(() => readBasicProperties(new Reader(wire, 0, length)));
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).code).toBe('FRAME_TRUNCATED');
  }

  const padded = bytes([...wire], TRAILER);
  const reader = new Reader(padded);
  expect(readBasicProperties(reader)).toStrictEqual(expected);
  expect(reader.offset).toBe(wire.length);
  expect([...padded.subarray(wire.length)]).toEqual(TRAILER);
}

function roundTrip(properties: BasicProperties): DecodedBasicProperties {
  return readBasicProperties(new Reader(encode(properties)));
}

function expectInvalidTimestamp(timestamp: Date | number | bigint): void {
  const error = catchError(() => encode({ timestamp }));
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).code).toBe('TIMESTAMP_INVALID');
}

describe('basic properties wire format', () => {
  it('encodes no properties', () => {
    const wire = bytes(0, 0);
    expect(encode({})).toEqual(wire);
    expectDecodes(wire, {});
  });

  it('encodes content type and delivery mode', () => {
    const wire = bytes(0x90, 0x00, 10, 'text/plain', 2);
    expect(encode({ contentType: 'text/plain', deliveryMode: 2 })).toEqual(wire);
    expectDecodes(wire, { contentType: 'text/plain', deliveryMode: 2 });
  });

  it('encodes a timestamp in seconds', () => {
    // 1700000000 is 0x6553f100.
    const wire = bytes(0x00, 0x40, [0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]);
    expect(encode({ timestamp: 1_700_000_000 })).toEqual(wire);
    expect(encode({ timestamp: new Date(1_700_000_000_000) })).toEqual(wire);
    expect(encode({ timestamp: 1_700_000_000n })).toEqual(wire);
    expectDecodes(wire, { timestamp: new Date(1_700_000_000_000) });
  });

  it('encodes cluster id last', () => {
    const wire = bytes(0x00, 0x04, 1, 'c');
    expect(encode({ clusterId: 'c' })).toEqual(wire);
    expectDecodes(wire, { clusterId: 'c' });
  });

  it('encodes headers as a table', () => {
    // The table is 7 bytes: key length, key 'n', tag 'I' and a 32-bit integer.
    const wire = bytes(0x20, 0x00, [0, 0, 0, 7], 1, 'n', 'I', [0, 0, 0, 5]);
    expect(encode({ headers: { n: 5 } })).toEqual(wire);
    expectDecodes(wire, { headers: { n: 5 } });
  });

  it('sets one flag per property', () => {
    for (const [name, flag, value] of SAMPLES) {
      const wire = encode({ [name]: value });
      expect((wire[0]! << 8) | wire[1]!, name).toBe(flag);
    }
  });

  it('writes values in flag order', () => {
    const wire = bytes(0xc0, 0x00, 1, 'a', 1, 'b');
    expect(encode({ contentEncoding: 'b', contentType: 'a' })).toEqual(wire);
    expectDecodes(wire, { contentType: 'a', contentEncoding: 'b' });
  });

  it('sends empty strings', () => {
    const wire = bytes(0x80, 0x00, 0);
    expect(encode({ contentType: '' })).toEqual(wire);
    expectDecodes(wire, { contentType: '' });
  });

  it('skips undefined properties', () => {
    expect(encode({ contentType: undefined, priority: 0 })).toEqual(bytes(0x08, 0x00, 0));
  });

  it('rejects the continuation flag', () => {
    for (const flags of [0x0001, 0x0002, 0x0003, 0x8001]) {
      const wire = bytes(flags >> 8, flags & 0xff, 1, 'a');
      const error = catchError(() => readBasicProperties(new Reader(wire)));
      expect(error).toBeInstanceOf(FrameError);
      expect((error as FrameError).code).toBe('PROPERTY_FLAGS_INVALID');
      expect((error as FrameError).replyCode).toBe(502);
      expect((error as FrameError).message).toContain(`0x${flags.toString(16).padStart(4, '0')}`);
    }
  });
});

describe('basic properties values', () => {
  it('round-trips all 14 properties', () => {
    const properties: BasicProperties = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: {
        retries: 3,
        big: 2 ** 40,
        ratio: 0.5,
        ok: true,
        name: 'åäö',
        none: null,
        raw: new Uint8Array([1, 2, 3]),
        sent: new Date(1_600_000_000_000),
        price: new Decimal(2, 1999),
        list: [1, 'two', [3], { four: 4 }],
        nested: { inner: { deepest: { value: 'x' } }, empty: {} },
      },
      deliveryMode: 2,
      priority: 255,
      correlationId: 'request-1',
      replyTo: 'amq.rabbitmq.reply-to',
      expiration: '60000',
      messageId: 'message-1',
      timestamp: new Date(1_700_000_000_000),
      type: 'order.created',
      userId: 'guest',
      appId: 'billing',
      clusterId: 'cluster',
    };
    const wire = encode(properties);
    expect([wire[0], wire[1]]).toEqual([0xff, 0xfc]);
    expectDecodes(wire, properties as DecodedBasicProperties);
  });

  it('decodes only present keys', () => {
    const decoded = roundTrip({ replyTo: 'replies', appId: 'app' });
    expect(Object.keys(decoded)).toEqual(['replyTo', 'appId']);
    expect('contentType' in decoded).toBe(false);
  });

  it('decodes seconds as a Date', () => {
    expect(roundTrip({ timestamp: 0 }).timestamp).toEqual(new Date(0));
    expect(roundTrip({ timestamp: 42n }).timestamp).toEqual(new Date(42_000));
  });

  it('rounds a Date down to seconds', () => {
    expect(roundTrip({ timestamp: new Date(1_999) }).timestamp).toEqual(new Date(1_000));
  });

  it('decodes the latest Date', () => {
    const latest = 8_640_000_000_000;
    expect(roundTrip({ timestamp: latest }).timestamp).toEqual(new Date(latest * 1000));
    expect(roundTrip({ timestamp: new Date(latest * 1000) }).timestamp).toEqual(new Date(latest * 1000));
  });

  it('decodes later times as bigint', () => {
    expect(roundTrip({ timestamp: 8_640_000_000_001 }).timestamp).toBe(8_640_000_000_001n);
    expect(roundTrip({ timestamp: Number.MAX_SAFE_INTEGER }).timestamp).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(roundTrip({ timestamp: 2n ** 64n - 1n }).timestamp).toBe(2n ** 64n - 1n);
  });

  it('rejects invalid timestamps', () => {
    expectInvalidTimestamp(-1);
    expectInvalidTimestamp(1.5);
    expectInvalidTimestamp(Number.NaN);
    expectInvalidTimestamp(2 ** 53);
    expectInvalidTimestamp(new Date(-1_000));
    expectInvalidTimestamp(new Date(Number.NaN));
    expectInvalidTimestamp(-1n);
    expectInvalidTimestamp(2n ** 64n);
  });

  it('rejects a long short string', () => {
    const error = catchError(() => encode({ messageId: 'x'.repeat(256) }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('SHORTSTR_TOO_LONG');
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based round trips

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

const shortString = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((text) => utf8Length(text) <= 255);

// Values whose decoded form equals the original: a bigint inside the safe range would come back
// as a number, and an integer beyond it, written as a 64-bit integer, would come back as a bigint.
const { fieldTable } = fc.letrec<{ fieldValue: FieldValue; fieldTable: FieldTable }>((tie) => ({
  fieldValue: fc.oneof(
    { maxDepth: 3 },
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value) || Number.isSafeInteger(value)),
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.uint8Array({ maxLength: 16 }),
    fc.constant(null),
    fc.integer({ min: 0, max: 2 ** 40 }).map((seconds) => new Date(seconds * 1000)),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer()).map(([scale, value]) => new Decimal(scale, value)),
    fc.array(tie('fieldValue'), { maxLength: 4 }),
    tie('fieldTable'),
  ),
  fieldTable: fc.dictionary(fc.string({ maxLength: 20 }), tie('fieldValue'), {
    maxKeys: 4,
    noNullPrototype: true,
  }),
}));

const octet = fc.integer({ min: 0, max: 255 });

// Timestamps that decode to the same value: whole-second Dates within the range of Date, and
// bigints of seconds beyond it.
const timestamp = fc.oneof(
  fc.integer({ min: 0, max: 8_640_000_000_000 }).map((seconds) => new Date(seconds * 1000)),
  fc.bigInt({ min: 8_640_000_000_001n, max: 2n ** 64n - 1n }),
);

const propertyArbitraries = {
  contentType: shortString,
  contentEncoding: shortString,
  headers: fieldTable,
  deliveryMode: octet,
  priority: octet,
  correlationId: shortString,
  replyTo: shortString,
  expiration: shortString,
  messageId: shortString,
  timestamp,
  type: shortString,
  userId: shortString,
  appId: shortString,
  clusterId: shortString,
};

const subsets = fc.record(propertyArbitraries, { requiredKeys: [], noNullPrototype: true });

function expectRoundTrip(properties: BasicProperties, trailer: Uint8Array): void {
  const wire = encode(properties);
  const reader = new Reader(bytes([...wire], [...trailer]));
  expect(readBasicProperties(reader)).toStrictEqual(properties);
  expect(reader.offset).toBe(wire.length);
}

describe('basic properties round trip', () => {
  it('round-trips all properties present', () => {
    fc.assert(
      fc.property(
        fc.record(propertyArbitraries, { noNullPrototype: true }),
        fc.uint8Array({ maxLength: 8 }),
        expectRoundTrip,
      ),
      { numRuns: 200 },
    );
  });

  it('round-trips random subsets', () => {
    fc.assert(
      fc.property(subsets, fc.uint8Array({ maxLength: 8 }), expectRoundTrip),
      { numRuns: 300 },
    );
  });

  it('throws FRAME_TRUNCATED on prefixes', () => {
    fc.assert(
      fc.property(subsets, fc.nat(), (properties, cut) => {
        const wire = encode(properties);
        const length = cut % wire.length;
        const error = catchError(() => readBasicProperties(new Reader(wire, 0, length)));
        expect(error).toBeInstanceOf(FrameError);
        expect((error as FrameError).code).toBe('FRAME_TRUNCATED');
      }),
      { numRuns: 300 },
    );
  });
});
