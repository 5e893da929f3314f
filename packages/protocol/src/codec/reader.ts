import { FrameError } from '../errors.js';

const TWO_TO_32 = 4294967296;
/** AMQP reply code for a frame whose fields cannot be parsed (spec constant `syntax-error`). */
const SYNTAX_ERROR = 502;

// ignoreBOM keeps a leading U+FEFF, which is part of the string the peer sent.
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

// Frames of one socket read share a buffer, so one DataView serves all of their readers.
let cachedBuffer: ArrayBufferLike | undefined;
let cachedView: DataView | undefined;

function viewOf(buffer: ArrayBufferLike): DataView {
  if (buffer !== cachedBuffer) {
    cachedBuffer = buffer;
    cachedView = new DataView(buffer);
  }
  return cachedView!;
}

/**
 * Reads AMQP wire types from one frame payload.
 *
 * Every read checks that the payload contains the bytes it needs and throws a `FrameError` with
 * code `FRAME_TRUNCATED` otherwise, so a hostile length can never read past the payload.
 * Byte strings are returned as views of the payload, not copies.
 */
export class Reader {
  readonly bytes: Uint8Array;
  /** A view of the whole buffer under `bytes`, shared by every reader of that buffer. */
  readonly #view: DataView;
  /** Position of `bytes` in its buffer, added to `offset` for each `#view` access. */
  readonly #base: number;
  /** Position of the next read. */
  offset: number;
  /**
   * Position just past the last readable byte. A field table narrows it to the table's declared
   * size while its entries are read.
   */
  end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.#view = viewOf(bytes.buffer);
    this.#base = bytes.byteOffset;
    this.offset = offset;
    this.end = end;
  }

  /** Number of bytes left to read. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless `length` more bytes can be read. */
  need(length: number): void {
    if (this.offset + length > this.end) {
      throw new FrameError(
        `payload truncated: needed ${length} bytes at offset ${this.offset}, but only ${this.end - this.offset} remain`,
        'FRAME_TRUNCATED',
        SYNTAX_ERROR,
      );
    }
  }

  uint8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  int8(): number {
    this.need(1);
    return this.#view.getInt8(this.#base + this.offset++);
  }

  uint16(): number {
    this.need(2);
    const value = this.#view.getUint16(this.#base + this.offset);
    this.offset += 2;
    return value;
  }

  int16(): number {
    this.need(2);
    const value = this.#view.getInt16(this.#base + this.offset);
    this.offset += 2;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.#view.getUint32(this.#base + this.offset);
    this.offset += 4;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.#view.getInt32(this.#base + this.offset);
    this.offset += 4;
    return value;
  }

  /** Reads an unsigned 64-bit integer: a number when it is a safe integer, else a bigint. */
  uint64(): number | bigint {
    this.need(8);
    const value = this.#view.getUint32(this.#base + this.offset) * TWO_TO_32 + this.#view.getUint32(this.#base + this.offset + 4);
    // The sum is exact whenever the true value is a safe integer, so this test is sound.
    const result = Number.isSafeInteger(value) ? value : this.#view.getBigUint64(this.#base + this.offset);
    this.offset += 8;
    return result;
  }

  /** Reads a signed 64-bit integer: a number when it is a safe integer, else a bigint. */
  int64(): number | bigint {
    this.need(8);
    const value = this.#view.getInt32(this.#base + this.offset) * TWO_TO_32 + this.#view.getUint32(this.#base + this.offset + 4);
    const result = Number.isSafeInteger(value) ? value : this.#view.getBigInt64(this.#base + this.offset);
    this.offset += 8;
    return result;
  }

  /**
   * Reads an unsigned 64-bit integer that the protocol uses as a counter, such as a delivery tag.
   * @throws FrameError `VALUE_OUT_OF_RANGE` when it exceeds `Number.MAX_SAFE_INTEGER`.
   */
  uint64Number(): number {
    const value = this.uint64();
    if (typeof value === 'bigint') {
      throw new FrameError(
        `64-bit value ${value} exceeds Number.MAX_SAFE_INTEGER`,
        'VALUE_OUT_OF_RANGE',
        SYNTAX_ERROR,
      );
    }
    return value;
  }

  float32(): number {
    this.need(4);
    const value = this.#view.getFloat32(this.#base + this.offset);
    this.offset += 4;
    return value;
  }

  float64(): number {
    this.need(8);
    const value = this.#view.getFloat64(this.#base + this.offset);
    this.offset += 8;
    return value;
  }

  /** Reads a short string: one length octet and that many bytes of UTF-8. */
  shortstr(): string {
    const length = this.uint8();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    if (length === 0) return '';
    if (length > MAX_CACHED_LENGTH) return decodeUtf8(this.bytes, start, this.offset);
    return cachedShortString(this.bytes, start, length);
  }

  /** Reads a long string as text. */
  longstr(): string {
    const length = this.uint32();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    return decodeUtf8(this.bytes, start, this.offset);
  }

  /** Reads a long string as a view of its bytes. */
  longstrBytes(): Uint8Array {
    const length = this.uint32();
    return this.take(length);
  }

  /**
   * Returns the next `length` bytes as a view and moves past them. The view is a plain
   * `Uint8Array` even when the payload is a subclass such as Node's `Buffer`, so decoded values
   * have one type whatever the transport delivered.
   */
  take(length: number): Uint8Array {
    this.need(length);
    const start = this.offset;
    this.offset += length;
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + start, length);
  }
}

// Short strings repeat from message to message: routing keys, consumer tags, header keys. A
// small direct-mapped cache returns the string decoded earlier from the same bytes, which
// saves decoding and allocating it again. A slot is chosen from the length and two bytes.
const CACHE_SLOTS = 512;
const MAX_CACHED_LENGTH = 48;
const cachedBytes: (Uint8Array | undefined)[] = new Array(CACHE_SLOTS);
const cachedStrings: string[] = new Array(CACHE_SLOTS);

function cachedShortString(bytes: Uint8Array, start: number, length: number): string {
  const slot = (length * 31 + bytes[start]! * 7 + bytes[start + length - 1]!) & (CACHE_SLOTS - 1);
  const cached = cachedBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let index = 0;
    while (index < length && cached[index] === bytes[start + index]) index++;
    if (index === length) return cachedStrings[slot]!;
  }

  const value = decodeUtf8(bytes, start, start + length);
  cachedBytes[slot] = bytes.slice(start, start + length);
  cachedStrings[slot] = value;
  return value;
}

/**
 * Decodes UTF-8, building short ASCII strings directly because that is faster than a
 * `TextDecoder` call for the names and keys that fill AMQP methods.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return textDecoder.decode(bytes.subarray(start, end));

  let result = '';
  for (let index = start; index < end; index++) {
    const code = bytes[index]!;
    if (code >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
    result += String.fromCharCode(code);
  }
  return result;
}
