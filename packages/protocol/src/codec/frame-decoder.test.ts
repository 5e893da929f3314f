import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameError, InvalidArgumentError } from '../errors.js';
import { recordAllocations } from '../testing/allocations.js';
import { type Frame, FrameDecoder } from './frame-decoder.js';

/** Builds a frame by hand, so these tests do not depend on the encoder. */
function frameBytes(type: number, channel: number, payload: Uint8Array | number[], end = 0xce): Uint8Array {
  const bytes = new Uint8Array(8 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint16(1, channel);
  view.setUint32(3, payload.length);
  bytes.set(payload, 7);
  bytes[7 + payload.length] = end;
  return bytes;
}

/** Builds only the 7-byte header of a frame that announces `size` payload bytes. */
function headerBytes(type: number, channel: number, size: number): Uint8Array {
  const bytes = new Uint8Array(7);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint16(1, channel);
  view.setUint32(3, size);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

function drain(decoder: FrameDecoder): Frame[] {
  const frames: Frame[] = [];
  for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
  return frames;
}

/** Copies the frames into plain arrays, so that views and copies compare equal. */
function plain(frames: Frame[]): { type: number; channel: number; payload: number[] }[] {
  return frames.map((frame) => ({ type: frame.type, channel: frame.channel, payload: [...frame.payload] }));
}

function expected(...frames: [type: number, channel: number, payload: number[]][]) {
  return frames.map(([type, channel, payload]) => ({ type, channel, payload }));
}

function captureError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

/**
 * Runs `action` and returns the length of every `new Uint8Array(length)` made meanwhile. Views
 * from `subarray()` are not counted, because they share memory instead of allocating it.
 */
const HEARTBEAT = frameBytes(8, 0, []);
/** A complete frame that follows the case under test and must survive untouched. */
const TRAILING_FRAME = frameBytes(1, 7, [10, 20, 30, 40, 50]);
/** The first bytes of TRAILING_FRAME: not a complete frame. */
const TRAILING_PART = TRAILING_FRAME.subarray(0, 9);

interface DecodeCase {
  name: string;
  bytes: Uint8Array;
  frames: ReturnType<typeof expected>;
  frameMax?: number;
}

const decodeCases: DecodeCase[] = [
  {
    name: 'method frame',
    bytes: frameBytes(1, 1, [0, 10, 0, 11, 1, 2, 3]),
    frames: expected([1, 1, [0, 10, 0, 11, 1, 2, 3]]),
  },
  { name: 'heartbeat', bytes: HEARTBEAT, frames: expected([8, 0, []]) },
  { name: 'empty body frame', bytes: frameBytes(3, 65535, []), frames: expected([3, 65535, []]) },
  {
    name: 'header frame then body frame',
    bytes: concat(frameBytes(2, 2, [0, 60, 0, 0]), frameBytes(3, 2, [104, 105])),
    frames: expected([2, 2, [0, 60, 0, 0]], [3, 2, [104, 105]]),
  },
  {
    name: 'payload of exactly frameMax - 8 bytes',
    bytes: frameBytes(3, 1, new Array<number>(4088).fill(7)),
    frames: expected([3, 1, new Array<number>(4088).fill(7)]),
  },
  {
    name: 'frame over 4096 bytes after frameMax is raised',
    bytes: frameBytes(3, 1, new Array<number>(10000).fill(9)),
    frames: expected([3, 1, new Array<number>(10000).fill(9)]),
    frameMax: 131072,
  },
];

function createDecoder(frameMax?: number): FrameDecoder {
  const decoder = new FrameDecoder();
  if (frameMax !== undefined) decoder.frameMax = frameMax;
  return decoder;
}

describe('FrameDecoder', () => {
  describe.each(decodeCases)('$name', ({ bytes, frames, frameMax }) => {
    it('decodes whole', () => {
      const decoder = createDecoder(frameMax);
      decoder.push(bytes);

      expect(plain(drain(decoder))).toEqual(frames);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('decodes one byte at a time', () => {
      const decoder = createDecoder(frameMax);
      const decoded: Frame[] = [];
      for (let index = 0; index < bytes.length; index++) {
        decoder.push(bytes.slice(index, index + 1));
        decoded.push(...drain(decoder));
      }

      expect(plain(decoded)).toEqual(frames);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('leaves trailing bytes untouched', () => {
      const decoder = createDecoder(frameMax);
      decoder.push(concat(bytes, TRAILING_PART));

      expect(plain(drain(decoder))).toEqual(frames);
      expect(decoder.bufferedBytes).toBe(TRAILING_PART.length);

      decoder.push(TRAILING_FRAME.subarray(TRAILING_PART.length));
      expect(plain(drain(decoder))).toEqual(expected([1, 7, [10, 20, 30, 40, 50]]));
      expect(decoder.bufferedBytes).toBe(0);
    });
  });

  interface ErrorCase {
    name: string;
    bytes: Uint8Array;
    code: string;
    /** Number of bytes after which the decoder must throw when fed one byte at a time. */
    throwsAfter: number;
    message: RegExp;
  }

  const errorCases: ErrorCase[] = [
    {
      name: 'size over frameMax',
      bytes: frameBytes(3, 1, new Array<number>(4089).fill(0)),
      code: 'FRAME_TOO_LARGE',
      throwsAfter: 7,
      message: /4089-byte payload, over the limit of 4088 bytes \(frame_max 4096/,
    },
    {
      name: 'size over frameMax with unknown type',
      bytes: headerBytes(99, 1, 0xffffffff),
      code: 'FRAME_TOO_LARGE',
      throwsAfter: 7,
      message: /4294967295-byte payload/,
    },
    {
      name: 'unknown frame type',
      bytes: frameBytes(4, 1, [1, 2]),
      code: 'FRAME_TYPE_UNKNOWN',
      throwsAfter: 7,
      message: /unknown frame type 4 on channel 1/,
    },
    {
      name: 'invalid end octet',
      bytes: frameBytes(1, 1, [1, 2, 3], 0xcd),
      code: 'FRAME_END_INVALID',
      throwsAfter: 11,
      message: /frame end octet is 0xCD .* expected 0xCE/,
    },
    {
      name: 'heartbeat on channel 1',
      bytes: frameBytes(8, 1, []),
      code: 'HEARTBEAT_INVALID',
      throwsAfter: 7,
      message: /heartbeat frame on channel 1/,
    },
    {
      name: 'heartbeat with a payload',
      bytes: frameBytes(8, 0, [1]),
      code: 'HEARTBEAT_INVALID',
      throwsAfter: 7,
      message: /with 1 payload bytes/,
    },
    {
      name: 'protocol header 0-9-1 from the broker',
      bytes: new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]),
      code: 'PROTOCOL_VERSION_MISMATCH',
      throwsAfter: 8,
      message: /"AMQP" 0 0 9 1/,
    },
    {
      name: 'protocol header 0-8 from the broker',
      bytes: new Uint8Array([0x41, 0x4d, 0x51, 0x50, 1, 1, 8, 0]),
      code: 'PROTOCOL_VERSION_MISMATCH',
      throwsAfter: 8,
      message: /"AMQP" 1 1 8 0/,
    },
    {
      name: 'protocol header after the first frame',
      bytes: concat(HEARTBEAT, new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])),
      code: 'FRAME_TOO_LARGE',
      throwsAfter: 15,
      message: /frame of type 65 on channel 19793/,
    },
    {
      name: 'first byte A without MQP',
      bytes: frameBytes(0x41, 0, [1]),
      code: 'FRAME_TYPE_UNKNOWN',
      throwsAfter: 7,
      message: /unknown frame type 65/,
    },
  ];

  describe.each(errorCases)('rejects $name', ({ bytes, code, throwsAfter, message }) => {
    function expectFrameError(error: unknown): void {
      expect(error).toBeInstanceOf(FrameError);
      expect((error as FrameError).code).toBe(code);
      expect((error as FrameError).replyCode).toBe(501);
      expect((error as FrameError).message).toMatch(message);
    }

    it('decodes whole', () => {
      const decoder = new FrameDecoder();
      decoder.push(bytes);

      expectFrameError(captureError(() => drain(decoder)));
    });

    it('decodes one byte at a time', () => {
      const decoder = new FrameDecoder();
      for (let index = 0; index < throwsAfter - 1; index++) {
        decoder.push(bytes.slice(index, index + 1));
        drain(decoder);
      }
      decoder.push(bytes.slice(throwsAfter - 1, throwsAfter));

      expectFrameError(captureError(() => drain(decoder)));
    });

    it('ignores trailing bytes', () => {
      const decoder = new FrameDecoder();
      decoder.push(concat(bytes, TRAILING_FRAME));

      expectFrameError(captureError(() => drain(decoder)));
    });

    it('stays failed', () => {
      const decoder = new FrameDecoder();
      decoder.push(bytes);
      const error = captureError(() => drain(decoder));

      expect(captureError(() => decoder.next())).toBe(error);
      expect(captureError(() => decoder.push(HEARTBEAT))).toBe(error);
      expect(decoder.bufferedBytes).toBe(0);
    });
  });

  describe('frame size limit', () => {
    it('rejects a 2^32-1 byte frame from its header alone', () => {
      const decoder = new FrameDecoder();
      decoder.push(headerBytes(3, 1, 0xffffffff));

      const error = captureError(() => decoder.next());
      expect((error as FrameError).code).toBe('FRAME_TOO_LARGE');
    });

    it('allocates nothing for a rejected frame', () => {
      const decoder = new FrameDecoder();
      decoder.push(concat(headerBytes(3, 1, 0xffffffff), new Uint8Array(100)));

      const allocations = recordAllocations(() => captureError(() => decoder.next()));
      expect(allocations).toEqual([]);
    });

    it('allocates nothing before payload arrives', () => {
      const decoder = new FrameDecoder();
      decoder.frameMax = 0xffffffff;
      decoder.push(headerBytes(3, 1, 0xffffffff - 8));

      const allocations = recordAllocations(() => expect(decoder.next()).toBeUndefined());
      expect(allocations).toEqual([]);
      expect(decoder.bufferedBytes).toBe(7);
    });

    it('allocates a straddling payload once', () => {
      const bytes = frameBytes(3, 1, new Array<number>(100_000).fill(3));
      const decoder = new FrameDecoder();
      decoder.frameMax = 200_000;

      const allocations = recordAllocations(() => {
        for (let start = 0; start < bytes.length; start += 1000) {
          decoder.push(bytes.subarray(start, start + 1000));
          drain(decoder);
        }
      });
      expect(allocations).toEqual([100_000]);
    });

    it('checks size before type', () => {
      const decoder = new FrameDecoder();
      decoder.push(headerBytes(5, 1, 5000));

      expect((captureError(() => decoder.next()) as FrameError).code).toBe('FRAME_TOO_LARGE');
    });

    it('applies a new frameMax from the next header', () => {
      const decoder = new FrameDecoder();
      decoder.push(frameBytes(3, 1, new Array<number>(5000).fill(1)));

      expect((captureError(() => decoder.next()) as FrameError).code).toBe('FRAME_TOO_LARGE');

      const raised = new FrameDecoder();
      raised.frameMax = 5008;
      raised.push(frameBytes(3, 1, new Array<number>(5000).fill(1)));
      expect(raised.next()?.payload.length).toBe(5000);
    });

    it.each([0, 4095, 4096.5, 2 ** 32, Number.NaN])('rejects frameMax %s', (value) => {
      const decoder = new FrameDecoder();

      const error = captureError(() => {
        decoder.frameMax = value;
      });
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('FRAME_MAX_INVALID');
      expect(decoder.frameMax).toBe(4096);
    });

    it('accepts frameMax 2^32-1', () => {
      const decoder = new FrameDecoder();
      decoder.frameMax = 0xffffffff;

      expect(decoder.frameMax).toBe(0xffffffff);
    });
  });

  describe('views and copies', () => {
    it('returns a view when the frame is in one chunk', () => {
      const chunk = concat(HEARTBEAT, frameBytes(1, 3, [1, 2, 3, 4]));
      const decoder = new FrameDecoder();
      decoder.push(chunk);
      decoder.next();
      const frame = decoder.next()!;

      expect(frame.payload.buffer).toBe(chunk.buffer);
      expect(frame.payload.byteOffset).toBe(15);
      expect([...frame.payload]).toEqual([1, 2, 3, 4]);
    });

    it('returns a view when only the header straddles', () => {
      const bytes = frameBytes(1, 3, [1, 2, 3, 4]);
      const second = bytes.slice(4);
      const decoder = new FrameDecoder();
      decoder.push(bytes.slice(0, 4));
      decoder.push(second);
      const frame = decoder.next()!;

      expect(frame.payload.buffer).toBe(second.buffer);
      expect([...frame.payload]).toEqual([1, 2, 3, 4]);
    });

    it('copies a frame that straddles three chunks', () => {
      const payload = Array.from({ length: 20 }, (_, index) => index + 1);
      const bytes = frameBytes(3, 9, payload);
      // The header straddles the first two chunks and the payload the last two.
      const chunks = [bytes.slice(0, 3), bytes.slice(3, 15), bytes.slice(15)];
      const decoder = new FrameDecoder();

      decoder.push(chunks[0]!);
      expect(decoder.next()).toBeUndefined();
      decoder.push(chunks[1]!);
      expect(decoder.next()).toBeUndefined();
      expect(decoder.bufferedBytes).toBe(15);
      decoder.push(chunks[2]!);
      const frame = decoder.next()!;

      expect(frame.type).toBe(3);
      expect(frame.channel).toBe(9);
      expect([...frame.payload]).toEqual(payload);
      expect(frame.payload.buffer.byteLength).toBe(20);
      for (const chunk of chunks) expect(frame.payload.buffer).not.toBe(chunk.buffer);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('copies straddling body into bodyTarget', () => {
      const payload = Array.from({ length: 20 }, (_, index) => index + 1);
      const bytes = concat(frameBytes(1, 9, [7, 7]), frameBytes(3, 9, payload));
      const body = new Uint8Array(30);
      const calls: Array<[number, number]> = [];
      const decoder = new FrameDecoder();
      decoder.bodyTarget = (channel, size) => {
        calls.push([channel, size]);
        return body.subarray(5, 5 + size);
      };

      // The method frame lies in the first chunk and the body payload straddles both.
      decoder.push(bytes.slice(0, 20));
      expect(decoder.next()?.type).toBe(1);
      expect(decoder.next()).toBeUndefined();
      decoder.push(bytes.slice(20));
      const frame = decoder.next()!;

      expect(calls).toEqual([[9, 20]]);
      expect(frame.payload.buffer).toBe(body.buffer);
      expect(frame.payload.byteOffset).toBe(5);
      expect([...body.subarray(5, 25)]).toEqual(payload);
      expect(decoder.payloadBytes.buffer).toBe(body.buffer);
    });

    it('asks bodyTarget for straddling bodies only', () => {
      const calls: number[] = [];
      const decoder = new FrameDecoder();
      decoder.bodyTarget = (_channel, size) => {
        calls.push(size);
        return undefined;
      };
      const method = frameBytes(1, 1, new Array<number>(30).fill(1));
      const header = frameBytes(2, 1, new Array<number>(30).fill(2));
      const whole = frameBytes(3, 1, [1, 2, 3]);
      const straddling = frameBytes(3, 1, new Array<number>(30).fill(4));
      for (const bytes of [method, header]) {
        decoder.push(bytes.slice(0, 10));
        decoder.push(bytes.slice(10));
        expect(decoder.next()?.payload.length).toBe(30);
      }
      decoder.push(whole);
      expect(decoder.next()?.payload.length).toBe(3);
      decoder.push(straddling.slice(0, 10));
      decoder.push(straddling.slice(10));
      const frame = decoder.next()!;

      expect(calls).toEqual([30]);
      expect([...frame.payload]).toEqual(new Array<number>(30).fill(4));
    });

    it('ignores a bodyTarget view of another size', () => {
      const wrong = new Uint8Array(10);
      const decoder = new FrameDecoder();
      decoder.bodyTarget = () => wrong;
      const bytes = frameBytes(3, 1, new Array<number>(30).fill(4));
      decoder.push(bytes.slice(0, 10));
      decoder.push(bytes.slice(10));
      const frame = decoder.next()!;

      expect(frame.payload.buffer).not.toBe(wrong.buffer);
      expect([...frame.payload]).toEqual(new Array<number>(30).fill(4));
      expect([...wrong]).toEqual(new Array<number>(10).fill(0));
    });

    it('detachChunks copies pending payload and header', () => {
      const first = frameBytes(1, 2, [1, 2, 3, 4]);
      const second = frameBytes(1, 2, [5, 6]);
      const buffer = concat(first.subarray(0, first.length - 1));
      const decoder = new FrameDecoder();
      decoder.push(buffer);
      expect(decoder.next()).toBeUndefined();
      decoder.detachChunks();
      buffer.fill(0);

      const rest = concat(first.subarray(first.length - 1), second.subarray(0, 3));
      decoder.push(rest);
      expect([...decoder.next()!.payload]).toEqual([1, 2, 3, 4]);
      expect(decoder.next()).toBeUndefined();
      decoder.detachChunks();
      rest.fill(0);

      decoder.push(second.slice(3));
      const frame = decoder.next()!;
      expect(frame).toMatchObject({ type: 1, channel: 2 });
      expect([...frame.payload]).toEqual([5, 6]);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('detachChunks puts a pending body payload into bodyTarget', () => {
      const body = new Uint8Array(10);
      const decoder = new FrameDecoder();
      decoder.bodyTarget = (_channel, size) => body.subarray(2, 2 + size);
      const bytes = frameBytes(3, 1, [1, 2, 3, 4]);
      const chunk = bytes.slice(0, bytes.length - 1);
      decoder.push(chunk);
      expect(decoder.next()).toBeUndefined();
      decoder.detachChunks();
      chunk.fill(0);
      decoder.push(bytes.slice(bytes.length - 1));
      const frame = decoder.next()!;

      expect(frame.payload.buffer).toBe(body.buffer);
      expect([...body]).toEqual([0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
    });

    it('detachChunks survives a throwing bodyTarget', () => {
      const decoder = new FrameDecoder();
      decoder.bodyTarget = () => {
        throw new RangeError('out of memory');
      };
      const bytes = frameBytes(3, 1, [1, 2, 3, 4]);
      const chunk = bytes.slice(0, bytes.length - 1);
      decoder.push(chunk);
      expect(decoder.next()).toBeUndefined();
      decoder.detachChunks();
      chunk.fill(0);
      decoder.push(bytes.slice(bytes.length - 1));

      expect([...decoder.next()!.payload]).toEqual([1, 2, 3, 4]);
    });

    it('waits for the end octet of a complete payload', () => {
      const bytes = frameBytes(1, 1, [5, 6]);
      const decoder = new FrameDecoder();
      decoder.push(bytes.subarray(0, 9));

      expect(decoder.next()).toBeUndefined();
      expect(decoder.bufferedBytes).toBe(9);

      decoder.push(bytes.subarray(9));
      expect([...decoder.next()!.payload]).toEqual([5, 6]);
    });
  });

  describe('advance', () => {
    /** Reads frames with `advance()`, copying each payload out of `payloadBytes`. */
    function advanceAll(decoder: FrameDecoder): { type: number; channel: number; payload: number[] }[] {
      const frames: { type: number; channel: number; payload: number[] }[] = [];
      for (let type = decoder.advance(); type !== 0; type = decoder.advance()) {
        const payload = [...decoder.payloadBytes.subarray(decoder.payloadStart, decoder.payloadEnd)];
        frames.push({ type, channel: decoder.channel, payload });
      }
      return frames;
    }

    it.each(decodeCases)('reads $name whole and byte by byte', ({ bytes, frames, frameMax }) => {
      const whole = createDecoder(frameMax);
      whole.push(bytes);
      expect(advanceAll(whole)).toEqual(frames);

      const byByte = createDecoder(frameMax);
      const decoded: ReturnType<typeof advanceAll> = [];
      for (let index = 0; index < bytes.length; index++) {
        byByte.push(bytes.subarray(index, index + 1));
        decoded.push(...advanceAll(byByte));
      }
      expect(decoded).toEqual(frames);
    });

    it('locates a payload in its chunk without copying', () => {
      const chunk = concat(HEARTBEAT, frameBytes(1, 3, [1, 2, 3, 4]), TRAILING_PART);
      const decoder = new FrameDecoder();
      decoder.push(chunk);

      expect(decoder.advance()).toBe(8);
      expect(decoder.advance()).toBe(1);
      expect(decoder.channel).toBe(3);
      expect(decoder.payloadBytes).toBe(chunk);
      expect([decoder.payloadStart, decoder.payloadEnd]).toEqual([15, 19]);
      const payload = decoder.payload();
      expect(payload.buffer).toBe(chunk.buffer);
      expect([...payload]).toEqual([1, 2, 3, 4]);

      expect(decoder.advance()).toBe(0);
      expect(decoder.bufferedBytes).toBe(TRAILING_PART.length);
    });

    it('locates a straddling payload in its copy', () => {
      const bytes = frameBytes(3, 9, [5, 6, 7, 8, 9]);
      const decoder = new FrameDecoder();
      decoder.push(bytes.slice(0, 10));
      expect(decoder.advance()).toBe(0);
      decoder.push(bytes.slice(10));

      expect(decoder.advance()).toBe(3);
      expect(decoder.payloadBytes).toHaveLength(5);
      expect([decoder.payloadStart, decoder.payloadEnd]).toEqual([0, 5]);
      expect(decoder.payload()).toBe(decoder.payloadBytes);
      expect([...decoder.payload()]).toEqual([5, 6, 7, 8, 9]);
    });

    it('reports an empty payload for a heartbeat', () => {
      const decoder = new FrameDecoder();
      decoder.push(HEARTBEAT);

      expect(decoder.advance()).toBe(8);
      expect(decoder.payloadStart).toBe(decoder.payloadEnd);
      expect(decoder.payload()).toHaveLength(0);
    });

    it('mixes with next()', () => {
      const decoder = new FrameDecoder();
      decoder.push(concat(frameBytes(1, 1, [1]), frameBytes(2, 2, [2, 2]), frameBytes(3, 3, [3, 3, 3])));

      expect(decoder.advance()).toBe(1);
      expect(plain([decoder.next()!])).toEqual(expected([2, 2, [2, 2]]));
      expect(decoder.advance()).toBe(3);
      expect([...decoder.payload()]).toEqual([3, 3, 3]);
      expect(decoder.next()).toBeUndefined();
    });

    it('throws the error of a bad frame on every later call', () => {
      const decoder = new FrameDecoder();
      decoder.push(frameBytes(1, 1, [1], 0x00));

      const error = captureError(() => decoder.advance());
      expect((error as FrameError).code).toBe('FRAME_END_INVALID');
      expect(captureError(() => decoder.advance())).toBe(error);
      expect(captureError(() => decoder.next())).toBe(error);
    });
  });

  describe('many frames', () => {
    it('decodes 1000 frames from one chunk', () => {
      const frames = Array.from({ length: 1000 }, (_, index) => frameBytes(1, index % 3, [index & 0xff, index >> 8]));
      const chunk = concat(...frames);
      const decoder = new FrameDecoder();
      decoder.push(chunk);

      const decoded = drain(decoder);
      expect(decoded).toHaveLength(1000);
      expect([...decoded[999]!.payload]).toEqual([999 & 0xff, 999 >> 8]);
      expect(decoded.every((frame) => frame.payload.buffer === chunk.buffer)).toBe(true);
    });

    it('decodes one frame pushed in 1000 chunks', () => {
      const payload = Array.from({ length: 3992 }, (_, index) => index & 0xff);
      const bytes = frameBytes(3, 1, payload);
      const decoder = new FrameDecoder();
      for (let start = 0; start < bytes.length; start += 4) {
        decoder.push(bytes.subarray(start, start + 4));
      }

      expect(decoder.bufferedBytes).toBe(4000);
      expect([...decoder.next()!.payload]).toEqual(payload);
      expect(decoder.next()).toBeUndefined();
    });

    it('keeps frames when chunks arrive before draining', () => {
      const decoder = new FrameDecoder();
      const bytes = concat(frameBytes(1, 1, [1]), frameBytes(1, 2, [2]), frameBytes(1, 3, [3]));
      for (let start = 0; start < bytes.length; start += 5) {
        decoder.push(bytes.subarray(start, start + 5));
      }

      expect(plain(drain(decoder))).toEqual(expected([1, 1, [1]], [1, 2, [2]], [1, 3, [3]]));
    });

    it('keeps frames when chunks end inside headers', () => {
      const decoder = new FrameDecoder();
      const sent = Array.from({ length: 20 }, (_, index) => frameBytes(1, index, [index]));
      const bytes = concat(...sent);
      const decoded: Frame[] = [];
      // With 9-byte frames and 5-byte chunks, most chunks end inside a frame header, so the
      // decoder keeps an unread chunk across pushes.
      for (let start = 0; start < bytes.length; start += 5) {
        decoder.push(bytes.subarray(start, start + 5));
        decoded.push(...drain(decoder));
      }

      expect(plain(decoded)).toEqual(expected(...sent.map((_, index): [number, number, number[]] => [1, index, [index]])));
    });

    it('ignores empty chunks', () => {
      const decoder = new FrameDecoder();
      decoder.push(new Uint8Array(0));
      decoder.push(HEARTBEAT);
      decoder.push(new Uint8Array(0));

      expect(plain(drain(decoder))).toEqual(expected([8, 0, []]));
    });
  });

  it('returns exactly the frames for any chunking', () => {
    const frameArbitrary = fc.oneof(
      fc.record({
        type: fc.constantFrom(1, 2, 3),
        channel: fc.integer({ min: 0, max: 65535 }),
        payload: fc.uint8Array({ maxLength: 300 }),
      }),
      fc.constant({ type: 8, channel: 0, payload: new Uint8Array(0) }),
    );

    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { maxLength: 20 }),
        // Mostly small chunks, so chunk boundaries often fall inside frame headers.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 50 }),
        fc.boolean(),
        (frames, chunkSizes, drainEachChunk) => {
          const bytes = concat(...frames.map((frame) => frameBytes(frame.type, frame.channel, frame.payload)));
          const decoder = new FrameDecoder();
          const decoded: Frame[] = [];

          let start = 0;
          for (let index = 0; start < bytes.length; index++) {
            const size = chunkSizes[index % chunkSizes.length]!;
            decoder.push(bytes.slice(start, start + size));
            start += size;
            if (drainEachChunk) decoded.push(...drain(decoder));
          }
          decoded.push(...drain(decoder));

          expect(plain(decoded)).toEqual(plain(frames));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
    );
  });
});
