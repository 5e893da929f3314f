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

  const frame = writeMethodFrame(writer, channel, method);
  if (frameMax !== undefined && frame.length > frameMax) {
    throw new InvalidArgumentError(
      `method frame of ${frame.length} bytes exceeds frame_max ${frameMax}; shorten its arguments, such as a large table`,
      'METHOD_FRAME_TOO_LARGE',
    );
  }
  return frame;
}

/**
 * Encodes a method that carries content, such as `basic.publish`, with its content header and
 * body, and appends the resulting chunks to `output` in wire order.
 *
 * Body frames carry views of `body`, not copies, so `body` must not change until the chunks are
 * written. The body is split into frames of at most `frameMax - 8` payload bytes, and an empty
 * body produces no body frame. Frame headers and end octets come from the writer, and writer
 * bytes that are adjacent in its slab share one chunk. So the method frame, the content header
 * frame and the first body frame header usually form the first chunk. Each later writer chunk
 * contains the end octet of one body frame and the header of the next, or only the last end octet.
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

  const methodFrame = encodeMethodFrame(writer, channel, method, frameMax);
  const headerFrame = writeHeaderFrame(writer, channel, classId, properties, body.length);
  if (headerFrame.length > frameMax) {
    throw new InvalidArgumentError(
      `content header frame of ${headerFrame.length} bytes exceeds frame_max ${frameMax}; shorten the message properties, such as the headers table`,
      'HEADER_FRAME_TOO_LARGE',
    );
  }

  // Nothing below can throw, so `output` receives either every frame or none.
  let chunk = appendOrJoin(output, methodFrame, headerFrame);
  if (body.length === 0) {
    output.push(chunk);
    return;
  }

  const maxPayload = frameMax - FRAME_OVERHEAD;
  writer.begin();
  writeFrameHeader(writer, FrameType.body, channel, Math.min(maxPayload, body.length));
  chunk = appendOrJoin(output, chunk, writer.finish());
  output.push(chunk);

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

function writeMethodFrame(writer: Writer, channel: number, method: EncodableMethod): Uint8Array {
  writer.begin();
  writeFrameHeader(writer, FrameType.method, channel, 0);
  method.encode(writer);
  writer.uint8(FRAME_END);
  return finishFrame(writer);
}

function writeHeaderFrame(
  writer: Writer,
  channel: number,
  classId: number,
  properties: BasicProperties,
  bodySize: number,
): Uint8Array {
  writer.begin();
  writeFrameHeader(writer, FrameType.header, channel, 0);
  writer.uint16(classId);
  // The weight field is unused and must be 0.
  writer.uint16(0);
  writer.uint64(bodySize);
  writeBasicProperties(writer, properties);
  writer.uint8(FRAME_END);
  return finishFrame(writer);
}

function writeFrameHeader(writer: Writer, type: number, channel: number, size: number): void {
  writer.uint8(type);
  writer.uint16(channel);
  writer.uint32(size);
}

/**
 * Finishes a frame written with a placeholder size and fills in the size. The size goes into the
 * finished view rather than through `writer.patchUint32`, because a write that fills the slab
 * moves the frame to a new slab and invalidates positions recorded before it.
 */
function finishFrame(writer: Writer): Uint8Array {
  const frame = writer.finish();
  const size = frame.length - FRAME_OVERHEAD;
  frame[3] = size >>> 24;
  frame[4] = (size >>> 16) & 0xff;
  frame[5] = (size >>> 8) & 0xff;
  frame[6] = size & 0xff;
  return frame;
}

/**
 * Returns one view of `first` and `second` when they are adjacent in the same buffer. Otherwise
 * appends `first` to `output` and returns `second`.
 */
function appendOrJoin(output: Uint8Array[], first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.buffer === second.buffer && first.byteOffset + first.byteLength === second.byteOffset) {
    return new Uint8Array(first.buffer, first.byteOffset, first.byteLength + second.byteLength);
  }
  output.push(first);
  return second;
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
