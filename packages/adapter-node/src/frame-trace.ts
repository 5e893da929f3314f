import {
  AmqpError,
  Decimal,
  FrameDecoder,
  FrameType,
  type Frame,
  MethodId,
  Reader,
  TypedValue,
  decodeMethod,
  methodName,
} from '@warren/protocol';
import { ignoreRejection } from './logger.js';

/** Whether a frame was received from the broker (`in`) or sent to it (`out`). */
export type FrameDirection = 'in' | 'out';

/**
 * Receives one line per frame, such as `('out', 1, 'basic.publish exchange="" routingKey="q" ...')`
 * or `('in', 0, 'heartbeat')`. Secrets in the handshake, such as the SASL response that
 * contains the password, are shown as `<hidden>`.
 */
export type FrameTraceCallback = (direction: FrameDirection, channel: number, description: string) => void;

/** Frame size limit for the client's own frames, which need no check: the 32-bit maximum. */
const FRAME_MAX_LIMIT = 0xffffffff;
const PROTOCOL_HEADER_SIZE = 8;
/** Maximum length of a string value in a trace line. A longer one is cut, and its length shown. */
const MAX_STRING_LENGTH = 200;

/** Method fields that carry credentials, keyed by method id. */
const SECRET_FIELDS: ReadonlyMap<number, string> = new Map([
  [MethodId.ConnectionStartOk, 'response'],
  [MethodId.ConnectionSecureOk, 'response'],
  [MethodId.ConnectionUpdateSecret, 'newSecret'],
]);

/**
 * Decodes the bytes of each direction a second time, to describe every frame for debugging.
 *
 * It runs its own `FrameDecoder`s next to the engine's, so the engine is untouched and a
 * connection without a trace pays nothing. With a trace, a payload that spans socket chunks is
 * copied once more. The incoming decoder follows the engine's negotiated `frame_max`, so hostile
 * input is bounded as it is for the engine. When a direction cannot be decoded, the tracer
 * reports that once and stops tracing it, and the engine reports the error itself.
 */
export class FrameTracer {
  readonly #callback: FrameTraceCallback;
  readonly #incoming = new FrameDecoder();
  readonly #outgoing = new FrameDecoder();
  #incomingFailed = false;
  #outgoingFailed = false;
  #outgoingStarted = false;

  constructor(callback: FrameTraceCallback) {
    this.#callback = callback;
    this.#outgoing.frameMax = FRAME_MAX_LIMIT;
  }

  /**
   * Describes the frames completed by `chunk`, received from the broker. With `chunkReused`, the
   * caller overwrites `chunk` afterwards, so the decoder copies what it still needs of it.
   */
  incoming(chunk: Uint8Array, frameMax: number, chunkReused = false): void {
    if (this.#incomingFailed) return;
    if (this.#incoming.frameMax !== frameMax) this.#incoming.frameMax = frameMax;
    this.#incomingFailed = !this.#decode(this.#incoming, chunk, 'in');
    if (chunkReused && !this.#incomingFailed) this.#incoming.detachChunks();
  }

  /** Describes the frames completed by `chunk`, sent to the broker. */
  outgoing(chunk: Uint8Array): void {
    if (this.#outgoingFailed) return;
    if (!this.#outgoingStarted) {
      this.#outgoingStarted = true;
      // The client opens with the 8-byte protocol header, which is not a frame.
      if (chunk.length >= PROTOCOL_HEADER_SIZE && String.fromCharCode(...chunk.subarray(0, 4)) === 'AMQP') {
        this.#emit('out', 0, `protocol header AMQP ${chunk[5]}-${chunk[6]}-${chunk[7]}`);
        chunk = chunk.subarray(PROTOCOL_HEADER_SIZE);
      }
    }
    this.#outgoingFailed = !this.#decode(this.#outgoing, chunk, 'out');
    // The engine's writer reuses a slab once its bytes are written, so keep no view of them.
    if (!this.#outgoingFailed) this.#outgoing.detachChunks();
  }

  /** Pushes `chunk` and describes each complete frame. Returns false once the bytes are not frames. */
  #decode(decoder: FrameDecoder, chunk: Uint8Array, direction: FrameDirection): boolean {
    try {
      decoder.push(chunk);
      let frame: Frame | undefined;
      while ((frame = decoder.next()) !== undefined) {
        this.#emit(direction, frame.channel, describeFrame(frame));
      }
      return true;
    } catch (error) {
      if (!AmqpError.isInstance(error)) throw error;
      this.#emit(direction, 0, `undecodable bytes, trace stopped: ${error.message}`);
      return false;
    }
  }

  #emit(direction: FrameDirection, channel: number, description: string): void {
    try {
      ignoreRejection(this.#callback(direction, channel, description));
    } catch {
      // A failing trace callback must not change what the connection does, so its error is dropped.
    }
  }
}

/** Describes one frame, such as `basic.deliver consumerTag="c" deliveryTag=1 ...` or `content body 100 bytes`. */
export function describeFrame(frame: Frame): string {
  switch (frame.type) {
    case FrameType.method:
      return describeMethod(frame.payload);
    case FrameType.header:
      return describeContentHeader(frame.payload);
    case FrameType.body:
      return `content body ${frame.payload.length} bytes`;
    case FrameType.heartbeat:
      return 'heartbeat';
    default:
      return `frame of type ${frame.type}, ${frame.payload.length} bytes`;
  }
}

function describeMethod(payload: Uint8Array): string {
  let method;
  try {
    method = decodeMethod(new Reader(payload));
  } catch (error) {
    if (!AmqpError.isInstance(error)) throw error;
    return `undecodable method frame of ${payload.length} bytes: ${error.message}`;
  }

  const secret = SECRET_FIELDS.get(method.id);
  const fields = Object.entries(method).map(([name, value]) => `${name}=${name === secret ? '<hidden>' : formatValue(value)}`);
  return [methodName(method.id), ...fields].join(' ');
}

function describeContentHeader(payload: Uint8Array): string {
  try {
    const reader = new Reader(payload);
    reader.uint16(); // class id
    reader.uint16(); // weight, always 0
    return `content header ${reader.uint64()} bytes`;
  } catch (error) {
    if (!AmqpError.isInstance(error)) throw error;
    return `undecodable content header of ${payload.length} bytes: ${error.message}`;
  }
}

/** Formats a method field or field-table value on one line. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= MAX_STRING_LENGTH) return JSON.stringify(value);
    return `${JSON.stringify(`${value.slice(0, MAX_STRING_LENGTH)}...`)} (${value.length} characters)`;
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Decimal) return value.toString();
  if (value instanceof TypedValue) return formatValue(value.value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, entry]) => `${key}: ${formatValue(entry)}`).join(', ')}}`;
  }
  return String(value);
}
