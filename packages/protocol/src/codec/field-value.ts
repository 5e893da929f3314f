/**
 * Values of AMQP field tables and arrays, with the type tags that RabbitMQ uses.
 *
 * The tags follow RabbitMQ's errata to the 0-9-1 spec rather than the spec itself:
 * `s` is a signed 16-bit integer, `l` a signed 64-bit integer, `x` a byte array and `V` void.
 */

/** Type tags of field values, keyed by a readable name. */
export const FieldType = {
  boolean: 't',
  int8: 'b',
  uint8: 'B',
  int16: 's',
  uint16: 'u',
  int32: 'I',
  uint32: 'i',
  int64: 'l',
  float: 'f',
  double: 'd',
  decimal: 'D',
  longstr: 'S',
  timestamp: 'T',
  table: 'F',
  array: 'A',
  bytes: 'x',
  void: 'V',
} as const;

export type FieldType = (typeof FieldType)[keyof typeof FieldType];

/**
 * A decimal number: `value` × 10^-`scale`. The scale is an octet (0 to 255) and the value a
 * signed 32-bit integer, so `new Decimal(1, -15)` is -1.5.
 */
export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}

  toNumber(): number {
    return this.value / 10 ** this.scale;
  }

  toString(): string {
    return `${this.value}e-${this.scale}`;
  }
}

/**
 * A value with an explicit type tag, used to force an encoding (`typed('f', 1.5)` sends a
 * float instead of a double) and returned by the decoder for values that have no native
 * JavaScript form, such as a timestamp outside the range of `Date`.
 */
export class TypedValue<T extends FieldType = FieldType> {
  constructor(
    readonly type: T,
    readonly value: TypedValueOf[T],
  ) {}
}

/** The JavaScript value that `typed()` accepts for each type tag. */
export interface TypedValueOf {
  t: boolean;
  b: number;
  B: number;
  s: number;
  u: number;
  I: number;
  i: number;
  l: number | bigint;
  f: number;
  d: number;
  D: Decimal;
  S: string | Uint8Array;
  /** Seconds since the Unix epoch, or a `Date`. */
  T: number | bigint | Date;
  F: FieldTable;
  A: FieldArray;
  x: Uint8Array;
  V: null;
}

/** Forces the encoding of a field value, for example `typed('l', 5)` for a 64-bit integer. */
export function typed<T extends FieldType>(type: T, value: TypedValueOf[T]): TypedValue<T> {
  return new TypedValue(type, value);
}

/**
 * A value in a field table or array.
 *
 * Encoding of untyped values:
 * - `boolean` as `t`;
 * - an integer `number` as `I` when it fits in 32 bits, else as `l` when it fits in 64 bits;
 * - any other finite `number` (fractions, -0, integers beyond 64 bits) as `d`;
 * - `bigint` as `l`, `string` as `S`, `Uint8Array` as `x`, `Date` as `T` in whole seconds,
 *   `Decimal` as `D`, an array as `A`, a plain object as `F`, `null` and `undefined` as `V`.
 *
 * NaN and the infinities are rejected, typed or not, because RabbitMQ closes the connection
 * when it receives one.
 *
 * Decoding: every integer tag gives a `number`, except a 64-bit value beyond
 * `Number.MAX_SAFE_INTEGER`, which gives a `bigint`. `T` gives a `Date`, or a
 * `TypedValue<'T'>` holding a `bigint` of seconds when `Date` cannot represent it.
 */
export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Decimal
  | TypedValue
  | FieldArray
  | FieldTable
  | null
  | undefined;

export type FieldArray = FieldValue[];

export interface FieldTable {
  [key: string]: FieldValue;
}
