import {
  type BasicProperties,
  type FieldArray,
  type FieldTable,
  type FieldType,
  type FieldValue,
  Reader,
  TypedValue,
  decodeBasicPropertiesBytes,
  readFieldValue,
  readTable,
} from '@warren/protocol';

const TAG_TABLE = 0x46; // 'F'
const TAG_ARRAY = 0x41; // 'A'
const TAG_LONGSTR = 0x53; // 'S'

/** Property flags of the two short strings that precede `headers` in a property block. */
const CONTENT_TYPE_FLAG = 0x8000;
const CONTENT_ENCODING_FLAG = 0x4000;

/**
 * Decodes a property block made by `encodeBasicPropertiesBytes` into properties that publish as
 * the same bytes.
 *
 * `decodeBasicPropertiesBytes` alone drops the type tag of each header value: an int16, a
 * float and an int64 all become a `number`, and publishing that number again would send it as
 * an int32 or a double. So this function reads the headers a second time and wraps every
 * scalar value in a `TypedValue` with the tag it arrived with. Long strings are kept as bytes,
 * so text that is not valid UTF-8 is not replaced either.
 *
 * @throws FrameError when `bytes` is not a valid property block.
 */
export function decodePublishProperties(bytes: Uint8Array): BasicProperties {
  const properties = decodeBasicPropertiesBytes(bytes);
  if (properties.headers === undefined) return properties;

  // The block was read once already, so every length below is known to be in bounds.
  const reader = new Reader(bytes);
  const flags = reader.uint16();
  if ((flags & CONTENT_TYPE_FLAG) !== 0) reader.shortstr();
  if ((flags & CONTENT_ENCODING_FLAG) !== 0) reader.shortstr();
  return { ...properties, headers: readTypedTable(reader) };
}

/**
 * Decodes a field table encoded by `writeTable`, such as the arguments of a method sent from
 * another thread, wrapping every scalar value in a `TypedValue` with the tag it arrived with, so
 * that sending it again produces the same bytes.
 *
 * @throws FrameError when `bytes` is not a valid field table.
 */
export function decodeTypedTable(bytes: Uint8Array): FieldTable {
  // A full decode first validates every length, which the typed reading below relies on.
  readTable(new Reader(bytes));
  return readTypedTable(new Reader(bytes));
}

function readTypedTable(reader: Reader): FieldTable {
  const outerEnd = enterBody(reader);
  const table: FieldTable = {};
  while (reader.offset < reader.end) {
    const key = reader.shortstr();
    // A plain assignment to `__proto__` would replace the table's prototype instead.
    Object.defineProperty(table, key, { value: readTypedValue(reader), writable: true, enumerable: true, configurable: true });
  }
  reader.end = outerEnd;
  return table;
}

function readTypedArray(reader: Reader): FieldArray {
  const outerEnd = enterBody(reader);
  const array: FieldArray = [];
  while (reader.offset < reader.end) array.push(readTypedValue(reader));
  reader.end = outerEnd;
  return array;
}

function readTypedValue(reader: Reader): FieldValue {
  const tag = reader.bytes[reader.offset]!;
  switch (tag) {
    case TAG_TABLE:
      reader.offset++;
      return readTypedTable(reader);
    case TAG_ARRAY:
      reader.offset++;
      return readTypedArray(reader);
    case TAG_LONGSTR:
      reader.offset++;
      return new TypedValue('S', reader.longstrBytes());
  }

  const value = readFieldValue(reader);
  // A timestamp beyond the range of `Date` is already a TypedValue.
  if (value instanceof TypedValue) return value;
  return new TypedValue(String.fromCharCode(tag) as FieldType, value as never);
}

/** Reads a 32-bit size and narrows `reader.end` to it. Returns the end to restore afterwards. */
function enterBody(reader: Reader): number {
  const size = reader.uint32();
  const outerEnd = reader.end;
  reader.end = reader.offset + size;
  return outerEnd;
}
