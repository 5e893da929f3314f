/**
 * Encoding and decoding of AMQP field tables, field arrays and tagged field values.
 *
 * The tags and the mapping between JavaScript values and tags are documented in
 * `field-value.ts`. A table and an array are each a 32-bit byte size followed by their entries.
 * A table entry is a short-string key and a tagged value, and an array entry is a tagged value.
 */
import { FrameError, InvalidArgumentError } from '../errors.js';
import { Decimal, TypedValue, type FieldArray, type FieldTable, type FieldValue } from './field-value.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

/**
 * Maximum nesting of tables and arrays, counting the outermost one, that the encoder writes and
 * the decoder reads. The cap keeps hostile input from exhausting the stack.
 */
export const MAX_FIELD_DEPTH = 64;

/** AMQP reply code for a frame whose fields cannot be parsed (spec constant `syntax-error`). */
const SYNTAX_ERROR = 502;

const TWO_TO_63 = 9223372036854775808;
const TWO_TO_64 = 18446744073709551616;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const UINT32_MAX = 4294967295;

/** Largest number of seconds that a `Date` can hold, because ECMAScript caps time values at ±8.64e15 ms. */
const MAX_DATE_SECONDS = 8.64e12;

// Type tags as octets, so that encoding and decoding switch on a number rather than a string.
const TAG_BOOLEAN = 0x74; // 't'
const TAG_INT8 = 0x62; // 'b'
const TAG_UINT8 = 0x42; // 'B'
const TAG_INT16 = 0x73; // 's'
const TAG_UINT16 = 0x75; // 'u'
const TAG_INT32 = 0x49; // 'I'
const TAG_UINT32 = 0x69; // 'i'
const TAG_INT64 = 0x6c; // 'l'
const TAG_FLOAT = 0x66; // 'f'
const TAG_DOUBLE = 0x64; // 'd'
const TAG_DECIMAL = 0x44; // 'D'
const TAG_LONGSTR = 0x53; // 'S'
const TAG_TIMESTAMP = 0x54; // 'T'
const TAG_TABLE = 0x46; // 'F'
const TAG_ARRAY = 0x41; // 'A'
const TAG_BYTES = 0x78; // 'x'
const TAG_VOID = 0x56; // 'V'

/** The key or array index of a value, used only in error messages. */
type Field = string | number | undefined;

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * Writes a field table: its 32-bit byte size, then each own enumerable string key of `table`
 * as a short string followed by its tagged value. Keys whose value is `undefined` are written
 * as void, like `null`.
 *
 * @throws InvalidArgumentError with one of these codes. The writer's next `begin()` discards
 *   the partial output.
 *   - `SHORTSTR_TOO_LONG`: a key is over 255 bytes of UTF-8.
 *   - `VALUE_OUT_OF_RANGE`: a value is outside the range of its type.
 *   - `FIELD_VALUE_UNSUPPORTED`: a value has no field type, or does not suit its `typed()` tag.
 *   - `FIELD_TYPE_UNKNOWN`: a `typed()` value has an unknown tag.
 *   - `FIELD_TABLE_TOO_DEEP`: tables and arrays nest more than `MAX_FIELD_DEPTH` levels, as they
 *     do in a circular reference.
 */
export function writeTable(writer: Writer, table: FieldTable): void {
  if (!isPlainObject(table)) throw wrongType(TAG_TABLE, table, undefined);

  writeTableAt(writer, table, 1);
}

/**
 * Writes a field array: its 32-bit byte size, then each element as a tagged value.
 * Holes and `undefined` elements are written as void.
 *
 * @throws InvalidArgumentError with the codes listed for `writeTable`.
 */
export function writeArray(writer: Writer, array: FieldArray): void {
  if (!Array.isArray(array)) throw wrongType(TAG_ARRAY, array, undefined);

  writeArrayAt(writer, array, 1);
}

/**
 * Writes one field value: its type tag, then the value.
 *
 * @throws InvalidArgumentError with the codes listed for `writeTable`.
 */
export function writeFieldValue(writer: Writer, value: FieldValue): void {
  writeValue(writer, value, undefined, 0);
}

function writeTableAt(writer: Writer, table: FieldTable, depth: number): void {
  if (depth > MAX_FIELD_DEPTH) throw tooDeepToEncode();

  const sizePosition = writer.position;
  writer.uint32(0);

  for (const key of Object.keys(table)) {
    writer.shortstr(key);
    writeValue(writer, table[key], key, depth);
  }

  patchSize(writer, sizePosition);
}

function writeArrayAt(writer: Writer, array: FieldArray, depth: number): void {
  if (depth > MAX_FIELD_DEPTH) throw tooDeepToEncode();

  const sizePosition = writer.position;
  writer.uint32(0);

  for (let index = 0; index < array.length; index++) {
    writeValue(writer, array[index], index, depth);
  }

  patchSize(writer, sizePosition);
}

/**
 * Fills in the 4-byte size field at `sizePosition`, a `writer.position` saved before writing it,
 * with the number of bytes written after that field.
 */
function patchSize(writer: Writer, sizePosition: number): void {
  const size = writer.position - sizePosition - 4;
  if (size > UINT32_MAX) {
    throw new InvalidArgumentError(
      `field table or array is ${size} bytes, but the maximum is ${UINT32_MAX}`,
      'VALUE_OUT_OF_RANGE',
    );
  }
  writer.patchUint32(sizePosition, size);
}

/** Writes an untyped value with the tag that `field-value.ts` documents for its kind. */
function writeValue(writer: Writer, value: unknown, field: Field, depth: number): void {
  let tag: number;
  switch (typeof value) {
    case 'string':
      tag = TAG_LONGSTR;
      break;
    case 'number':
      tag = numberTag(value);
      break;
    case 'boolean':
      tag = TAG_BOOLEAN;
      break;
    case 'bigint':
      tag = TAG_INT64;
      break;
    case 'undefined':
      tag = TAG_VOID;
      break;
    case 'object':
      if (value instanceof TypedValue) {
        writeTyped(writer, typeTag(value.type, field), value.value, field, depth);
        return;
      }
      tag = objectTag(value, field);
      break;
    default:
      throw unsupported(value, field);
  }
  writeTyped(writer, tag, value, field, depth);
}

/** Picks `I` for a 32-bit integer, `l` for a 64-bit integer, and `d` for any other number. */
function numberTag(value: number): number {
  if (Object.is(value, -0)) return TAG_DOUBLE;
  if ((value | 0) === value) return TAG_INT32;
  if (Number.isInteger(value) && value >= -TWO_TO_63 && value < TWO_TO_63) return TAG_INT64;
  return TAG_DOUBLE;
}

function objectTag(value: object | null, field: Field): number {
  if (value === null) return TAG_VOID;
  if (value instanceof Uint8Array) return TAG_BYTES;
  if (Array.isArray(value)) return TAG_ARRAY;
  if (value instanceof Date) return TAG_TIMESTAMP;
  if (value instanceof Decimal) return TAG_DECIMAL;
  if (isPlainObject(value)) return TAG_TABLE;
  throw unsupported(value, field);
}

/** Converts the tag of a `TypedValue` to its octet, rejecting anything but a known one-letter tag. */
function typeTag(type: unknown, field: Field): number {
  const tag = typeof type === 'string' && type.length === 1 ? type.charCodeAt(0) : -1;
  if (rangeOf(tag) !== undefined) return tag;

  throw new InvalidArgumentError(
    `${describeField(field)}: typed() got the unknown type tag ${showValue(type)}. ` +
      'Use one of t b B s u I i l f d D S T F A x V.',
    'FIELD_TYPE_UNKNOWN',
  );
}

/** Checks that `value` fits the type `tag`, then writes the tag and the value. */
function writeTyped(writer: Writer, tag: number, value: unknown, field: Field, depth: number): void {
  switch (tag) {
    case TAG_BOOLEAN:
      if (typeof value !== 'boolean') throw wrongType(tag, value, field);
      writer.uint8(tag);
      writer.uint8(value ? 1 : 0);
      return;

    case TAG_INT8: {
      const integer = checkInteger(tag, value, -128, 127, field);
      writer.uint8(tag);
      writer.int8(integer);
      return;
    }

    case TAG_UINT8: {
      const integer = checkInteger(tag, value, 0, 255, field);
      writer.uint8(tag);
      writer.uint8(integer);
      return;
    }

    case TAG_INT16: {
      const integer = checkInteger(tag, value, -32768, 32767, field);
      writer.uint8(tag);
      writer.int16(integer);
      return;
    }

    case TAG_UINT16: {
      const integer = checkInteger(tag, value, 0, 65535, field);
      writer.uint8(tag);
      writer.uint16(integer);
      return;
    }

    case TAG_INT32: {
      const integer = checkInteger(tag, value, -2147483648, 2147483647, field);
      writer.uint8(tag);
      writer.int32(integer);
      return;
    }

    case TAG_UINT32: {
      const integer = checkInteger(tag, value, 0, UINT32_MAX, field);
      writer.uint8(tag);
      writer.uint32(integer);
      return;
    }

    case TAG_INT64: {
      const integer = checkInt64(value, field);
      writer.uint8(tag);
      writer.int64(integer);
      return;
    }

    case TAG_FLOAT:
      if (typeof value !== 'number') throw wrongType(tag, value, field);
      // Rounding to float32 loses precision by design, but a finite value must not become
      // infinite. NaN and the infinities are rejected as for doubles.
      if (!Number.isFinite(Math.fround(value))) throw outOfRange(tag, value, field);
      writer.uint8(tag);
      writer.float32(value);
      return;

    case TAG_DOUBLE:
      if (typeof value !== 'number') throw wrongType(tag, value, field);
      // RabbitMQ 3.10 cannot decode NaN or an infinity and closes the whole connection with
      // 541 INTERNAL_ERROR, so they are rejected before anything is sent.
      if (!Number.isFinite(value)) throw outOfRange(tag, value, field);
      writer.uint8(tag);
      writer.float64(value);
      return;

    case TAG_DECIMAL: {
      const decimal = checkDecimal(value, field);
      writer.uint8(tag);
      writer.uint8(decimal.scale);
      writer.int32(decimal.value);
      return;
    }

    case TAG_LONGSTR:
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw wrongType(tag, value, field);
      writer.uint8(tag);
      writer.longstr(value);
      return;

    case TAG_TIMESTAMP: {
      const seconds = checkTimestamp(value, field);
      writer.uint8(tag);
      writer.uint64(seconds);
      return;
    }

    case TAG_TABLE:
      if (!isPlainObject(value)) throw wrongType(tag, value, field);
      writer.uint8(tag);
      writeTableAt(writer, value, depth + 1);
      return;

    case TAG_ARRAY:
      if (!Array.isArray(value)) throw wrongType(tag, value, field);
      writer.uint8(tag);
      writeArrayAt(writer, value as FieldValue[], depth + 1);
      return;

    case TAG_BYTES:
      if (!(value instanceof Uint8Array)) throw wrongType(tag, value, field);
      writer.uint8(tag);
      writer.uint32(value.length);
      writer.bytes(value);
      return;

    case TAG_VOID:
      if (value !== null && value !== undefined) throw wrongType(tag, value, field);
      writer.uint8(tag);
      return;

    default:
      // typeTag() and the untyped dispatch produce only the tags above.
      throw new Error(`unreachable: field type tag ${tag}`);
  }
}

function checkInteger(tag: number, value: unknown, min: number, max: number, field: Field): number {
  if (typeof value !== 'number') throw wrongType(tag, value, field);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(tag, value, field);
  return value;
}

function checkInt64(value: unknown, field: Field): number | bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) throw outOfRange(TAG_INT64, value, field);
    return value;
  }
  if (typeof value !== 'number') throw wrongType(TAG_INT64, value, field);
  // -2^63 and 2^63 are exact doubles, so these comparisons are exact.
  if (!Number.isInteger(value) || value < -TWO_TO_63 || value >= TWO_TO_63) {
    throw outOfRange(TAG_INT64, value, field);
  }
  return value;
}

function checkDecimal(value: unknown, field: Field): Decimal {
  if (!(value instanceof Decimal)) throw wrongType(TAG_DECIMAL, value, field);

  const { scale, value: mantissa } = value;
  const scaleFits = Number.isInteger(scale) && scale >= 0 && scale <= 255;
  const mantissaFits = Number.isInteger(mantissa) && (mantissa | 0) === mantissa;
  if (!scaleFits || !mantissaFits) throw outOfRange(TAG_DECIMAL, value, field);
  return value;
}

/** Returns the whole seconds since the Unix epoch that a timestamp field carries. */
function checkTimestamp(value: unknown, field: Field): number | bigint {
  if (value instanceof Date) {
    const seconds = Math.floor(value.getTime() / 1000);
    // The comparison also rejects NaN, the time of an invalid Date.
    if (!(seconds >= 0)) throw outOfRange(TAG_TIMESTAMP, value, field);
    return seconds;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > UINT64_MAX) throw outOfRange(TAG_TIMESTAMP, value, field);
    return value;
  }
  if (typeof value !== 'number') throw wrongType(TAG_TIMESTAMP, value, field);
  if (!Number.isInteger(value) || value < 0 || value >= TWO_TO_64) {
    throw outOfRange(TAG_TIMESTAMP, value, field);
  }
  return value;
}

/**
 * Tells whether `value` is a plain object: its prototype is `null`, or an object whose own
 * prototype is `null`, as `Object.prototype` of any realm is.
 */
function isPlainObject(value: unknown): value is FieldTable {
  if (typeof value !== 'object' || value === null) return false;

  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * Reads a field table and leaves `reader.offset` just past it.
 *
 * Entries are read within the table's declared size, and a later duplicate key replaces an
 * earlier one. A `__proto__` key becomes an own property and does not change the prototype.
 * Byte arrays (`x`) are views of the reader's bytes, not copies.
 *
 * @throws FrameError with reply code 502 and one of these codes:
 *   - `FRAME_TRUNCATED`: the table does not fit in the reader, or an entry does not fit in the
 *     table's declared size.
 *   - `FIELD_TYPE_UNKNOWN`: a value has an unknown type tag.
 *   - `FIELD_TABLE_TOO_DEEP`: tables and arrays nest more than `MAX_FIELD_DEPTH` levels.
 */
export function readTable(reader: Reader): FieldTable {
  return readTableAt(reader, 1);
}

/**
 * Reads a field array and leaves `reader.offset` just past it.
 *
 * @throws FrameError with the codes listed for `readTable`.
 */
export function readArray(reader: Reader): FieldArray {
  return readArrayAt(reader, 1);
}

/**
 * Reads one tagged field value and leaves `reader.offset` just past it.
 *
 * @throws FrameError with the codes listed for `readTable`.
 */
export function readFieldValue(reader: Reader): FieldValue {
  return readValue(reader, 0);
}

/**
 * Reads a 32-bit size, narrows `reader.end` to that many following bytes, and returns the end
 * to restore once they are read.
 */
function enterBody(reader: Reader): number {
  const size = reader.uint32();
  reader.need(size);
  const outerEnd = reader.end;
  reader.end = reader.offset + size;
  return outerEnd;
}

function readTableAt(reader: Reader, depth: number): FieldTable {
  if (depth > MAX_FIELD_DEPTH) throw tooDeepToDecode(reader.position);

  const outerEnd = enterBody(reader);
  const table: FieldTable = {};
  while (reader.offset < reader.end) {
    const key = reader.shortstr();
    const value = readValue(reader, depth);
    if (key === '__proto__') {
      // Assigning would call the Object.prototype setter and replace the table's prototype.
      Object.defineProperty(table, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      table[key] = value;
    }
  }

  reader.end = outerEnd;
  return table;
}

function readArrayAt(reader: Reader, depth: number): FieldArray {
  if (depth > MAX_FIELD_DEPTH) throw tooDeepToDecode(reader.position);

  const outerEnd = enterBody(reader);
  const array: FieldArray = [];
  while (reader.offset < reader.end) {
    array.push(readValue(reader, depth));
  }

  reader.end = outerEnd;
  return array;
}

/** Reads a tag and its value. `depth` is the number of tables and arrays around the value. */
function readValue(reader: Reader, depth: number): FieldValue {
  const tag = reader.uint8();
  switch (tag) {
    case TAG_BOOLEAN:
      return reader.uint8() !== 0;
    case TAG_INT8:
      return reader.int8();
    case TAG_UINT8:
      return reader.uint8();
    case TAG_INT16:
      return reader.int16();
    case TAG_UINT16:
      return reader.uint16();
    case TAG_INT32:
      return reader.int32();
    case TAG_UINT32:
      return reader.uint32();
    case TAG_INT64:
      return reader.int64();
    case TAG_FLOAT:
      return reader.float32();
    case TAG_DOUBLE:
      return reader.float64();
    case TAG_DECIMAL: {
      const scale = reader.uint8();
      return new Decimal(scale, reader.int32());
    }
    case TAG_LONGSTR:
      return reader.longstr();
    case TAG_TIMESTAMP:
      return readTimestamp(reader);
    case TAG_TABLE:
      return readTableAt(reader, depth + 1);
    case TAG_ARRAY:
      return readArrayAt(reader, depth + 1);
    case TAG_BYTES:
      // A copy, so the decoded table neither keeps the received chunk alive nor changes when an
      // adapter reuses that chunk's memory.
      return new Uint8Array(reader.longstrBytes());
    case TAG_VOID:
      return null;
    default:
      throw new FrameError(
        `unknown field value type ${showTag(tag)} at offset ${reader.position - 1}`,
        'FIELD_TYPE_UNKNOWN',
        SYNTAX_ERROR,
      );
  }
}

/** Reads a timestamp as a `Date`, or as a `TypedValue` of bigint seconds beyond the range of `Date`. */
function readTimestamp(reader: Reader): Date | TypedValue<'T'> {
  const seconds = reader.uint64();
  if (typeof seconds === 'number' && seconds <= MAX_DATE_SECONDS) return new Date(seconds * 1000);
  return new TypedValue('T', BigInt(seconds));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

function tooDeepToEncode(): InvalidArgumentError {
  return new InvalidArgumentError(
    `field tables and arrays nest more than ${MAX_FIELD_DEPTH} levels deep. Check for a circular reference.`,
    'FIELD_TABLE_TOO_DEEP',
  );
}

function tooDeepToDecode(offset: number): FrameError {
  return new FrameError(
    `field tables and arrays nest more than ${MAX_FIELD_DEPTH} levels deep at offset ${offset}`,
    'FIELD_TABLE_TOO_DEEP',
    SYNTAX_ERROR,
  );
}

function outOfRange(tag: number, value: unknown, field: Field): InvalidArgumentError {
  return new InvalidArgumentError(
    `${describeField(field)}: ${showValue(value)} is out of range for type ${showTag(tag)}, ` +
      `which takes ${rangeOf(tag)}`,
    'VALUE_OUT_OF_RANGE',
  );
}

function wrongType(tag: number, value: unknown, field: Field): InvalidArgumentError {
  return new InvalidArgumentError(
    `${describeField(field)}: type ${showTag(tag)} takes ${rangeOf(tag)}, not a value of type ${typeName(value)}`,
    'FIELD_VALUE_UNSUPPORTED',
  );
}

function unsupported(value: unknown, field: Field): InvalidArgumentError {
  return new InvalidArgumentError(
    `${describeField(field)}: a value of type ${typeName(value)} has no field type. Use a boolean, ` +
      'number, bigint, string, Uint8Array, Date, Decimal, typed() value, array, plain object or null.',
    'FIELD_VALUE_UNSUPPORTED',
  );
}

/** Describes the values that the type `tag` takes, or returns undefined for an unknown tag. */
function rangeOf(tag: number): string | undefined {
  switch (tag) {
    case TAG_BOOLEAN:
      return 'a boolean';
    case TAG_INT8:
      return 'an integer from -128 to 127';
    case TAG_UINT8:
      return 'an integer from 0 to 255';
    case TAG_INT16:
      return 'an integer from -32768 to 32767';
    case TAG_UINT16:
      return 'an integer from 0 to 65535';
    case TAG_INT32:
      return 'an integer from -2147483648 to 2147483647';
    case TAG_UINT32:
      return 'an integer from 0 to 4294967295';
    case TAG_INT64:
      return 'an integer or bigint from -(2^63) to 2^63 - 1';
    case TAG_FLOAT:
      return 'a number within the range of a 32-bit float';
    case TAG_DOUBLE:
      return 'a number';
    case TAG_DECIMAL:
      return 'a Decimal with an integer scale from 0 to 255 and a 32-bit signed integer value';
    case TAG_LONGSTR:
      return 'a string or a Uint8Array';
    case TAG_TIMESTAMP:
      return 'a Date from 1970 on, or whole seconds from 0 to 2^64 - 1 as a number or bigint';
    case TAG_TABLE:
      return 'a plain object';
    case TAG_ARRAY:
      return 'an array';
    case TAG_BYTES:
      return 'a Uint8Array';
    case TAG_VOID:
      return 'null';
    default:
      return undefined;
  }
}

function describeField(field: Field): string {
  if (field === undefined) return 'field value';
  if (typeof field === 'number') return `array element ${field}`;
  return `field ${JSON.stringify(truncate(field))}`;
}

/** Shows a tag as `'b' (0x62)`, or only as hex when it is not a printable ASCII character. */
function showTag(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(2, '0')}`;
  return tag > 0x20 && tag < 0x7f ? `'${String.fromCharCode(tag)}' (${hex})` : hex;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Decimal) return `Decimal(scale ${value.scale}, value ${value.value})`;
  return typeName(value);
}

/** Names the type of a value for error messages: `string`, `function`, `Map`, `Array`. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;

  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === null) return 'object with a null prototype';
  const constructor: unknown = (prototype as { constructor?: unknown }).constructor;
  const name = typeof constructor === 'function' ? constructor.name : '';
  return name === '' ? 'object' : name;
}

function truncate(text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}...` : text;
}
