import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrameError, InvalidArgumentError } from '../errors.js';
import {
  MAX_FIELD_DEPTH,
  readArray,
  readFieldValue,
  readTable,
  writeArray,
  writeFieldValue,
  writeTable,
} from './field-table.js';
import { Decimal, TypedValue, typed, type FieldArray, type FieldTable, type FieldValue } from './field-value.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

const textEncoder = new TextEncoder();

/** Encodes with a fresh writer, so the output starts at the beginning of a slab. */
function encode(write: (writer: Writer) => void): Uint8Array {
  const writer = new Writer();
  writer.begin();
  write(writer);
  return writer.finish().slice();
}

function fromHex(text: string): Uint8Array {
  const octets = text.split(/\s+/).filter((octet) => octet !== '');
  return Uint8Array.from(octets, (octet) => Number.parseInt(octet, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (octet) => octet.toString(16).padStart(2, '0')).join(' ');
}

function utf8Length(text: string): number {
  return textEncoder.encode(text).length;
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

function expectFrameError(action: () => unknown, code: string): FrameError {
  const error = catchError(action);
  expect(error).toBeInstanceOf(FrameError);
  const frameError = error as FrameError;
  expect(frameError.code).toBe(code);
  expect(frameError.replyCode).toBe(502);
  return frameError;
}

/**
 * Checks a decoder three ways: on exactly the encoded bytes, on every proper prefix (the input
 * that a decoder gets when the bytes arrive one at a time), and with trailing bytes that it must
 * not read.
 */
function expectDecodes(bytes: Uint8Array, decode: (reader: Reader) => unknown, expected: unknown): void {
  const whole = new Reader(bytes);
  expect(decode(whole)).toStrictEqual(expected);
  expect(whole.offset).toBe(bytes.length);

  for (let length = 0; length < bytes.length; length++) {
    const error = catchError(() => decode(new Reader(bytes.slice(0, length))));
    expect(error, `prefix of ${length} bytes`).toBeInstanceOf(FrameError);
    expect((error as FrameError).code, `prefix of ${length} bytes`).toBe('FRAME_TRUNCATED');
  }

  const trailing = [0xce, 0x01, 0x56];
  const padded = new Uint8Array(bytes.length + trailing.length);
  padded.set(bytes);
  padded.set(trailing, bytes.length);
  const reader = new Reader(padded);
  expect(decode(reader)).toStrictEqual(expected);
  expect(reader.offset).toBe(bytes.length);
  expect(Array.from(padded.subarray(bytes.length))).toEqual(trailing);
}

interface ValueCase {
  name: string;
  value: FieldValue;
  /** The tagged value on the wire, computed by hand. */
  wire: string;
  decoded: FieldValue;
}

const valueCases: ValueCase[] = [
  { name: 'true', value: true, wire: '74 01', decoded: true },
  { name: 'false', value: false, wire: '74 00', decoded: false },
  { name: 'int8 min', value: typed('b', -128), wire: '62 80', decoded: -128 },
  { name: 'int8 max', value: typed('b', 127), wire: '62 7f', decoded: 127 },
  { name: 'uint8 min', value: typed('B', 0), wire: '42 00', decoded: 0 },
  { name: 'uint8 max', value: typed('B', 255), wire: '42 ff', decoded: 255 },
  { name: 'int16 min', value: typed('s', -32768), wire: '73 80 00', decoded: -32768 },
  { name: 'int16 max', value: typed('s', 32767), wire: '73 7f ff', decoded: 32767 },
  { name: 'uint16 min', value: typed('u', 0), wire: '75 00 00', decoded: 0 },
  { name: 'uint16 max', value: typed('u', 65535), wire: '75 ff ff', decoded: 65535 },
  { name: 'int32 min', value: -2147483648, wire: '49 80 00 00 00', decoded: -2147483648 },
  { name: 'int32 max', value: 2147483647, wire: '49 7f ff ff ff', decoded: 2147483647 },
  { name: 'int32 zero', value: 0, wire: '49 00 00 00 00', decoded: 0 },
  { name: 'uint32 min', value: typed('i', 0), wire: '69 00 00 00 00', decoded: 0 },
  { name: 'uint32 max', value: typed('i', 4294967295), wire: '69 ff ff ff ff', decoded: 4294967295 },
  {
    name: 'int64 min',
    value: -(2n ** 63n),
    wire: '6c 80 00 00 00 00 00 00 00',
    decoded: -(2n ** 63n),
  },
  {
    name: 'int64 max',
    value: 2n ** 63n - 1n,
    wire: '6c 7f ff ff ff ff ff ff ff',
    decoded: 2n ** 63n - 1n,
  },
  {
    name: '2^53 + 1 as bigint',
    value: 2n ** 53n + 1n,
    wire: '6c 00 20 00 00 00 00 00 01',
    decoded: 2n ** 53n + 1n,
  },
  { name: 'small bigint', value: 5n, wire: '6c 00 00 00 00 00 00 00 05', decoded: 5 },
  { name: 'typed int64', value: typed('l', 5), wire: '6c 00 00 00 00 00 00 00 05', decoded: 5 },
  { name: 'number 2^31', value: 2 ** 31, wire: '6c 00 00 00 00 80 00 00 00', decoded: 2 ** 31 },
  {
    name: 'number -(2^31) - 1',
    value: -(2 ** 31) - 1,
    wire: '6c ff ff ff ff 7f ff ff ff',
    decoded: -(2 ** 31) - 1,
  },
  {
    name: 'max safe integer',
    value: Number.MAX_SAFE_INTEGER,
    wire: '6c 00 1f ff ff ff ff ff ff',
    decoded: Number.MAX_SAFE_INTEGER,
  },
  // Exact as a double but beyond the safe range, so it decodes as a bigint.
  { name: 'number 2^60', value: 2 ** 60, wire: '6c 10 00 00 00 00 00 00 00', decoded: 2n ** 60n },
  {
    name: 'number -(2^63)',
    value: -(2 ** 63),
    wire: '6c 80 00 00 00 00 00 00 00',
    decoded: -(2n ** 63n),
  },
  { name: 'number 2^63', value: 2 ** 63, wire: '64 43 e0 00 00 00 00 00 00', decoded: 2 ** 63 },
  { name: 'number 1e20', value: 1e20, wire: '64 44 15 af 1d 78 b5 8c 40', decoded: 1e20 },
  { name: 'number 1.5', value: 1.5, wire: '64 3f f8 00 00 00 00 00 00', decoded: 1.5 },
  { name: 'negative zero', value: -0, wire: '64 80 00 00 00 00 00 00 00', decoded: -0 },
  { name: 'typed double', value: typed('d', 1), wire: '64 3f f0 00 00 00 00 00 00', decoded: 1 },
  { name: 'float', value: typed('f', 1.5), wire: '66 3f c0 00 00', decoded: 1.5 },
  {
    name: 'float max',
    value: typed('f', 3.4028234663852886e38),
    wire: '66 7f 7f ff ff',
    decoded: 3.4028234663852886e38,
  },
  { name: 'decimal -1.5', value: new Decimal(1, -15), wire: '44 01 ff ff ff f1', decoded: new Decimal(1, -15) },
  {
    name: 'decimal max',
    value: new Decimal(255, 2147483647),
    wire: '44 ff 7f ff ff ff',
    decoded: new Decimal(255, 2147483647),
  },
  {
    name: 'decimal min',
    value: typed('D', new Decimal(0, -2147483648)),
    wire: '44 00 80 00 00 00',
    decoded: new Decimal(0, -2147483648),
  },
  { name: 'empty string', value: '', wire: '53 00 00 00 00', decoded: '' },
  { name: 'UTF-8 string', value: 'hé', wire: '53 00 00 00 03 68 c3 a9', decoded: 'hé' },
  {
    name: 'long string from bytes',
    value: typed('S', Uint8Array.of(0x68, 0x69)),
    wire: '53 00 00 00 02 68 69',
    decoded: 'hi',
  },
  {
    name: 'Date',
    value: new Date(1_700_000_000_000),
    wire: '54 00 00 00 00 65 53 f1 00',
    decoded: new Date(1_700_000_000_000),
  },
  {
    name: 'Date with milliseconds',
    value: new Date(1_700_000_000_999),
    wire: '54 00 00 00 00 65 53 f1 00',
    decoded: new Date(1_700_000_000_000),
  },
  { name: 'epoch', value: new Date(0), wire: '54 00 00 00 00 00 00 00 00', decoded: new Date(0) },
  {
    name: 'typed timestamp',
    value: typed('T', 1_700_000_000),
    wire: '54 00 00 00 00 65 53 f1 00',
    decoded: new Date(1_700_000_000_000),
  },
  {
    name: 'latest Date timestamp',
    value: typed('T', 8_640_000_000_000),
    wire: '54 00 00 07 db a8 21 80 00',
    decoded: new Date(8.64e15),
  },
  {
    name: 'timestamp past Date',
    value: typed('T', 8_640_000_000_001n),
    wire: '54 00 00 07 db a8 21 80 01',
    decoded: typed('T', 8_640_000_000_001n),
  },
  {
    name: 'timestamp 2^64 - 1',
    value: typed('T', 2n ** 64n - 1n),
    wire: '54 ff ff ff ff ff ff ff ff',
    decoded: typed('T', 2n ** 64n - 1n),
  },
  { name: 'empty table', value: {}, wire: '46 00 00 00 00', decoded: {} },
  { name: 'empty array', value: [], wire: '41 00 00 00 00', decoded: [] },
  {
    name: 'byte array',
    value: Uint8Array.of(1, 2),
    wire: '78 00 00 00 02 01 02',
    decoded: Uint8Array.of(1, 2),
  },
  { name: 'empty byte array', value: new Uint8Array(0), wire: '78 00 00 00 00', decoded: new Uint8Array(0) },
  { name: 'null', value: null, wire: '56', decoded: null },
  { name: 'undefined', value: undefined, wire: '56', decoded: null },
  { name: 'typed void', value: typed('V', null), wire: '56', decoded: null },
  {
    name: 'array of table and array',
    value: [{ a: 1 }, [true]],
    wire: '41 00 00 00 13  46 00 00 00 07 01 61 49 00 00 00 01  41 00 00 00 02 74 01',
    decoded: [{ a: 1 }, [true]],
  },
  {
    name: 'typed table and array',
    value: typed('F', { v: typed('A', [null]) }),
    wire: '46 00 00 00 08 01 76 41 00 00 00 01 56',
    decoded: { v: [null] },
  },
];

describe('field values', () => {
  test.each(valueCases)('$name encodes as hand-computed bytes', ({ value, wire }) => {
    const bytes = encode((writer) => writeFieldValue(writer, value));

    expect(toHex(bytes)).toBe(toHex(fromHex(wire)));
  });

  test.each(valueCases)('$name decodes three ways', ({ wire, decoded }) => {
    expectDecodes(fromHex(wire), readFieldValue, decoded);
  });

  test('negative zero stays negative', () => {
    const decoded = readFieldValue(new Reader(fromHex('64 80 00 00 00 00 00 00 00')));

    expect(Object.is(decoded, -0)).toBe(true);
  });

  test('decimal -1.5 converts to a number', () => {
    const decoded = readFieldValue(new Reader(fromHex('44 01 ff ff ff f1')));

    expect(decoded).toBeInstanceOf(Decimal);
    expect((decoded as Decimal).toNumber()).toBe(-1.5);
  });

  test('timestamp 2^64 - 1 round-trips as TypedValue', () => {
    const bytes = fromHex('54 ff ff ff ff ff ff ff ff');

    const decoded = readFieldValue(new Reader(bytes));

    expect(decoded).toBeInstanceOf(TypedValue);
    expect((decoded as TypedValue).type).toBe('T');
    expect((decoded as TypedValue).value).toBe(18446744073709551615n);
    expect(toHex(encode((writer) => writeFieldValue(writer, decoded)))).toBe(toHex(bytes));
  });

  test('byte array decodes as a copy', () => {
    const bytes = fromHex('78 00 00 00 02 01 02');

    const decoded = readFieldValue(new Reader(bytes)) as Uint8Array;
    bytes.fill(0);

    expect(decoded.buffer).not.toBe(bytes.buffer);
    expect([...decoded]).toEqual([1, 2]);
  });

  test('Node Buffer encodes as byte array', () => {
    const bytes = encode((writer) => writeFieldValue(writer, Buffer.from([7])));

    expect(toHex(bytes)).toBe('78 00 00 00 01 07');
  });

  test('long string keeps a leading BOM', () => {
    const bytes = encode((writer) => writeFieldValue(writer, '\uFEFFx'));

    expect(readFieldValue(new Reader(bytes))).toBe('\uFEFFx');
  });
});

/** Values that other peers may send and that decode, but that Warren refuses to encode. */
const decodeOnlyCases = [
  { name: 'NaN', wire: '64 7f f8 00 00 00 00 00 00', decoded: Number.NaN },
  { name: 'Infinity', wire: '64 7f f0 00 00 00 00 00 00', decoded: Infinity },
  { name: '-Infinity', wire: '64 ff f0 00 00 00 00 00 00', decoded: -Infinity },
  { name: 'float infinity', wire: '66 7f 80 00 00', decoded: Infinity },
];

describe('values only decoded', () => {
  test.each(decodeOnlyCases)('$name decodes three ways', ({ wire, decoded }) => {
    expectDecodes(fromHex(wire), readFieldValue, decoded);
  });
});

describe('field tables', () => {
  test('{a: 1} matches hand-computed bytes', () => {
    const bytes = encode((writer) => writeTable(writer, { a: 1 }));

    expect(toHex(bytes)).toBe('00 00 00 07 01 61 49 00 00 00 01');
  });

  test('empty table is four zero bytes', () => {
    const bytes = encode((writer) => writeTable(writer, {}));

    expect(toHex(bytes)).toBe('00 00 00 00');
  });

  test('table with several keys matches bytes', () => {
    const bytes = encode((writer) => writeTable(writer, { b: true, n: null, s: 'hi' }));

    expect(toHex(bytes)).toBe('00 00 00 10 01 62 74 01 01 6e 56 01 73 53 00 00 00 02 68 69');
  });

  test('table decodes three ways', () => {
    expectDecodes(fromHex('00 00 00 07 01 61 49 00 00 00 01'), readTable, { a: 1 });
    expectDecodes(fromHex('00 00 00 00'), readTable, {});
  });

  test('table of every value case decodes three ways', () => {
    const table: FieldTable = {};
    const expected: FieldTable = {};
    for (const { name, value, decoded } of valueCases) {
      table[name] = value;
      expected[name] = decoded;
    }

    const bytes = encode((writer) => writeTable(writer, table));

    expectDecodes(bytes, readTable, expected);
  });

  test('array decodes three ways', () => {
    const bytes = encode((writer) => writeArray(writer, [1, 'x']));

    expect(toHex(bytes)).toBe('00 00 00 0b 49 00 00 00 01 53 00 00 00 01 78');
    expectDecodes(bytes, readArray, [1, 'x']);
  });

  test('array holes encode as void', () => {
    // eslint-disable-next-line no-sparse-arrays
    const array: FieldArray = [1, , 2];

    const bytes = encode((writer) => writeArray(writer, array));

    expect(readArray(new Reader(bytes))).toStrictEqual([1, null, 2]);
  });

  test('undefined value encodes as void', () => {
    const bytes = encode((writer) => writeTable(writer, { gone: undefined }));

    expect(toHex(bytes)).toBe('00 00 00 06 04 67 6f 6e 65 56');
    expect(readTable(new Reader(bytes))).toStrictEqual({ gone: null });
  });

  test('only own enumerable string keys encode', () => {
    const table: FieldTable = { kept: 1 };
    Object.defineProperty(table, 'hidden', { value: 2, enumerable: false });
    (table as Record<symbol, unknown>)[Symbol('symbol')] = 3;

    const bytes = encode((writer) => writeTable(writer, table));

    expect(readTable(new Reader(bytes))).toStrictEqual({ kept: 1 });
  });

  test('null-prototype object encodes as table', () => {
    const table = Object.create(null) as FieldTable;
    table.a = 1;

    const bytes = encode((writer) => writeTable(writer, table));

    expect(toHex(bytes)).toBe('00 00 00 07 01 61 49 00 00 00 01');
  });

  test('nested arrays of tables round-trip', () => {
    const table: FieldTable = {
      list: [[{ a: [{ b: 'c' }, []] }], [], [{}]],
      inner: { deeper: { deepest: [1n << 62n, new Decimal(2, 314)] } },
    };

    const bytes = encode((writer) => writeTable(writer, table));

    expectDecodes(bytes, readTable, table);
  });

  test('later duplicate key wins', () => {
    const bytes = fromHex('00 00 00 0e 01 61 49 00 00 00 01 01 61 49 00 00 00 02');

    expect(readTable(new Reader(bytes))).toStrictEqual({ a: 2 });
  });
});

describe('short-string keys', () => {
  test('empty key round-trips', () => {
    const bytes = encode((writer) => writeTable(writer, { '': 1 }));

    expect(toHex(bytes)).toBe('00 00 00 06 00 49 00 00 00 01');
    expectDecodes(bytes, readTable, { '': 1 });
  });

  test('255-byte multibyte key round-trips', () => {
    const key = '€'.repeat(85);
    expect(utf8Length(key)).toBe(255);

    const bytes = encode((writer) => writeTable(writer, { [key]: 1 }));

    expect(toHex(bytes.subarray(0, 8))).toBe('00 00 01 05 ff e2 82 ac');
    expectDecodes(bytes, readTable, { [key]: 1 });
  });

  test.each([
    { name: '128 × é', key: 'é'.repeat(128) },
    { name: '256 ASCII letters', key: 'k'.repeat(256) },
    { name: '86 × €', key: '€'.repeat(86) },
  ])('256-byte key rejected: $name', ({ key }) => {
    expect(utf8Length(key)).toBeGreaterThan(255);
    const writer = new Writer();
    writer.begin();
    writer.uint8(0xaa);
    const earlier = writer.finish();

    writer.begin();
    writer.uint32(0xbbbbbbbb);
    const error = catchError(() => writeTable(writer, { ok: 1, [key]: 1 }));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('SHORTSTR_TOO_LONG');
    writer.begin();
    writeTable(writer, { a: 1 });
    expect(toHex(writer.finish())).toBe('00 00 00 07 01 61 49 00 00 00 01');
    expect(toHex(earlier)).toBe('aa');
  });
});

describe('prototype keys', () => {
  // {"__proto__": {"polluted": true}}
  const protoBytes = fromHex(
    '00 00 00 1a 09 5f 5f 70 72 6f 74 6f 5f 5f 46 00 00 00 0b 08 70 6f 6c 6c 75 74 65 64 74 01',
  );

  test('__proto__ key decodes as own property', () => {
    const table = readTable(new Reader(protoBytes));

    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    expect(Object.keys(table)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(table, '__proto__')?.value).toStrictEqual({ polluted: true });
    expect((table as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('own __proto__ key encodes', () => {
    const table = JSON.parse('{"__proto__": {"polluted": true}}') as FieldTable;

    const bytes = encode((writer) => writeTable(writer, table));

    expect(toHex(bytes)).toBe(toHex(protoBytes));
    expect(readTable(new Reader(bytes))).toStrictEqual(table);
  });

  test('Object.prototype names stay plain keys', () => {
    const table: FieldTable = { constructor: 1, toString: 'x', hasOwnProperty: true, valueOf: null };

    const decoded = readTable(new Reader(encode((writer) => writeTable(writer, table))));

    expect(decoded).toStrictEqual(table);
    expect(Object.keys(decoded)).toEqual(['constructor', 'toString', 'hasOwnProperty', 'valueOf']);
  });
});

interface EncodeErrorCase {
  name: string;
  value: unknown;
  code: string;
  /** Text that the message must contain besides the key. */
  mentions: string[];
}

const encodeErrorCases: EncodeErrorCase[] = [
  { name: 'int8 200', value: typed('b', 200), code: 'VALUE_OUT_OF_RANGE', mentions: ['200', "'b'"] },
  { name: 'int8 -129', value: typed('b', -129), code: 'VALUE_OUT_OF_RANGE', mentions: ['-129', "'b'"] },
  { name: 'uint8 -1', value: typed('B', -1), code: 'VALUE_OUT_OF_RANGE', mentions: ['-1', "'B'"] },
  { name: 'uint8 256', value: typed('B', 256), code: 'VALUE_OUT_OF_RANGE', mentions: ['256', "'B'"] },
  { name: 'int16 32768', value: typed('s', 32768), code: 'VALUE_OUT_OF_RANGE', mentions: ['32768', "'s'"] },
  { name: 'uint16 65536', value: typed('u', 65536), code: 'VALUE_OUT_OF_RANGE', mentions: ['65536', "'u'"] },
  { name: 'int32 2^31', value: typed('I', 2 ** 31), code: 'VALUE_OUT_OF_RANGE', mentions: ['2147483648', "'I'"] },
  { name: 'int32 1.5', value: typed('I', 1.5), code: 'VALUE_OUT_OF_RANGE', mentions: ['1.5', "'I'"] },
  { name: 'int32 NaN', value: typed('I', Number.NaN), code: 'VALUE_OUT_OF_RANGE', mentions: ['NaN', "'I'"] },
  { name: 'NaN', value: Number.NaN, code: 'VALUE_OUT_OF_RANGE', mentions: ['NaN', "'d'"] },
  { name: 'Infinity', value: Infinity, code: 'VALUE_OUT_OF_RANGE', mentions: ['Infinity', "'d'"] },
  { name: 'double -Infinity', value: typed('d', -Infinity), code: 'VALUE_OUT_OF_RANGE', mentions: ['-Infinity', "'d'"] },
  { name: 'float NaN', value: typed('f', Number.NaN), code: 'VALUE_OUT_OF_RANGE', mentions: ['NaN', "'f'"] },
  { name: 'uint32 -1', value: typed('i', -1), code: 'VALUE_OUT_OF_RANGE', mentions: ['-1', "'i'"] },
  { name: 'uint32 2^32', value: typed('i', 2 ** 32), code: 'VALUE_OUT_OF_RANGE', mentions: ['4294967296', "'i'"] },
  {
    name: 'int64 number 2^63',
    value: typed('l', 2 ** 63),
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['9223372036854776000', "'l'"],
  },
  { name: 'int64 0.5', value: typed('l', 0.5), code: 'VALUE_OUT_OF_RANGE', mentions: ['0.5', "'l'"] },
  {
    name: 'typed bigint 2^63',
    value: typed('l', 2n ** 63n),
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['9223372036854775808n', "'l'"],
  },
  {
    name: 'bigint 2^63',
    value: 2n ** 63n,
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['9223372036854775808n', "'l'"],
  },
  {
    name: 'bigint -(2^63) - 1',
    value: -(2n ** 63n) - 1n,
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['-9223372036854775809n'],
  },
  { name: 'float 1e40', value: typed('f', 1e40), code: 'VALUE_OUT_OF_RANGE', mentions: ['1e+40', "'f'"] },
  { name: 'decimal scale 256', value: new Decimal(256, 1), code: 'VALUE_OUT_OF_RANGE', mentions: ['scale 256'] },
  { name: 'decimal scale -1', value: new Decimal(-1, 1), code: 'VALUE_OUT_OF_RANGE', mentions: ['scale -1'] },
  { name: 'decimal scale 1.5', value: new Decimal(1.5, 1), code: 'VALUE_OUT_OF_RANGE', mentions: ['scale 1.5'] },
  {
    name: 'decimal value 2^31',
    value: new Decimal(0, 2 ** 31),
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['value 2147483648'],
  },
  { name: 'decimal value 0.5', value: new Decimal(0, 0.5), code: 'VALUE_OUT_OF_RANGE', mentions: ['value 0.5'] },
  { name: 'invalid Date', value: new Date(Number.NaN), code: 'VALUE_OUT_OF_RANGE', mentions: ['Invalid Date'] },
  { name: 'Date before 1970', value: new Date(-1), code: 'VALUE_OUT_OF_RANGE', mentions: ['1969', "'T'"] },
  { name: 'timestamp -1', value: typed('T', -1), code: 'VALUE_OUT_OF_RANGE', mentions: ['-1', "'T'"] },
  { name: 'timestamp 1.5', value: typed('T', 1.5), code: 'VALUE_OUT_OF_RANGE', mentions: ['1.5', "'T'"] },
  {
    name: 'timestamp 2^64',
    value: typed('T', 2n ** 64n),
    code: 'VALUE_OUT_OF_RANGE',
    mentions: ['18446744073709551616n', "'T'"],
  },
  { name: 'function', value: () => 1, code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['function'] },
  { name: 'symbol', value: Symbol('s'), code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['symbol'] },
  { name: 'Map', value: new Map(), code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['Map'] },
  { name: 'class instance', value: new (class Point {})(), code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['Point'] },
  { name: 'Int16Array', value: new Int16Array(1), code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['Int16Array'] },
  { name: 'ArrayBuffer', value: new ArrayBuffer(1), code: 'FIELD_VALUE_UNSUPPORTED', mentions: ['ArrayBuffer'] },
  {
    name: 'string typed as int8',
    value: typed('b', '1' as never),
    code: 'FIELD_VALUE_UNSUPPORTED',
    mentions: ['string', "'b'"],
  },
  {
    name: 'string typed as bytes',
    value: typed('x', 'abc' as never),
    code: 'FIELD_VALUE_UNSUPPORTED',
    mentions: ['string', "'x'"],
  },
  {
    name: 'zero typed as void',
    value: typed('V', 0 as never),
    code: 'FIELD_VALUE_UNSUPPORTED',
    mentions: ['number', "'V'"],
  },
  {
    name: 'Map typed as table',
    value: typed('F', new Map() as never),
    code: 'FIELD_VALUE_UNSUPPORTED',
    mentions: ['Map', "'F'"],
  },
  { name: 'unknown tag', value: typed('z' as never, 1 as never), code: 'FIELD_TYPE_UNKNOWN', mentions: ['"z"'] },
  { name: 'two-letter tag', value: typed('bb' as never, 1 as never), code: 'FIELD_TYPE_UNKNOWN', mentions: ['"bb"'] },
];

describe('encoding errors', () => {
  test.each(encodeErrorCases)('$name rejected', ({ value, code, mentions }) => {
    const writer = new Writer();
    writer.begin();

    const error = catchError(() => writeTable(writer, { first: 'x', offending: value as FieldValue }));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    const argumentError = error as InvalidArgumentError;
    expect(argumentError.code).toBe(code);
    expect(argumentError.source).toBe('client');
    expect(argumentError.message).toContain('field "offending"');
    for (const text of mentions) expect(argumentError.message).toContain(text);
    writer.begin();
    writeTable(writer, { a: 1 });
    expect(toHex(writer.finish())).toBe('00 00 00 07 01 61 49 00 00 00 01');
  });

  test('array element error names index', () => {
    const error = catchError(() => encode((writer) => writeArray(writer, [1, (() => 1) as never])));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toContain('array element 1');
  });

  test('non-plain top-level table rejected', () => {
    const error = catchError(() => encode((writer) => writeTable(writer, new Map() as never)));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('FIELD_VALUE_UNSUPPORTED');
  });

  test('non-array top-level array rejected', () => {
    const error = catchError(() => encode((writer) => writeArray(writer, {} as never)));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('FIELD_VALUE_UNSUPPORTED');
  });

  test('circular table rejected', () => {
    const table: FieldTable = {};
    table.self = table;

    const error = catchError(() => encode((writer) => writeTable(writer, table)));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('FIELD_TABLE_TOO_DEEP');
  });
});

/** Builds `levels` tables nested through the key `k`, the outermost included. */
function nestedTables(levels: number): Uint8Array {
  let inner = new Uint8Array(4);
  for (let level = 1; level < levels; level++) {
    const outer = new Uint8Array(4 + 3 + inner.length);
    new DataView(outer.buffer).setUint32(0, 3 + inner.length);
    outer.set([0x01, 0x6b, 0x46], 4);
    outer.set(inner, 7);
    inner = outer;
  }
  return inner;
}

/** Builds the tagged value of `levels` empty arrays, each inside the one before. */
function nestedArrays(levels: number): Uint8Array {
  const bytes = new Uint8Array(levels * 5);
  const view = new DataView(bytes.buffer);
  for (let level = 0; level < levels; level++) {
    bytes[level * 5] = 0x41;
    view.setUint32(level * 5 + 1, (levels - 1 - level) * 5);
  }
  return bytes;
}

describe('nesting depth', () => {
  test('maximum depth is 64', () => {
    expect(MAX_FIELD_DEPTH).toBe(64);
  });

  test('64 nested tables decode', () => {
    const table = readTable(new Reader(nestedTables(64)));

    let depth = 1;
    let current: FieldValue = table;
    while ((current as FieldTable).k !== undefined) {
      current = (current as FieldTable).k;
      depth++;
    }
    expect(depth).toBe(64);
  });

  test('65 nested tables rejected', () => {
    const error = expectFrameError(() => readTable(new Reader(nestedTables(65))), 'FIELD_TABLE_TOO_DEEP');

    expect(error.message).toContain('64');
  });

  test('64 nested arrays decode as value', () => {
    const value = readFieldValue(new Reader(nestedArrays(64)));

    expect(Array.isArray(value)).toBe(true);
  });

  test('65 nested arrays rejected', () => {
    expectFrameError(() => readFieldValue(new Reader(nestedArrays(65))), 'FIELD_TABLE_TOO_DEEP');
  });

  test('hostile nesting cannot exhaust stack', () => {
    expectFrameError(() => readFieldValue(new Reader(nestedArrays(100_000))), 'FIELD_TABLE_TOO_DEEP');
  });

  test('encoder accepts 64 levels, rejects 65', () => {
    let table: FieldTable = {};
    for (let level = 1; level < 64; level++) table = { k: table };

    const bytes = encode((writer) => writeTable(writer, table));
    expect(toHex(bytes)).toBe(toHex(nestedTables(64)));

    const error = catchError(() => encode((writer) => writeTable(writer, { k: table })));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('FIELD_TABLE_TOO_DEEP');
  });
});

describe('decoding errors', () => {
  test('unknown tag names character and byte', () => {
    const error = expectFrameError(() => readFieldValue(new Reader(fromHex('5a'))), 'FIELD_TYPE_UNKNOWN');

    expect(error.message).toContain("'Z'");
    expect(error.message).toContain('0x5a');
  });

  test('unprintable unknown tag shows hex', () => {
    const error = expectFrameError(() => readFieldValue(new Reader(fromHex('00'))), 'FIELD_TYPE_UNKNOWN');

    expect(error.message).toContain('0x00');
  });

  test('unknown tag inside table rejected', () => {
    const bytes = fromHex('00 00 00 07 01 61 55 00 00 00 01');

    const error = expectFrameError(() => readTable(new Reader(bytes)), 'FIELD_TYPE_UNKNOWN');

    expect(error.message).toContain("'U'");
  });

  test('table size beyond buffer rejected', () => {
    expectFrameError(() => readTable(new Reader(fromHex('00 00 00 10 01 61 56'))), 'FRAME_TRUNCATED');
    expectFrameError(() => readTable(new Reader(fromHex('ff ff ff ff'))), 'FRAME_TRUNCATED');
  });

  test('entry overrunning table size rejected', () => {
    // The table claims 5 bytes, but its entry needs 7. The 2 bytes after the table are not its own.
    const bytes = fromHex('00 00 00 05 01 61 49 00 00 00 01');

    expectFrameError(() => readTable(new Reader(bytes)), 'FRAME_TRUNCATED');
  });

  test('element overrunning array size rejected', () => {
    const bytes = fromHex('00 00 00 03 49 00 00 00 01');

    expectFrameError(() => readArray(new Reader(bytes)), 'FRAME_TRUNCATED');
  });

  test('nested table overrunning parent rejected', () => {
    // The outer table contains 7 bytes, but the inner table claims 5 bytes where none remain.
    const bytes = fromHex('00 00 00 07 01 61 46 00 00 00 05  01 62 56 01 63 56');

    expectFrameError(() => readTable(new Reader(bytes)), 'FRAME_TRUNCATED');
  });

  test('key longer than table rejected', () => {
    const bytes = fromHex('00 00 00 02 05 61  61 61 61 61 56');

    expectFrameError(() => readTable(new Reader(bytes)), 'FRAME_TRUNCATED');
  });

  test('hostile string length rejected', () => {
    const bytes = fromHex('00 00 00 08 01 61 53 ff ff ff ff 00');

    expectFrameError(() => readTable(new Reader(bytes)), 'FRAME_TRUNCATED');
  });

  test('reader inside a larger payload', () => {
    const bytes = fromHex('ee ee 00 00 00 07 01 61 49 00 00 00 01 ee');
    const reader = new Reader(bytes, 2, 13);

    expect(readTable(reader)).toStrictEqual({ a: 1 });
    expect(reader.offset).toBe(13);
    expectFrameError(() => readTable(new Reader(bytes, 2, 12)), 'FRAME_TRUNCATED');
  });
});

describe('writer slab copies', () => {
  // A 32-byte slab that already contains a 20-byte finished message forces the writer to move the
  // message in progress to a new slab while the size fields of the enclosing tables are unpatched.
  test('table survives a slab copy mid-write', () => {
    const table: FieldTable = {
      outer: 'x'.repeat(10),
      nested: { inner: 'y'.repeat(40), list: [1, 'z'.repeat(50), { bytes: new Uint8Array(30) }] },
      after: 2n ** 60n,
    };
    const writer = new Writer(32);
    writer.begin();
    writer.bytes(new Uint8Array(20));
    const earlier = writer.finish();

    writer.begin();
    writer.uint16(0xabcd);
    writeTable(writer, table);
    const bytes = writer.finish();

    expect(bytes.buffer).not.toBe(earlier.buffer);
    expect(toHex(bytes.subarray(2))).toBe(toHex(encode((reference) => writeTable(reference, table))));
    expect(readTable(new Reader(bytes, 2))).toStrictEqual(table);
    expect(toHex(earlier)).toBe(toHex(new Uint8Array(20)));
  });
});

// Values whose decoded form equals the original under toStrictEqual.
const keyArbitrary = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), maxLength: 128 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 240, maxLength: 255 }),
    fc.constantFrom('', '__proto__', 'toString', 'hasOwnProperty'),
  )
  // toStrictEqual compares the `constructor` properties of two tables by identity, so an own
  // `constructor` key with an object value would fail it. The prototype-key tests cover that key.
  .filter((key) => key !== 'constructor' && utf8Length(key) <= 255);

const int64Number = (value: number): boolean => Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63;

const leafArbitrary: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.maxSafeInteger(),
  // Integers beyond the safe range that fit in 64 bits decode as bigints, so they are left out.
  // NaN and the infinities are rejected on encode, so the doubles are finite.
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => Number.isSafeInteger(value) || !int64Number(value)),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 16 }),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: -2147483648, max: 2147483647 }))
    .map(([scale, value]) => new Decimal(scale, value)),
  fc.integer({ min: 0, max: 8_640_000_000_000 }).map((seconds) => new Date(seconds * 1000)),
  fc.bigInt({ min: 8_640_000_000_001n, max: 2n ** 64n - 1n }).map((seconds) => typed('T', seconds)),
);

const { table: tableArbitrary } = fc.letrec<{ value: FieldValue; table: FieldTable; array: FieldArray }>(
  (tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafArbitrary, tie('table'), tie('array')),
    table: fc.dictionary(keyArbitrary, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    array: fc.array(tie('value'), { maxLength: 6 }),
  }),
);

/** Typed values paired with what they decode to. */
const typedPairArbitrary: fc.Arbitrary<[FieldValue, FieldValue]> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((value): [FieldValue, FieldValue] => [typed('b', value), value]),
  fc.integer({ min: 0, max: 255 }).map((value): [FieldValue, FieldValue] => [typed('B', value), value]),
  fc.integer({ min: -32768, max: 32767 }).map((value): [FieldValue, FieldValue] => [typed('s', value), value]),
  fc.integer({ min: 0, max: 65535 }).map((value): [FieldValue, FieldValue] => [typed('u', value), value]),
  fc.integer().map((value): [FieldValue, FieldValue] => [typed('I', value), value]),
  fc.integer({ min: 0, max: 4294967295 }).map((value): [FieldValue, FieldValue] => [typed('i', value), value]),
  fc.maxSafeInteger().map((value): [FieldValue, FieldValue] => [typed('l', value), value]),
  fc
    .double({ noNaN: true, noDefaultInfinity: true, min: -3.4e38, max: 3.4e38 })
    .map((value): [FieldValue, FieldValue] => [typed('f', Math.fround(value)), Math.fround(value)]),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value): [FieldValue, FieldValue] => [typed('d', value), value]),
  fc
    .string({ unit: 'binary' })
    .map((text): [FieldValue, FieldValue] => [typed('S', textEncoder.encode(text)), text]),
);

describe('round-trip properties', () => {
  test('decode(encode(table)) equals table', () => {
    fc.assert(
      fc.property(tableArbitrary, (table) => {
        const bytes = encode((writer) => writeTable(writer, table));

        const reader = new Reader(bytes);
        expect(readTable(reader)).toStrictEqual(table);
        expect(reader.offset).toBe(bytes.length);
      }),
    );
  });

  test('typed values decode to their numbers', () => {
    fc.assert(
      fc.property(typedPairArbitrary, ([value, decoded]) => {
        const bytes = encode((writer) => writeFieldValue(writer, value));

        expect(readFieldValue(new Reader(bytes))).toStrictEqual(decoded);
      }),
    );
  });

  test('output is independent of slab size and position', () => {
    fc.assert(
      fc.property(
        tableArbitrary,
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 0, max: 64 }),
        (table, slabSize, earlierLength) => {
          const writer = new Writer(slabSize);
          writer.begin();
          writer.bytes(new Uint8Array(earlierLength));
          writer.finish();

          writer.begin();
          writeTable(writer, table);
          const bytes = writer.finish();

          expect(toHex(bytes)).toBe(toHex(encode((reference) => writeTable(reference, table))));
        },
      ),
    );
  });
});
