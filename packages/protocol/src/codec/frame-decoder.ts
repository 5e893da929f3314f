import { FrameError, InvalidArgumentError } from '../errors.js';
import { FRAME_END, FRAME_MIN_SIZE, FrameType, ReplyCode } from '../generated/constants.js';

/** One AMQP frame as read from the network. */
export interface Frame {
  /** Frame type octet: 1 method, 2 content header, 3 content body, 8 heartbeat. */
  type: number;
  channel: number;
  /** Payload without the 7-byte frame header and the end octet. */
  payload: Uint8Array;
}

/** Type octet, channel number and payload size. */
const FRAME_HEADER_SIZE = 7;
/** Bytes of a frame that `frame_max` counts besides the payload: the frame header and the end octet. */
const FRAME_OVERHEAD = FRAME_HEADER_SIZE + 1;
const FRAME_MAX_LIMIT = 0xffffffff;

/** The protocol header is 'AMQP' followed by four version octets. */
const PROTOCOL_HEADER_SIZE = 8;
const PROTOCOL_NAME = [0x41, 0x4d, 0x51, 0x50];

const EMPTY = new Uint8Array(0);

/**
 * Decoder states. `protocolHeader` applies only before the first frame, because a broker that
 * rejects our protocol version sends its own protocol header instead of a frame.
 */
type State = 'protocolHeader' | 'frameHeader' | 'payload' | 'frameEnd' | 'failed';

/**
 * Splits the bytes received from the broker into frames.
 *
 * How it works: `push()` stores a reference to each chunk, and `next()` runs a state machine
 * through protocol header, frame header, payload and end octet. Each state first checks whether
 * the bytes it needs have arrived, and `next()` returns `undefined` if not. The 7-byte frame
 * header is validated before any of the payload is buffered, because its size field comes from
 * the network and may be hostile. A payload that lies in one chunk is returned as a view of that
 * chunk. A payload that straddles chunks is copied once into a buffer of exactly its size, piece
 * by piece as the chunks arrive, so the chunks it came from can be released. For a body frame,
 * that buffer may be a view that `bodyTarget` supplies, so a large body is copied from the
 * received chunks straight into place.
 *
 * Memory: the decoder keeps at most one partial payload of up to `frameMax - 8` bytes, the
 * chunks pushed but not yet read, and the chunk of the frame read last until the next call. That
 * bound applies only if the caller drains `next()` or `advance()` until it returns nothing before
 * pushing the next chunk.
 *
 * Errors: `next()` throws a `FrameError` when the bytes cannot be AMQP frames. After that the
 * frame boundaries are lost, so the decoder releases its buffers and every later `push()` or
 * `next()` throws the same error.
 */
export class FrameDecoder {
  #frameMax = FRAME_MIN_SIZE;
  #state: State = 'protocolHeader';
  #error: FrameError | undefined;

  /** Chunks pushed and not fully read. Entries before `#head` are released placeholders. */
  #chunks: Uint8Array[] = [];
  #head = 0;
  /** Read position in `#chunks[#head]`. */
  #offset = 0;
  /** Bytes in `#chunks` not read yet. */
  #unread = 0;
  /** Bytes pushed and not yet returned in a frame, including those of the frame in progress. */
  #pending = 0;

  /** Header of the frame in progress. */
  #type = 0;
  #channel = 0;
  #size = 0;
  /**
   * Location of the payload of the frame in progress: `#payloadStart` to `#payloadStart + #size`
   * in `#payloadBytes`, which is a pushed chunk or, for a payload that straddles chunks, a copy
   * that fills up to `#filled` bytes. `#payloadBytes` is undefined until the payload is located.
   */
  #payloadBytes: Uint8Array | undefined;
  #payloadStart = 0;
  #payloadCopied = false;
  #filled = 0;
  /** Space to join a frame header that straddles chunks. */
  readonly #headerBytes = new Uint8Array(FRAME_HEADER_SIZE);

  /**
   * Optional callback that supplies the destination of a body frame's payload when the payload
   * straddles chunks. The decoder calls it with the frame's channel and payload size before it
   * copies anything. When it returns a view of exactly `size` bytes, such as the unfilled part of
   * the message body being assembled, the payload is copied into that view and is that view.
   * Otherwise, or when it throws, the decoder allocates a copy as usual.
   */
  bodyTarget: ((channel: number, size: number) => Uint8Array | undefined) | undefined = undefined;

  /**
   * Largest frame accepted, in bytes, frame header and end octet included. The default is the
   * spec's minimum of 4096, the limit until `connection.tune` is negotiated. A new value applies
   * from the next frame header, not to a frame whose header was already read.
   * @throws InvalidArgumentError `FRAME_MAX_INVALID` unless the value is an integer from 4096 to 2^32-1.
   */
  get frameMax(): number {
    return this.#frameMax;
  }

  set frameMax(value: number) {
    if (!Number.isInteger(value) || value < FRAME_MIN_SIZE || value > FRAME_MAX_LIMIT) {
      throw new InvalidArgumentError(
        `frameMax ${value} is invalid; expected an integer from ${FRAME_MIN_SIZE} to ${FRAME_MAX_LIMIT} (a negotiated 0 means no limit, so pass ${FRAME_MAX_LIMIT})`,
        'FRAME_MAX_INVALID',
      );
    }
    this.#frameMax = value;
  }

  /** Bytes pushed but not yet returned as frames; 0 after a `FrameError`. */
  get bufferedBytes(): number {
    return this.#pending;
  }

  /**
   * Adds a chunk of received bytes. The decoder keeps a reference to `chunk` rather than a copy,
   * so the caller must not modify it afterwards, unless `detachChunks()` was called since.
   * @throws FrameError the error that an earlier `next()` threw, if any.
   */
  push(chunk: Uint8Array): void {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;

    // Drop released placeholders once they fill half of the array, so the array stays short
    // even when it never empties completely.
    if (this.#head > 0 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks.copyWithin(0, this.#head);
      this.#chunks.length -= this.#head;
      this.#head = 0;
    }

    this.#chunks.push(chunk);
    this.#unread += chunk.length;
    this.#pending += chunk.length;
  }

  /**
   * Copies what the decoder still needs of the pushed chunks into memory of its own: the unread
   * bytes, and the payload of a frame that lies in one chunk but awaits its end octet. Afterwards
   * the caller may overwrite every chunk it pushed, which lets it read the network into one
   * reused buffer. Between frames this copies at most the 7 bytes of a frame header or protocol
   * header that has not fully arrived, because a payload that straddles chunks is copied as it
   * arrives anyway.
   */
  detachChunks(): void {
    if (this.#state === 'failed') return;
    const bytes = this.#payloadBytes;
    if (this.#state === 'frameHeader') {
      // The frame read last is complete, and its payload may view a chunk about to be overwritten.
      this.#payloadBytes = undefined;
    } else if (this.#state === 'frameEnd' && bytes !== undefined && !this.#payloadCopied && this.#size > 0) {
      const copy = this.#payloadDestination();
      copy.set(bytes.subarray(this.#payloadStart, this.#payloadStart + this.#size));
      this.#payloadBytes = copy;
      this.#payloadStart = 0;
      this.#payloadCopied = true;
    }
    const unread = this.#unread;
    if (unread === 0) {
      // Every chunk was read to its end, so only released placeholders remain.
      this.#chunks = [];
    } else {
      const copy = new Uint8Array(unread);
      this.#copyTo(copy, 0, unread);
      this.#chunks = [copy];
      this.#unread = unread;
    }
    this.#head = 0;
    this.#offset = 0;
  }

  /**
   * Returns where the payload of the frame in progress is copied: the view that `bodyTarget`
   * gives for a body frame, or else a new buffer of the payload's size, which the frameMax check
   * bounds. An error from `bodyTarget`, such as a body that cannot be allocated, is left for the
   * frame's handler to raise, because `detachChunks()` runs where errors cannot be reported.
   */
  #payloadDestination(): Uint8Array {
    const size = this.#size;
    if (this.#type === FrameType.body && this.bodyTarget !== undefined) {
      try {
        const target = this.bodyTarget(this.#channel, size);
        if (target !== undefined && target.length === size) return target;
      } catch {
        // The handler of this frame meets the same error and reports it.
      }
    }
    return new Uint8Array(size);
  }

  /**
   * Returns the next complete frame, or `undefined` when more bytes are needed.
   *
   * The payload is a view of a pushed chunk when it lies in one chunk, and a new buffer otherwise.
   * A view keeps its whole chunk in memory, so a caller that keeps a small payload for long
   * should copy it.
   * @throws FrameError with reply code 501 (frame-error) and one of these codes:
   *   `FRAME_TOO_LARGE` when the announced size exceeds `frameMax` (checked first),
   *   `FRAME_TYPE_UNKNOWN` when the type is not 1, 2, 3 or 8,
   *   `HEARTBEAT_INVALID` when a heartbeat has a channel other than 0 or a payload,
   *   `FRAME_END_INVALID` when the octet after the payload is not 0xCE,
   *   `PROTOCOL_VERSION_MISMATCH` when the broker sent its own protocol header because it does
   *   not support AMQP 0-9-1.
   */
  next(): Frame | undefined {
    const type = this.advance();
    if (type === 0) return undefined;
    return { type, channel: this.#channel, payload: this.payload() };
  }

  /**
   * Reads the next complete frame like `next()` and returns its type, or 0 when more bytes are
   * needed. It allocates nothing for a frame that lies in one chunk, because the frame is not
   * returned as an object: until the next call, `channel`, `payloadBytes`, `payloadStart` and
   * `payloadEnd` describe it, and `payload()` returns its payload as `next()` would.
   * @throws FrameError as `next()` does.
   */
  advance(): number {
    if (this.#error !== undefined) throw this.#error;

    if (this.#state === 'protocolHeader' && !this.#readProtocolHeader()) return 0;

    if (this.#state === 'frameHeader') {
      // Forget the previous frame, so that the decoder does not keep its chunk alive.
      this.#payloadBytes = undefined;
      this.#payloadStart = 0;
      this.#payloadCopied = false;
      this.#filled = 0;
      if (this.#unread < FRAME_HEADER_SIZE) return 0;
      this.#readFrameHeader();
    }

    if (this.#state === 'payload' && !this.#readPayload()) return 0;

    if (this.#unread === 0) return 0;
    const end = this.#chunks[this.#head]![this.#offset]!;
    this.#skip(1);
    if (end !== FRAME_END) {
      throw this.#fail(
        `frame end octet is 0x${hex(end)} after a frame of type ${this.#type} on channel ${this.#channel} with ${this.#size} payload bytes; expected 0x${hex(FRAME_END)}`,
        'FRAME_END_INVALID',
      );
    }

    this.#pending -= this.#size + FRAME_OVERHEAD;
    this.#state = 'frameHeader';
    return this.#type;
  }

  /** Channel of the frame that `advance()` read last. */
  get channel(): number {
    return this.#channel;
  }

  /**
   * Bytes that contain the payload of the frame that `advance()` read last, from `payloadStart`
   * to `payloadEnd`: a pushed chunk, or a copy when the payload straddled chunks.
   */
  get payloadBytes(): Uint8Array {
    return this.#payloadBytes ?? EMPTY;
  }

  get payloadStart(): number {
    return this.#payloadStart;
  }

  get payloadEnd(): number {
    return this.#payloadStart + this.#size;
  }

  /**
   * Returns the payload of the frame that `advance()` read last: a view of its chunk, or the copy
   * itself when it straddled chunks.
   */
  payload(): Uint8Array {
    const bytes = this.#payloadBytes;
    if (bytes === undefined || this.#size === 0) return EMPTY;
    if (this.#payloadCopied) return bytes;
    return bytes.subarray(this.#payloadStart, this.#payloadStart + this.#size);
  }

  /**
   * Checks the first bytes ever received for a protocol header. A broker that does not support
   * the version we sent replies with the header of a version it supports and closes the socket,
   * as the AMQP 0-9-1 spec requires. Returns false while the bytes seen so far could still be one.
   */
  #readProtocolHeader(): boolean {
    const available = Math.min(this.#unread, PROTOCOL_HEADER_SIZE);
    for (let index = 0; index < PROTOCOL_NAME.length; index++) {
      if (index >= available) return false;
      if (this.#peek(index) !== PROTOCOL_NAME[index]) {
        this.#state = 'frameHeader';
        return true;
      }
    }
    if (available < PROTOCOL_HEADER_SIZE) return false;

    // The four octets after 'AMQP' identify the version the broker supports: 0 0 9 1 is 0-9-1,
    // 1 1 8 0 is 0-8 and 0 1 0 0 is AMQP 1.0.
    const version = [4, 5, 6, 7].map((index) => this.#peek(index)).join(' ');
    throw this.#fail(
      `broker does not accept AMQP 0-9-1: it sent the protocol header of the version it supports, "AMQP" ${version}, instead of connection.start`,
      'PROTOCOL_VERSION_MISMATCH',
    );
  }

  /** Reads and validates the 7-byte frame header, which the caller checked has arrived. */
  #readFrameHeader(): void {
    let bytes = this.#chunks[this.#head]!;
    let start = this.#offset;
    if (bytes.length - start >= FRAME_HEADER_SIZE) {
      this.#skip(FRAME_HEADER_SIZE);
    } else {
      bytes = this.#headerBytes;
      start = 0;
      this.#copyTo(bytes, 0, FRAME_HEADER_SIZE);
    }

    const type = bytes[start]!;
    const channel = (bytes[start + 1]! << 8) | bytes[start + 2]!;
    // Multiplying the top octet keeps sizes of 2^31 and above positive.
    const size = bytes[start + 3]! * 0x1000000 + ((bytes[start + 4]! << 16) | (bytes[start + 5]! << 8) | bytes[start + 6]!);
    this.#type = type;
    this.#channel = channel;
    this.#size = size;

    const limit = this.#frameMax - FRAME_OVERHEAD;
    if (size > limit) {
      throw this.#fail(
        `frame of type ${type} on channel ${channel} announces a ${size}-byte payload, over the limit of ${limit} bytes (frame_max ${this.#frameMax} minus 8 bytes of header and end octet)`,
        'FRAME_TOO_LARGE',
      );
    }

    if (type !== FrameType.method && type !== FrameType.header && type !== FrameType.body && type !== FrameType.heartbeat) {
      throw this.#fail(
        `unknown frame type ${type} on channel ${channel}; expected 1 (method), 2 (header), 3 (body) or 8 (heartbeat)`,
        'FRAME_TYPE_UNKNOWN',
      );
    }

    // The AMQP 0-9-1 spec requires heartbeats on channel 0 and reply code 501 for any other.
    // RabbitMQ also rejects a heartbeat that has a payload, and so does this decoder.
    if (type === FrameType.heartbeat && (channel !== 0 || size !== 0)) {
      throw this.#fail(
        `invalid heartbeat frame on channel ${channel} with ${size} payload bytes; a heartbeat must be on channel 0 and empty`,
        'HEARTBEAT_INVALID',
      );
    }

    this.#state = 'payload';
  }

  /** Gathers the payload of the frame in progress. Returns false while bytes are missing. */
  #readPayload(): boolean {
    const size = this.#size;

    if (this.#payloadBytes === undefined) {
      if (size === 0) {
        this.#payloadBytes = EMPTY;
        this.#state = 'frameEnd';
        return true;
      }
      if (this.#unread === 0) return false;

      const chunk = this.#chunks[this.#head]!;
      const start = this.#offset;
      if (chunk.length - start >= size) {
        this.#payloadBytes = chunk;
        this.#payloadStart = start;
        this.#skip(size);
        this.#state = 'frameEnd';
        return true;
      }

      this.#payloadBytes = this.#payloadDestination();
      this.#payloadCopied = true;
    }

    const count = Math.min(this.#unread, size - this.#filled);
    this.#copyTo(this.#payloadBytes, this.#filled, count);
    this.#filled += count;
    if (this.#filled < size) return false;

    this.#state = 'frameEnd';
    return true;
  }

  /** Returns the unread byte `index` bytes past the read position, which the caller checked exists. */
  #peek(index: number): number {
    let chunkIndex = this.#head;
    let position = this.#offset + index;
    while (position >= this.#chunks[chunkIndex]!.length) {
      position -= this.#chunks[chunkIndex]!.length;
      chunkIndex++;
    }
    return this.#chunks[chunkIndex]![position]!;
  }

  /** Copies `count` unread bytes into `target` at `targetOffset` and moves past them. */
  #copyTo(target: Uint8Array, targetOffset: number, count: number): void {
    let remaining = count;
    let position = targetOffset;
    while (remaining > 0) {
      const chunk = this.#chunks[this.#head]!;
      const length = Math.min(remaining, chunk.length - this.#offset);
      target.set(chunk.subarray(this.#offset, this.#offset + length), position);
      position += length;
      remaining -= length;
      this.#skip(length);
    }
  }

  /** Moves the read position `count` bytes forward within the current chunk. */
  #skip(count: number): void {
    this.#offset += count;
    this.#unread -= count;
    if (this.#offset < this.#chunks[this.#head]!.length) return;

    this.#chunks[this.#head] = EMPTY;
    this.#head++;
    this.#offset = 0;
    if (this.#head === this.#chunks.length) {
      // Popping the placeholders is cheaper than setting the length, which calls into the runtime.
      while (this.#chunks.length > 0) this.#chunks.pop();
      this.#head = 0;
    }
  }

  /** Records a frame error, releases the buffers and returns the error to throw. */
  #fail(message: string, code: string): FrameError {
    const error = new FrameError(message, code, ReplyCode.frameError);
    this.#error = error;
    this.#state = 'failed';
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#unread = 0;
    this.#pending = 0;
    this.#payloadBytes = undefined;
    this.#payloadCopied = false;
    return error;
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0').toUpperCase();
}
