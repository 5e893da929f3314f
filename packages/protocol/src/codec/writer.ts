import { InvalidArgumentError } from '../errors.js';

const DEFAULT_SLAB_SIZE = 64 * 1024;
const TWO_TO_32 = 4294967296;
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const textEncoder = new TextEncoder();
/** Replaced slabs tracked until their views are released; older ones are left to the garbage collector. */
const MAX_RETIRED_SLABS = 64;
/** Released slabs kept for reuse: 1 MiB, as much as the Node.js adapter lets its socket buffer by default. */
const MAX_SPARE_SLABS = 16;

interface RetiredSlab {
  bytes: Uint8Array;
  /** Bytes that `finish()` returned from the slab, which are its first `handedOut` bytes. */
  handedOut: number;
  released: number;
}

/**
 * Writes AMQP wire types into a shared slab, handing out each finished message as a view.
 *
 * How it works: `begin()` marks the start of a message, the typed writes append to the slab,
 * and `finish()` returns the bytes written since `begin()` as a subarray, so encoding allocates
 * only when a slab fills up. A returned view stays valid after later writes, because the writer
 * never writes over bytes it has handed out. A write that throws leaves nothing behind: the next
 * `begin()` starts at the end of the last finished message.
 *
 * Recycling: a full slab is replaced. It is reused later only when the caller reports through
 * `release()` that every byte handed out from it has been written and is no longer referenced.
 * A writer whose `release()` is never called allocates a new slab each time, and a slab with
 * views that are never released is left to the garbage collector.
 */
export class Writer {
  #bytes: Uint8Array;
  #view: DataView;
  #slabSize: number;
  #start = 0;
  #committed = 0;
  /** Position of the next write in the current slab. */
  offset = 0;

  /** Whether `release()` has been called, so replaced slabs are tracked for reuse. */
  #recycling = false;
  /** Bytes of the current slab released so far. */
  #released = 0;
  /** Replaced slabs that still have views out, by buffer, in the order they were replaced. */
  #retired = new Map<ArrayBufferLike, RetiredSlab>();
  /** Slabs whose views were all released, ready for reuse. */
  #spare: Uint8Array[] = [];

  constructor(slabSize = DEFAULT_SLAB_SIZE) {
    this.#slabSize = slabSize;
    this.#bytes = new Uint8Array(slabSize);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /**
   * Reports that `chunk`, a view that `finish()` returned or a part of one, has been written and
   * that nothing references it any more. Once every byte handed out from a replaced slab has been
   * released, the writer reuses that slab instead of allocating one. Releasing the same bytes
   * twice, or bytes still in use, would let the writer overwrite them. Chunks that the writer did
   * not hand out are ignored.
   */
  release(chunk: Uint8Array): void {
    this.#recycling = true;
    const buffer = chunk.buffer;
    if (buffer === this.#bytes.buffer) {
      this.#released += chunk.byteLength;
      return;
    }
    const slab = this.#retired.get(buffer);
    if (slab === undefined) return;
    slab.released += chunk.byteLength;
    if (slab.released !== slab.handedOut) return;
    this.#retired.delete(buffer);
    if (this.#spare.length < MAX_SPARE_SLABS) this.#spare.push(slab.bytes);
  }

  /** Starts a message, discarding the partial output of any write that threw. */
  begin(): void {
    this.offset = this.#committed;
    this.#start = this.#committed;
  }

  /** Ends the message started by `begin()` and returns its bytes. */
  finish(): Uint8Array {
    const message = this.#bytes.subarray(this.#start, this.offset);
    this.#committed = this.offset;
    this.#start = this.offset;
    return message;
  }

  /** Makes room for `length` more bytes, moving the current message to a new slab if needed. */
  ensure(length: number): void {
    if (this.offset + length <= this.#bytes.length) return;

    const pending = this.offset - this.#start;
    const size = Math.max(this.#slabSize, (pending + length) * 2);
    // The new slab comes first: when allocating it throws, the current slab must stay untracked.
    const bytes = size === this.#slabSize ? (this.#spare.pop() ?? new Uint8Array(size)) : new Uint8Array(size);
    if (this.#recycling) this.#retire();
    bytes.set(this.#bytes.subarray(this.#start, this.offset));
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
    this.#start = 0;
    this.#committed = 0;
    this.offset = pending;
  }

  /** Tracks the current slab, about to be replaced, until its views are released. */
  #retire(): void {
    const bytes = this.#bytes;
    const handedOut = this.#committed;
    const released = this.#released;
    this.#released = 0;
    // Only slabs of the usual size are reused; a larger one made for a large message is not.
    if (bytes.length !== this.#slabSize) return;
    if (released === handedOut) {
      if (this.#spare.length < MAX_SPARE_SLABS) this.#spare.push(bytes);
      return;
    }
    this.#retired.set(bytes.buffer, { bytes, handedOut, released });
    // Views that are never released, such as frames of a channel that closed before sending
    // them, would otherwise keep their slabs tracked forever.
    if (this.#retired.size > MAX_RETIRED_SLABS) this.#retired.delete(this.#retired.keys().next().value!);
  }

  uint8(value: number, field?: string): void {
    if ((value & 0xff) !== value) throw outOfRange(value, 'an unsigned 8-bit', field);
    this.ensure(1);
    this.#bytes[this.offset++] = value;
  }

  int8(value: number, field?: string): void {
    if ((value << 24) >> 24 !== value) throw outOfRange(value, 'a signed 8-bit', field);
    this.ensure(1);
    this.#view.setInt8(this.offset, value);
    this.offset += 1;
  }

  uint16(value: number, field?: string): void {
    if ((value & 0xffff) !== value) throw outOfRange(value, 'an unsigned 16-bit', field);
    this.ensure(2);
    this.#view.setUint16(this.offset, value);
    this.offset += 2;
  }

  int16(value: number, field?: string): void {
    if ((value << 16) >> 16 !== value) throw outOfRange(value, 'a signed 16-bit', field);
    this.ensure(2);
    this.#view.setInt16(this.offset, value);
    this.offset += 2;
  }

  uint32(value: number, field?: string): void {
    if (value >>> 0 !== value) throw outOfRange(value, 'an unsigned 32-bit', field);
    this.ensure(4);
    this.#view.setUint32(this.offset, value);
    this.offset += 4;
  }

  int32(value: number, field?: string): void {
    if ((value | 0) !== value) throw outOfRange(value, 'a signed 32-bit', field);
    this.ensure(4);
    this.#view.setInt32(this.offset, value);
    this.offset += 4;
  }

  /** Writes an unsigned 64-bit integer from a non-negative integer `number` or a bigint. */
  uint64(value: number | bigint, field?: string): void {
    if (typeof value === 'bigint' ? value < 0n || value > UINT64_MAX : !(Number.isInteger(value) && value >= 0 && value < 2 ** 64)) {
      throw outOfRange(value, 'an unsigned 64-bit', field);
    }
    this.ensure(8);
    if (typeof value === 'bigint') {
      this.#view.setBigUint64(this.offset, value);
    } else {
      const high = Math.floor(value / TWO_TO_32);
      this.#view.setUint32(this.offset, high);
      this.#view.setUint32(this.offset + 4, value - high * TWO_TO_32);
    }
    this.offset += 8;
  }

  /** Writes a signed 64-bit integer from an integer `number` or a bigint. */
  int64(value: number | bigint, field?: string): void {
    if (typeof value === 'bigint' ? value < INT64_MIN || value > INT64_MAX : !(Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63)) {
      throw outOfRange(value, 'a signed 64-bit', field);
    }
    this.ensure(8);
    if (typeof value === 'bigint') {
      this.#view.setBigInt64(this.offset, value);
    } else {
      const high = Math.floor(value / TWO_TO_32);
      this.#view.setInt32(this.offset, high);
      this.#view.setUint32(this.offset + 4, value - high * TWO_TO_32);
    }
    this.offset += 8;
  }

  float32(value: number): void {
    this.ensure(4);
    this.#view.setFloat32(this.offset, value);
    this.offset += 4;
  }

  float64(value: number): void {
    this.ensure(8);
    this.#view.setFloat64(this.offset, value);
    this.offset += 8;
  }

  /**
   * Writes a short string: one length octet and at most 255 bytes of UTF-8.
   * @throws InvalidArgumentError `SHORTSTR_TOO_LONG` when the UTF-8 form exceeds 255 bytes.
   */
  shortstr(value: string, field?: string): void {
    if (typeof value !== 'string') throw wrongType(value, 'a string', field);
    const length = value.length;
    // Every UTF-16 code unit takes at least one UTF-8 byte, so this rejects early.
    if (length > 255) throw shortstrTooLong(value, `at least ${length}`, field);

    this.ensure(1 + length * 3);
    const bytes = this.#bytes;
    const start = this.offset + 1;
    let written = 0;
    for (; written < length; written++) {
      const code = value.charCodeAt(written);
      if (code >= 0x80) break;
      bytes[start + written] = code;
    }
    if (written < length) {
      written = textEncoder.encodeInto(value, bytes.subarray(start, start + length * 3)).written;
      if (written > 255) throw shortstrTooLong(value, String(written), field);
    }
    bytes[this.offset] = written;
    this.offset = start + written;
  }

  /** Writes a long string: a 32-bit length and the UTF-8 bytes of a string, or raw bytes. */
  longstr(value: string | Uint8Array, field?: string): void {
    if (typeof value !== 'string') {
      if (!(value instanceof Uint8Array)) throw wrongType(value, 'a string or a Uint8Array', field);
      this.uint32(value.length);
      this.bytes(value);
      return;
    }

    this.ensure(4 + value.length * 3);
    const start = this.offset + 4;
    const written = textEncoder.encodeInto(value, this.#bytes.subarray(start)).written;
    this.#view.setUint32(this.offset, written);
    this.offset = start + written;
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.#bytes.set(value, this.offset);
    this.offset += value.length;
  }

  /**
   * Position of the next write, counted from the start of the message. Unlike `offset`, it stays
   * valid when `ensure()` moves the message to a new slab, so it is what `patchUint32` takes.
   */
  get position(): number {
    return this.offset - this.#start;
  }

  /** Writes a 32-bit value at an earlier `position`, such as a size known only after the fact. */
  patchUint32(position: number, value: number): void {
    this.#view.setUint32(this.#start + position, value);
  }
}

function outOfRange(value: unknown, type: string, field: string | undefined): InvalidArgumentError {
  if (typeof value !== 'number' && typeof value !== 'bigint') return wrongType(value, 'a number', field);
  return new InvalidArgumentError(`${prefix(field)}value ${value} does not fit ${type} integer field`, 'VALUE_OUT_OF_RANGE');
}

function wrongType(value: unknown, expected: string, field: string | undefined): InvalidArgumentError {
  let actual: string = typeof value;
  if (value === null) actual = 'null';
  else if (typeof value === 'string') actual = `string "${value.slice(0, 32)}"`;
  return new InvalidArgumentError(`${prefix(field)}expected ${expected}, got ${actual}`, 'VALUE_TYPE_INVALID');
}

function shortstrTooLong(value: string, length: string, field: string | undefined): InvalidArgumentError {
  const preview = value.length > 32 ? `${value.slice(0, 32)}...` : value;
  return new InvalidArgumentError(
    `${prefix(field)}short string "${preview}" is ${length} bytes of UTF-8; the maximum is 255`,
    'SHORTSTR_TOO_LONG',
  );
}

/** Names the field that failed, such as `basic.qos prefetchCount: `, when the caller gave one. */
function prefix(field: string | undefined): string {
  return field === undefined ? '' : `${field}: `;
}
