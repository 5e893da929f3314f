import { InvalidArgumentError } from '../errors.js';
import { FRAME_END, FRAME_MIN_SIZE, FrameType } from '../generated/constants.js';
import { type BasicProperties, writeBasicProperties } from '../generated/properties.js';
import type { Writer } from './writer.js';

/** A method that writes its class id, method id and arguments, such as any generated method class. */
export interface EncodableMethod {
  encode(writer: Writer): void;
}

/** Bytes that open every connection: 'AMQP', protocol id 0 and version 0-9-1. Do not modify them. */
export const PROTOCOL_HEADER: Uint8Array = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** A complete heartbeat frame: type 8, channel 0, empty payload, end octet. Do not modify it. */
export const HEARTBEAT_FRAME: Uint8Array = new Uint8Array([FrameType.heartbeat, 0, 0, 0, 0, 0, 0, FRAME_END]);

const FRAME_HEADER_SIZE = 7;
/** Bytes of a frame that `frame_max` counts besides the payload: the frame header and the end octet. */
const FRAME_OVERHEAD = FRAME_HEADER_SIZE + 1;
const FRAME_MAX_LIMIT = 0xffffffff;
/**
 * Largest body that is copied into the writer next to its frame header instead of being sent as
 * a view. For small messages a separate chunk costs the socket and the garbage collector more
 * than copying the bytes does, as the publish benchmark in docs/benchmarks.md showed.
 */
export const INLINE_BODY_LIMIT = 1024;

/**
 * Encodes a method frame and returns it as one view of the writer's slab.
 *
 * @param frameMax when given, the negotiated frame_max that the frame must fit in.
 * @throws InvalidArgumentError `CHANNEL_INVALID` unless `channel` is an integer from 0 to 65535,
 *   `FRAME_MAX_INVALID` for a `frameMax` outside 4096 to 2^32-1, `METHOD_FRAME_TOO_LARGE` when
 *   the frame exceeds `frameMax`, and any error of `method.encode`. Nothing is returned then.
 */
export function encodeMethodFrame(writer: Writer, channel: number, method: EncodableMethod, frameMax?: number): Uint8Array {
  validateChannel(channel);
  if (frameMax !== undefined) validateFrameMax(frameMax);

  writer.begin();
  writeFrame(writer, FrameType.method, channel, frameMax ?? FRAME_MAX_LIMIT, method, undefined, 0, 0);
  return writer.finish();
}

/**
 * Encodes a method that carries content, such as `basic.publish`, with its content header and
 * body, and appends the resulting chunks to `output` in wire order.
 *
 * The method frame and the content header frame form the first chunk. A body of at most
 * `INLINE_BODY_LIMIT` bytes that fits one frame is copied into that chunk too, so a small message
 * is one chunk. A larger body is sent as views of `body`, not copies, so `body` must not change
 * until the chunks are written. It is split into frames of at most `frameMax - 8` payload bytes;
 * the first chunk ends with the first body frame's header, and each writer chunk between two
 * views contains the end octet of one body frame and the header of the next. An empty body
 * produces no body frame.
 *
 * @param classId class of the content header, 60 for basic.
 * @param frameMax negotiated frame_max, header and end octet included.
 * @throws InvalidArgumentError `CHANNEL_INVALID`, `CLASS_ID_INVALID` or `FRAME_MAX_INVALID` for
 *   an argument out of range, `METHOD_FRAME_TOO_LARGE` or `HEADER_FRAME_TOO_LARGE` when the
 *   method or the properties do not fit in one frame, and any error of `method.encode` or of
 *   the property writer. `output` is unchanged when it throws.
 */
export function encodeContentFrames(
  writer: Writer,
  channel: number,
  method: EncodableMethod,
  classId: number,
  properties: BasicProperties,
  body: Uint8Array,
  frameMax: number,
  output: Uint8Array[],
): void {
  validateChannel(channel);
  validateFrameMax(frameMax);
  if (!Number.isInteger(classId) || classId < 0 || classId > 0xffff) {
    throw new InvalidArgumentError(`class id ${classId} is invalid; expected an integer from 0 to 65535`, 'CLASS_ID_INVALID');
  }

  const maxPayload = frameMax - FRAME_OVERHEAD;
  const inline = body.length <= INLINE_BODY_LIMIT && body.length <= maxPayload;

  // The method frame, the content header frame and either the whole small body frame or the
  // first body frame's header form one message of the writer, so they leave as one chunk.
  writer.begin();
  writeFrame(writer, FrameType.method, channel, frameMax, method, undefined, 0, 0);
  writeFrame(writer, FrameType.header, channel, frameMax, undefined, properties, classId, body.length);
  if (body.length === 0) {
    output.push(writer.finish());
    return;
  }
  if (inline) {
    writeFrameHeader(writer, FrameType.body, channel, body.length);
    writer.bytes(body);
    writer.uint8(FRAME_END);
    output.push(writer.finish());
    return;
  }

  writeFrameHeader(writer, FrameType.body, channel, Math.min(maxPayload, body.length));
  output.push(writer.finish());
  for (let start = 0; start < body.length; start += maxPayload) {
    const end = Math.min(start + maxPayload, body.length);
    output.push(body.subarray(start, end));

    writer.begin();
    writer.uint8(FRAME_END);
    if (end < body.length) {
      writeFrameHeader(writer, FrameType.body, channel, Math.min(maxPayload, body.length - end));
    }
    output.push(writer.finish());
  }
}

/**
 * Writes a method frame (when `method` is given) or a content header frame into the current
 * message of the writer, filling in its size afterwards.
 * @throws InvalidArgumentError `METHOD_FRAME_TOO_LARGE` or `HEADER_FRAME_TOO_LARGE` when the
 *   frame exceeds `frameMax`.
 */
function writeFrame(
  writer: Writer,
  type: number,
  channel: number,
  frameMax: number,
  method: EncodableMethod | undefined,
  properties: BasicProperties | undefined,
  classId: number,
  bodySize: number,
): void {
  const start = writer.position;
  writeFrameHeader(writer, type, channel, 0);
  if (method !== undefined) {
    method.encode(writer);
  } else {
    writer.uint16(classId);
    // The weight field is unused and must be 0.
    writer.uint16(0);
    writer.uint64(bodySize);
    writeBasicProperties(writer, properties!);
  }
  writer.uint8(FRAME_END);

  const length = writer.position - start;
  if (length > frameMax) throw frameTooLarge(method === undefined ? 'content header' : 'method', length, frameMax);
  writer.patchUint32(start + 3, length - FRAME_OVERHEAD);
}

function frameTooLarge(kind: 'method' | 'content header', length: number, frameMax: number): InvalidArgumentError {
  if (kind === 'method') {
    return new InvalidArgumentError(
      `method frame of ${length} bytes exceeds frame_max ${frameMax}; shorten its arguments, such as a large table`,
      'METHOD_FRAME_TOO_LARGE',
    );
  }
  return new InvalidArgumentError(
    `content header frame of ${length} bytes exceeds frame_max ${frameMax}; shorten the message properties, such as the headers table`,
    'HEADER_FRAME_TOO_LARGE',
  );
}

function writeFrameHeader(writer: Writer, type: number, channel: number, size: number): void {
  writer.uint8(type);
  writer.uint16(channel);
  writer.uint32(size);
}

function validateChannel(channel: number): void {
  if (Number.isInteger(channel) && channel >= 0 && channel <= 0xffff) return;

  throw new InvalidArgumentError(`channel ${channel} is invalid; expected an integer from 0 to 65535`, 'CHANNEL_INVALID');
}

function validateFrameMax(frameMax: number): void {
  if (Number.isInteger(frameMax) && frameMax >= FRAME_MIN_SIZE && frameMax <= FRAME_MAX_LIMIT) return;

  throw new InvalidArgumentError(
    `frameMax ${frameMax} is invalid; expected an integer from ${FRAME_MIN_SIZE} to ${FRAME_MAX_LIMIT}`,
    'FRAME_MAX_INVALID',
  );
}
