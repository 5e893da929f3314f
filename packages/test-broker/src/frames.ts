import { type AnyMethod, FRAME_END, FrameType, methodName } from '@warren/protocol';

/** One frame that the fake broker read from the client. */
export interface ReceivedFrame {
  /** Frame type octet: 1 method, 2 content header, 3 content body, 8 heartbeat (see `FrameType`). */
  readonly type: number;
  readonly channel: number;
  /** Payload without the frame header and end octet, copied out of the socket's buffers. */
  readonly payload: Uint8Array;
  /** The decoded method of a method frame that decoded cleanly. */
  readonly method: AnyMethod | undefined;
  /** The error that decoding a method frame raised, such as `METHOD_UNKNOWN`. Later frames still decode, because the frame boundaries stay intact. */
  readonly decodeError: Error | undefined;
  /** Whether the auto-responder replied to this frame. */
  readonly autoReplied: boolean;
}

/** Options of `encodeRawFrame` that produce malformed frames on purpose. */
export interface RawFrameOptions {
  /** Size written in the frame header. Default: the payload length. */
  announcedSize?: number;
  /** Octet written after the payload. Default: 0xCE, the valid frame end. */
  frameEnd?: number;
  /** Whether to leave out the payload and end octet, so the result is only the 7-byte frame header. */
  headerOnly?: boolean;
}

const FRAME_HEADER_SIZE = 7;

/**
 * Builds a frame byte by byte, without the checks of the protocol encoder. A test can then send
 * what a broker must never send: a wrong announced size or end octet, an unknown type, or a
 * frame header alone.
 */
export function encodeRawFrame(type: number, channel: number, payload: Uint8Array, options: RawFrameOptions = {}): Uint8Array {
  const announcedSize = options.announcedSize ?? payload.length;
  const length = options.headerOnly === true ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + payload.length + 1;
  const frame = new Uint8Array(length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, type);
  view.setUint16(1, channel);
  view.setUint32(3, announcedSize);
  if (options.headerOnly === true) return frame;

  frame.set(payload, FRAME_HEADER_SIZE);
  frame[length - 1] = options.frameEnd ?? FRAME_END;
  return frame;
}

/** Describes a received frame for error messages, such as `channel.open on channel 1`. */
export function describeFrame(frame: ReceivedFrame): string {
  return `${frameKind(frame)} on channel ${frame.channel}`;
}

function frameKind(frame: ReceivedFrame): string {
  switch (frame.type) {
    case FrameType.method:
      if (frame.method !== undefined) return methodName(frame.method.id);
      return `undecodable method frame (${frame.decodeError?.message ?? 'unknown error'})`;
    case FrameType.header:
      return 'content header';
    case FrameType.body:
      return `content body of ${frame.payload.length} bytes`;
    case FrameType.heartbeat:
      return 'heartbeat';
    default:
      return `frame of type ${frame.type}`;
  }
}
