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
  #bytes: Uint8Array;
  /** A view of the whole buffer under `#bytes`, shared by every reader of that buffer. */
  #view: DataView;
  /** Position of `#bytes` in its buffer, added to `offset` for each `#view` access. */
  #base: number;
  /** The `offset` that reading started at, such as the start of a frame payload in its chunk. */
  #origin: number;
  /** Position of the next read in `bytes`. */
  offset: number;
  /**
   * Position just past the last readable byte. A field table narrows it to the table's declared
   * size while its entries are read.
   */
  end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#view = viewOf(bytes.buffer);
    this.#base = bytes.byteOffset;
    this.#origin = offset;
    this.offset = offset;
    this.end = end;
  }

  /** The bytes being read, of which `offset` to `end` are left. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Starts reading other bytes, so that one reader can serve many frames. Looking up the buffer
   * under `bytes` is skipped when they are the bytes read before, as for frames of one chunk.
   */
  reset(bytes: Uint8Array, offset = 0, end = bytes.length): void {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#view = viewOf(bytes.buffer);
      this.#base = bytes.byteOffset;
    }
    this.#origin = offset;
    this.offset = offset;
    this.end = end;
  }

  /**
   * Bytes read since the reader was created or reset. Error messages give offsets this way, so
   * that they count from the start of the payload even when the payload lies inside a chunk.
   */
  get position(): number {
    return this.offset - this.#origin;
  }

  /** Number of bytes left to read. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless `length` more bytes can be read. */
  need(length: number): void {
    if (this.offset + length > this.end) {
      throw new FrameError(
        `payload truncated: needed ${length} bytes at offset ${this.position}, but only ${this.end - this.offset} remain`,
        'FRAME_TRUNCATED',
        SYNTAX_ERROR,
      );
    }
  }

  uint8(): number {
    this.need(1);
    return this.#bytes[this.offset++]!;
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
    if (length > MAX_CACHED_LENGTH) return decodeUtf8(this.#bytes, start, this.offset);
    return cachedShortString(this.#bytes, this.#view, this.#base + start, start, length);
  }

  /** Reads a long string as text. */
  longstr(): string {
    const length = this.uint32();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    return decodeUtf8(this.#bytes, start, this.offset);
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
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + start, length);
  }
}

// Short strings repeat from message to message: routing keys, consumer tags, header keys. A
// small cache returns the string decoded earlier from the same bytes, which saves decoding and
// allocating it again. It has sets of two slots, chosen by a hash of every byte, and a miss
// replaces the slot of its set that was used less recently, so two strings that share a set
// do not evict each other.
const CACHE_SETS = 256;
const CACHE_SLOTS = CACHE_SETS * 2;
const MAX_CACHED_LENGTH = 48;
/**
 * The bytes of each cached string, `MAX_CACHED_LENGTH` per slot. They are copies, because a view
 * would keep a received chunk alive and would change if the caller reused that chunk's memory.
 */
const cachedBytes = new Uint8Array(CACHE_SLOTS * MAX_CACHED_LENGTH);
const cachedBytesView = new DataView(cachedBytes.buffer);
/** Length of the string in each slot. 0 marks an empty slot, because the empty string is never cached. */
const cachedLengths = new Uint8Array(CACHE_SLOTS);
const cachedStrings: string[] = new Array<string>(CACHE_SLOTS).fill('');
/** The slot of each set that the next miss replaces: the one not used last. */
const victimSlots = new Uint16Array(CACHE_SETS).map((_, set) => set * 2);

/**
 * Returns the short string of `length` bytes at `start` in `bytes`, which is at `position` in
 * `view`. Hashing and comparing read four bytes at a time, and the last four bytes as one more
 * word that may overlap the one before it, so no byte is handled on its own. Words are read
 * little-endian, which needs no byte swap on common hardware.
 */
function cachedShortString(bytes: Uint8Array, view: DataView, position: number, start: number, length: number): string {
  let hash = length;
  if (length >= 4) {
    const lastWord = length - 4;
    for (let index = 0; index < lastWord; index += 4) hash = ((hash << 5) - hash + view.getInt32(position + index, true)) | 0;
    hash = ((hash << 5) - hash + view.getInt32(position + lastWord, true)) | 0;
  } else {
    for (let index = start; index < start + length; index++) hash = ((hash << 5) - hash + bytes[index]!) | 0;
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  const set = (hash ^ (hash >>> 16)) & (CACHE_SETS - 1);

  const first = set * 2;
  if (slotHolds(first, bytes, view, position, start, length)) {
    victimSlots[set] = first + 1;
    return cachedStrings[first]!;
  }
  if (slotHolds(first + 1, bytes, view, position, start, length)) {
    victimSlots[set] = first;
    return cachedStrings[first + 1]!;
  }

  const value = decodeUtf8(bytes, start, start + length);
  const slot = victimSlots[set]!;
  const slotStart = slot * MAX_CACHED_LENGTH;
  for (let index = 0; index < length; index++) cachedBytes[slotStart + index] = bytes[start + index]!;
  cachedLengths[slot] = length;
  cachedStrings[slot] = value;
  victimSlots[set] = slot ^ 1;
  return value;
}

function slotHolds(slot: number, bytes: Uint8Array, view: DataView, position: number, start: number, length: number): boolean {
  if (cachedLengths[slot] !== length) return false;

  const slotStart = slot * MAX_CACHED_LENGTH;
  if (length < 4) {
    for (let index = 0; index < length; index++) {
      if (cachedBytes[slotStart + index] !== bytes[start + index]) return false;
    }
    return true;
  }
  const lastWord = length - 4;
  for (let index = 0; index < lastWord; index += 4) {
    if (cachedBytesView.getInt32(slotStart + index, true) !== view.getInt32(position + index, true)) return false;
  }
  return cachedBytesView.getInt32(slotStart + lastWord, true) === view.getInt32(position + lastWord, true);
}

const fromCharCode = String.fromCharCode;

/**
 * Decodes UTF-8. Short ASCII strings, the names and keys that fill AMQP methods and headers, are
 * built directly up to 16 characters at a time, because that is faster than a `TextDecoder` call
 * and than adding one character at a time.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return textDecoder.decode(bytes.subarray(start, end));
  for (let index = start; index < end; index++) {
    if (bytes[index]! >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
  }

  let result = '';
  let index = start;
  for (; index + 16 <= end; index += 16) {
    result += fromCharCode(
      bytes[index]!,
      bytes[index + 1]!,
      bytes[index + 2]!,
      bytes[index + 3]!,
      bytes[index + 4]!,
      bytes[index + 5]!,
      bytes[index + 6]!,
      bytes[index + 7]!,
      bytes[index + 8]!,
      bytes[index + 9]!,
      bytes[index + 10]!,
      bytes[index + 11]!,
      bytes[index + 12]!,
      bytes[index + 13]!,
      bytes[index + 14]!,
      bytes[index + 15]!,
    );
  }
  if (index + 8 <= end) {
    result += fromCharCode(
      bytes[index]!,
      bytes[index + 1]!,
      bytes[index + 2]!,
      bytes[index + 3]!,
      bytes[index + 4]!,
      bytes[index + 5]!,
      bytes[index + 6]!,
      bytes[index + 7]!,
    );
    index += 8;
  }
  return index === end ? result : result + asciiTail(bytes, index, end - index);
}

/** Builds a string of the `count` ASCII bytes at `start`, for a count from 1 to 7, in one call. */
function asciiTail(bytes: Uint8Array, start: number, count: number): string {
  switch (count) {
    case 1:
      return fromCharCode(bytes[start]!);
    case 2:
      return fromCharCode(bytes[start]!, bytes[start + 1]!);
    case 3:
      return fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!);
    case 4:
      return fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!);
    case 5:
      return fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!, bytes[start + 4]!);
    case 6:
      return fromCharCode(bytes[start]!, bytes[start + 1]!, bytes[start + 2]!, bytes[start + 3]!, bytes[start + 4]!, bytes[start + 5]!);
    default:
      return fromCharCode(
        bytes[start]!,
        bytes[start + 1]!,
        bytes[start + 2]!,
        bytes[start + 3]!,
        bytes[start + 4]!,
        bytes[start + 5]!,
        bytes[start + 6]!,
      );
  }
}
