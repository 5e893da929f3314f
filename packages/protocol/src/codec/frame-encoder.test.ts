import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { BasicPublish, decodeMethod } from '../generated/methods.js';
import { type BasicProperties, readBasicProperties } from '../generated/properties.js';
import { type Frame, FrameDecoder } from './frame-decoder.js';
import {
  type EncodableMethod,
  HEARTBEAT_FRAME,
  INLINE_BODY_LIMIT,
  PROTOCOL_HEADER,
  encodeContentFrames,
  encodeMethodFrame,
} from './frame-encoder.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

/** A stand-in for a generated method: basic.publish (60, 40) with a routing key. */
function publishMethod(routingKey: string): EncodableMethod {
  return {
    encode(writer: Writer): void {
      writer.uint16(60);
      writer.uint16(40);
      writer.uint16(0);
      writer.shortstr('');
      writer.shortstr(routingKey);
      writer.uint8(0);
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

function decodeAll(chunks: Uint8Array[], frameMax = 4096): Frame[] {
  const decoder = new FrameDecoder();
  decoder.frameMax = frameMax;
  // A real connection's decoder has seen connection.start before any content arrives.
  decoder.push(HEARTBEAT_FRAME);
  decoder.next();
  decoder.push(concat(chunks));

  const frames: Frame[] = [];
  for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
  expect(decoder.bufferedBytes).toBe(0);
  return frames;
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
 * Returns the first index where the byte arrays differ, or -1 when they are equal. Deep equality
 * on megabyte arrays takes seconds, so body checks use this instead.
 */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let index = 0; index < length; index++) {
    if (actual[index] !== expected[index]) return index;
  }
  return actual.length === expected.length ? -1 : length;
}

function filledBody(size: number): Uint8Array {
  const body = new Uint8Array(size);
  for (let index = 0; index < size; index++) body[index] = (index * 31 + 7) & 0xff;
  return body;
}

describe('constants', () => {
  it('PROTOCOL_HEADER is AMQP 0 0 9 1', () => {
    expect([...PROTOCOL_HEADER]).toEqual([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
  });

  it('HEARTBEAT_FRAME decodes as a heartbeat', () => {
    expect([...HEARTBEAT_FRAME]).toEqual([8, 0, 0, 0, 0, 0, 0, 0xce]);

    const decoder = new FrameDecoder();
    decoder.push(HEARTBEAT_FRAME);
    const frame = decoder.next()!;
    expect(frame.type).toBe(8);
    expect(frame.channel).toBe(0);
    expect(frame.payload.length).toBe(0);
  });
});

describe('encodeMethodFrame', () => {
  it('round-trips through the decoder', () => {
    const writer = new Writer();
    const frame = encodeMethodFrame(writer, 5, publishMethod('jobs'));

    const [decoded] = decodeAll([frame]);
    expect(decoded!.type).toBe(1);
    expect(decoded!.channel).toBe(5);
    const reader = new Reader(decoded!.payload);
    expect(reader.uint16()).toBe(60);
    expect(reader.uint16()).toBe(40);
    expect(reader.uint16()).toBe(0);
    expect(reader.shortstr()).toBe('');
    expect(reader.shortstr()).toBe('jobs');
    expect(reader.uint8()).toBe(0);
    expect(reader.remaining).toBe(0);
  });

  it('round-trips a generated method', () => {
    const frame = encodeMethodFrame(new Writer(), 2, new BasicPublish('orders', 'eu.created', true, false));

    const [decoded] = decodeAll([frame]);
    const method = decodeMethod(new Reader(decoded!.payload));
    expect(method).toBeInstanceOf(BasicPublish);
    expect(method).toMatchObject({ exchange: 'orders', routingKey: 'eu.created', mandatory: true, immediate: false });
  });

  it('sets the size when the slab fills mid-frame', () => {
    // Each frame outgrows the 16-byte slab, so the writer moves it while the method encodes.
    const writer = new Writer(16);
    const frames = [
      encodeMethodFrame(writer, 1, publishMethod('a')),
      encodeMethodFrame(writer, 2, publishMethod('a longer routing key')),
      encodeMethodFrame(writer, 3, publishMethod('x'.repeat(200))),
    ];

    const decoded = decodeAll(frames);
    expect(decoded.map((frame) => frame.channel)).toEqual([1, 2, 3]);
    expect(decoded.map((frame) => frame.payload.length)).toEqual([10, 29, 209]);
  });

  it('leaves earlier frames intact', () => {
    const writer = new Writer(64);
    const first = encodeMethodFrame(writer, 1, publishMethod('first'));
    const copy = first.slice();
    encodeMethodFrame(writer, 2, publishMethod('second'));

    expect(first).toEqual(copy);
  });

  it.each([-1, 65536, 1.5, Number.NaN])('rejects channel %s', (channel) => {
    const error = captureError(() => encodeMethodFrame(new Writer(), channel, publishMethod('a')));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('CHANNEL_INVALID');
  });

  it('accepts channels 0 and 65535', () => {
    const frames = [encodeMethodFrame(new Writer(), 0, publishMethod('a')), encodeMethodFrame(new Writer(), 65535, publishMethod('a'))];

    expect(decodeAll(frames).map((frame) => frame.channel)).toEqual([0, 65535]);
  });

  it('rejects a frame over frameMax', () => {
    const huge: EncodableMethod = { encode: (writer) => writer.longstr('x'.repeat(5000)) };

    const error = captureError(() => encodeMethodFrame(new Writer(), 1, huge, 4096));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('METHOD_FRAME_TOO_LARGE');
    expect(encodeMethodFrame(new Writer(), 1, huge, 8192).length).toBe(5012);
  });
});

describe('encodeContentFrames', () => {
  const properties: BasicProperties = { contentType: 'application/octet-stream', deliveryMode: 2 };

  function encode(body: Uint8Array, frameMax = 4096, writer = new Writer()): Uint8Array[] {
    const output: Uint8Array[] = [];
    encodeContentFrames(writer, 3, publishMethod('jobs'), 60, properties, body, frameMax, output);
    return output;
  }

  it.each([
    [0, 0],
    [1, 1],
    [4087, 1],
    [4088, 1],
    [4089, 2],
    [1_048_576, 257],
  ])('splits a %i-byte body into %i body frames', (size, count) => {
    const body = filledBody(size);
    const frames = decodeAll(encode(body));
    const bodyFrames = frames.filter((frame) => frame.type === 3);

    expect(frames.slice(0, 2).map((frame) => frame.type)).toEqual([1, 2]);
    expect(frames.slice(2).every((frame) => frame.type === 3)).toBe(true);
    expect(bodyFrames).toHaveLength(count);
    expect(bodyFrames.every((frame) => frame.payload.length <= 4088)).toBe(true);
    expect(bodyFrames.every((frame) => frame.channel === 3)).toBe(true);
    expect(firstDifference(concat(bodyFrames.map((frame) => frame.payload)), body)).toBe(-1);
  });

  it('encodes the content header', () => {
    const [, header] = decodeAll(encode(filledBody(5000)));
    const reader = new Reader(header!.payload);

    expect(header!.type).toBe(2);
    expect(header!.channel).toBe(3);
    expect(reader.uint16()).toBe(60);
    expect(reader.uint16()).toBe(0);
    expect(reader.uint64()).toBe(5000);
    expect(readBasicProperties(reader)).toEqual(properties);
    expect(reader.remaining).toBe(0);
  });

  it('frames the body as views of it', () => {
    const body = filledBody(10_000);
    const output = encode(body);
    const bodyChunks = output.filter((chunk) => chunk.buffer === body.buffer);

    expect(bodyChunks.map((chunk) => chunk.byteOffset)).toEqual([0, 4088, 8176]);
    expect(bodyChunks.map((chunk) => chunk.length)).toEqual([4088, 4088, 1824]);
    expect(concat(bodyChunks)).toEqual(body);
  });

  it('frames a view of a larger buffer without copying', () => {
    const buffer = filledBody(9000);
    const body = buffer.subarray(100, 8300);
    const output = encode(body);

    const bodyChunks = output.filter((chunk) => chunk.buffer === buffer.buffer);
    expect(bodyChunks.map((chunk) => chunk.byteOffset)).toEqual([100, 4188, 8276]);
    expect(concat(bodyChunks)).toEqual(body);
  });

  it('joins the method, header and first body header', () => {
    const output = encode(filledBody(5000));

    // The first writer chunk, two body views, and a writer chunk after each view.
    expect(output).toHaveLength(5);
    const decoder = new FrameDecoder();
    decoder.push(output[0]!);
    expect(decoder.next()?.type).toBe(1);
    expect(decoder.next()?.type).toBe(2);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(7);
    expect(output[2]).toHaveLength(8);
    expect(output[4]).toHaveLength(1);
  });

  it('copies a small body into one chunk', () => {
    const body = filledBody(INLINE_BODY_LIMIT);
    const output = encode(body);

    expect(output).toHaveLength(1);
    expect(output[0]!.buffer).not.toBe(body.buffer);
    const frames = decodeAll(output);
    expect(frames.map((frame) => frame.type)).toEqual([1, 2, 3]);
    expect(frames[2]!.payload).toEqual(body);
  });

  it('sends a body over the inline limit as a view', () => {
    const body = filledBody(INLINE_BODY_LIMIT + 1);
    const output = encode(body);

    expect(output).toHaveLength(3);
    expect(output[1]!.buffer).toBe(body.buffer);
    expect(decodeAll(output)[2]!.payload).toEqual(body);
  });

  it('encodes correctly on a small slab', () => {
    const body = filledBody(9000);
    const frames = decodeAll(encode(body, 4096, new Writer(32)));

    expect(frames.map((frame) => frame.type)).toEqual([1, 2, 3, 3, 3]);
    expect(concat(frames.slice(2).map((frame) => frame.payload))).toEqual(body);
  });

  it('uses the whole of a larger frameMax', () => {
    const body = filledBody(300_000);
    const frames = decodeAll(encode(body, 131072), 131072);
    const bodyFrames = frames.filter((frame) => frame.type === 3);

    expect(bodyFrames.map((frame) => frame.payload.length)).toEqual([131064, 131064, 37872]);
  });

  it('rejects frameMax under 4096', () => {
    const output: Uint8Array[] = [];
    const error = captureError(() =>
      encodeContentFrames(new Writer(), 1, publishMethod('a'), 60, properties, filledBody(10), 4095, output),
    );

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('FRAME_MAX_INVALID');
    expect(output).toEqual([]);
  });

  it('rejects an invalid channel', () => {
    const output: Uint8Array[] = [];
    const error = captureError(() =>
      encodeContentFrames(new Writer(), 65536, publishMethod('a'), 60, properties, filledBody(10), 4096, output),
    );

    expect((error as InvalidArgumentError).code).toBe('CHANNEL_INVALID');
    expect(output).toEqual([]);
  });

  it('rejects an invalid class id', () => {
    const output: Uint8Array[] = [];
    const error = captureError(() =>
      encodeContentFrames(new Writer(), 1, publishMethod('a'), 70000, properties, filledBody(10), 4096, output),
    );

    expect((error as InvalidArgumentError).code).toBe('CLASS_ID_INVALID');
    expect(output).toEqual([]);
  });

  it('rejects properties over frameMax without output', () => {
    const output: Uint8Array[] = [];
    const large: BasicProperties = { headers: { note: 'x'.repeat(5000) } };
    const error = captureError(() =>
      encodeContentFrames(new Writer(), 1, publishMethod('a'), 60, large, filledBody(10), 4096, output),
    );

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('HEADER_FRAME_TOO_LARGE');
    expect(output).toEqual([]);
  });

  it('reassembles any body at any frameMax', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 4096, max: 9000 }), (size, frameMax) => {
        const body = filledBody(size);
        const frames = decodeAll(encode(body, frameMax), frameMax);
        const bodyFrames = frames.filter((frame) => frame.type === 3);

        expect(bodyFrames).toHaveLength(Math.ceil(size / (frameMax - 8)));
        expect(firstDifference(concat(bodyFrames.map((frame) => frame.payload)), body)).toBe(-1);
      }),
      { numRuns: 200 },
    );
  });
});
