/**
 * The engine fed through one read buffer that is overwritten after every `receive`, as the
 * Node.js adapter's TCP transport does. Whatever the engine keeps must be a copy, so every
 * message is checked byte for byte after all reads are done, for read boundaries at every
 * position near each frame edge.
 */
import { describe, expect, test } from 'vitest';
import { encodeContentFrames, encodeMethodFrame, HEARTBEAT_FRAME } from '../codec/frame-encoder.js';
import { Decimal, type FieldTable, typed } from '../codec/field-value.js';
import { Writer } from '../codec/writer.js';
import type { AmqpError } from '../errors.js';
import {
  type AnyMethod,
  BasicConsume,
  BasicConsumeOk,
  BasicDeliver,
  BasicGet,
  BasicGetOk,
  BasicReturn,
  ChannelCloseOk,
  ChannelOpenOk,
  ConnectionOpenOk,
  ConnectionStart,
  ConnectionTune,
} from '../generated/methods.js';
import type { BasicProperties, DecodedBasicProperties } from '../generated/properties.js';
import type { ChannelEngine } from './channel.js';
import { ConnectionEngine } from './connection.js';
import type { Message, ReturnedMessage } from './message.js';
import { plainMechanism } from './sasl.js';

/** Byte written over the read buffer after each read, so that a kept view shows up as corrupted. */
const OVERWRITE = 0xee;

/** A message as the test application received it. */
interface Received {
  kind: 'deliver' | 'get' | 'return';
  channel: number;
  message: Message | ReturnedMessage;
}

/**
 * A broker side that feeds a `ConnectionEngine` through one reused read buffer and records what
 * the application receives.
 */
class ReusedBufferFeed {
  readonly writer = new Writer();
  readonly engine: ConnectionEngine;
  readonly received: Received[] = [];
  readonly channels: ChannelEngine[] = [];
  closeError: AmqpError | undefined;
  readonly #buffer: Uint8Array;

  constructor(frameMax: number, bufferSize: number) {
    this.#buffer = new Uint8Array(bufferSize).fill(OVERWRITE);
    this.engine = new ConnectionEngine(
      { mechanism: plainMechanism('guest', 'guest'), frameMax },
      {
        send: () => {},
        onClose: (error) => {
          this.closeError = error;
        },
      },
    );
    this.engine.start(0);
    this.feed(this.#frame(0, new ConnectionStart(0, 9, { product: 'test' }, 'PLAIN', 'en_US')));
    this.feed(this.#frame(0, new ConnectionTune(2047, frameMax, 0)));
    this.feed(this.#frame(0, new ConnectionOpenOk()));
    expect(this.engine.state).toBe('open');
  }

  /** Opens a channel with a consumer whose tag is `c<channel id>`. */
  openConsumingChannel(): ChannelEngine {
    let opened: ChannelEngine | undefined;
    const id = this.channels.length + 1;
    this.engine.openChannel(
      { onReturn: (message) => this.received.push({ kind: 'return', channel: id, message }) },
      { resolve: (channel) => (opened = channel), reject: (error) => expect.fail(error.message) },
    );
    this.feed(this.#frame(id, new ChannelOpenOk()));
    expect(opened?.id).toBe(id);
    const channel = opened!;
    this.channels.push(channel);
    let tag: string | undefined;
    channel.consume(
      new BasicConsume('q', `c${id}`, false, true),
      { onMessage: (message) => this.received.push({ kind: 'deliver', channel: id, message }) },
      { resolve: (value) => (tag = value), reject: (error) => expect.fail(error.message) },
    );
    this.feed(this.#frame(id, new BasicConsumeOk(`c${id}`)));
    expect(tag).toBe(`c${id}`);
    return channel;
  }

  /** Sends `basic.get` on `channel`; the message it returns is recorded when it arrives. */
  requestGet(channel: ChannelEngine): void {
    channel.get(new BasicGet('q', true), {
      resolve: (message) => {
        if (message !== null) this.received.push({ kind: 'get', channel: channel.id, message });
      },
      reject: (error) => expect.fail(error.message),
    });
  }

  /**
   * Passes `bytes` to the engine in reads that end at `cuts` and fit in the read buffer,
   * copying each read into the reused buffer and overwriting it afterwards.
   */
  feed(bytes: Uint8Array, cuts: readonly number[] = []): void {
    const buffer = this.#buffer;
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut <= start) continue;
      for (let readStart = start; readStart < cut; readStart += buffer.length) {
        const readEnd = Math.min(cut, readStart + buffer.length);
        buffer.set(bytes.subarray(readStart, readEnd));
        this.engine.receive(buffer.subarray(0, readEnd - readStart), 0, true);
        buffer.fill(OVERWRITE, 0, readEnd - readStart);
      }
      start = cut;
    }
  }

  /** Feeds `bytes` in reads of `size` bytes. */
  feedInReadsOf(bytes: Uint8Array, size: number): void {
    const cuts: number[] = [];
    for (let cut = size; cut < bytes.length; cut += size) cuts.push(cut);
    this.feed(bytes, cuts);
  }

  #frame(channel: number, method: AnyMethod): Uint8Array {
    return encodeMethodFrame(this.writer, channel, method).slice();
  }
}

/** Returns `size` pseudo-random bytes that depend on `seed`. */
function patternBytes(seed: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = (seed * 2_654_435_761 + size + 1) >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

function propertiesFor(seed: number): BasicProperties {
  const headers: FieldTable = {
    raw: patternBytes(seed + 1, 40),
    nested: { raw: patternBytes(seed + 2, 9), list: [patternBytes(seed + 3, 3), `s${seed}`] },
    text: `text ${seed} ✓`,
    int64: typed('l', 2 ** 40 + seed),
    decimal: new Decimal(3, seed),
    time: new Date((1_700_000_000 + seed) * 1000),
  };
  return { messageId: `message-${seed}`, correlationId: `c${seed}`, timestamp: new Date(seed * 1000), headers };
}

function decodedPropertiesFor(seed: number): DecodedBasicProperties {
  const properties = propertiesFor(seed);
  return { ...properties, headers: { ...properties.headers, int64: 2 ** 40 + seed } } as DecodedBasicProperties;
}

/** Returns the offset of the first byte where `actual` differs from `expected`, or -1. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let index = 0; index < length; index++) {
    if (actual[index] !== expected[index]) return index;
  }
  return actual.length === expected.length ? -1 : length;
}

/** Splits encoded frames into one array per frame. */
function splitFrames(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = new DataView(bytes.buffer, bytes.byteOffset + offset + 3, 4).getUint32(0);
    frames.push(bytes.slice(offset, offset + size + 8));
    offset += size + 8;
  }
  return frames;
}

/** Encodes a content-carrying method with its header and body frames, one array per frame. */
function contentFrames(writer: Writer, channel: number, method: AnyMethod, seed: number, size: number, frameMax: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  encodeContentFrames(writer, channel, method, 60, propertiesFor(seed), patternBytes(seed, size), frameMax, chunks);
  return splitFrames(concat(chunks));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** What one received message must be. */
interface ExpectedMessage {
  kind: Received['kind'];
  channel: number;
  seed: number;
  size: number;
}

/** Returns a description of the first way `received` differs from `expected`, or undefined. */
function findCorruption(received: readonly Received[], expected: readonly ExpectedMessage[]): string | undefined {
  if (received.length !== expected.length) return `${received.length} messages instead of ${expected.length}`;
  for (const [index, want] of expected.entries()) {
    const got = received[index]!;
    const label = `message ${index} (${want.kind} of ${want.size} bytes on channel ${want.channel})`;
    if (got.kind !== want.kind || got.channel !== want.channel) return `${label} arrived as ${got.kind} on channel ${got.channel}`;
    const difference = firstDifference(got.message.body, patternBytes(want.seed, want.size));
    if (difference !== -1) return `${label}: body differs at byte ${difference} of ${got.message.body.length}`;
    try {
      expect(got.message.properties).toEqual(decodedPropertiesFor(want.seed));
    } catch {
      return `${label}: properties differ: ${JSON.stringify(got.message.properties, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}`;
    }
  }
  return undefined;
}

describe('engine with a reused read buffer', () => {
  const frameMax = 4096;
  const writer = new Writer();
  const channel1 = contentFrames(writer, 1, new BasicDeliver('c1', 1, false, '', 'q'), 1, 9000, frameMax);
  const channel2 = contentFrames(writer, 2, new BasicDeliver('c2', 1, false, '', 'q'), 2, 5000, frameMax);
  const returned = contentFrames(writer, 2, new BasicReturn(312, 'NO_ROUTE', '', 'nowhere'), 3, 100, frameMax);
  const empty = contentFrames(writer, 1, new BasicDeliver('c1', 2, false, '', 'q'), 4, 0, frameMax);
  const oneFrame = contentFrames(writer, 1, new BasicDeliver('c1', 3, false, '', 'q'), 5, frameMax - 8, frameMax);
  const fetched = contentFrames(writer, 2, new BasicGetOk(2, false, '', 'q', 0), 6, 6000, frameMax);
  // The two channels' messages interleave frame by frame, which AMQP allows across channels.
  const stream = concat([
    channel1[0]!,
    channel1[1]!,
    channel1[2]!,
    channel2[0]!,
    channel2[1]!,
    channel2[2]!,
    HEARTBEAT_FRAME,
    channel1[3]!,
    channel2[3]!,
    channel1[4]!,
    ...returned,
    ...empty,
    ...oneFrame,
    ...fetched,
  ]);
  const expected: ExpectedMessage[] = [
    { kind: 'deliver', channel: 2, seed: 2, size: 5000 },
    { kind: 'deliver', channel: 1, seed: 1, size: 9000 },
    { kind: 'return', channel: 2, seed: 3, size: 100 },
    { kind: 'deliver', channel: 1, seed: 4, size: 0 },
    { kind: 'deliver', channel: 1, seed: 5, size: frameMax - 8 },
    { kind: 'get', channel: 2, seed: 6, size: 6000 },
  ];
  const edges: number[] = [];
  for (let offset = 0; offset < stream.length; ) {
    edges.push(offset);
    offset += new DataView(stream.buffer, offset + 3, 4).getUint32(0) + 8;
  }

  /** Feeds the stream to a new engine in reads that end at `cuts`, and returns the messages. */
  function run(cuts: readonly number[], bufferSize = 128 * 1024): Received[] {
    const feed = new ReusedBufferFeed(frameMax, bufferSize);
    feed.openConsumingChannel();
    feed.requestGet(feed.openConsumingChannel());
    feed.feed(stream, cuts);
    expect(feed.closeError).toBeUndefined();
    return feed.received;
  }

  test('one cut anywhere near frame edges', () => {
    const failures: string[] = [];
    for (const edge of edges) {
      for (let delta = -10; delta <= 10; delta++) {
        const cut = edge + delta;
        if (cut <= 0 || cut >= stream.length) continue;
        const corruption = findCorruption(run([cut]), expected);
        if (corruption !== undefined) failures.push(`cut at ${cut}: ${corruption}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test('two cuts around each frame', () => {
    const failures: string[] = [];
    for (let index = 0; index + 1 < edges.length; index++) {
      for (const first of [-1, 0, 1, 3, 6, 7, 8]) {
        for (const second of [-2, -1, 0, 1, 7]) {
          const cuts = [edges[index]! + first, edges[index + 1]! + second].filter((cut) => cut > 0 && cut < stream.length);
          const corruption = findCorruption(run(cuts), expected);
          if (corruption !== undefined) failures.push(`cuts at ${cuts.join(', ')}: ${corruption}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test('reads of every small size', () => {
    const failures: string[] = [];
    for (const size of [1, 2, 3, 5, 7, 8, 9, 13, 64, 100, 1000, 4095, 4096, 4097, 8192]) {
      const feed = new ReusedBufferFeed(frameMax, 128 * 1024);
      feed.openConsumingChannel();
      feed.requestGet(feed.openConsumingChannel());
      feed.feedInReadsOf(stream, size);
      const corruption = findCorruption(feed.received, expected);
      if (corruption !== undefined) failures.push(`reads of ${size} bytes: ${corruption}`);
    }
    expect(failures).toEqual([]);
  });

  test('messages survive the next stream', () => {
    // Messages kept from the first stream must not change while a second one arrives.
    const feed = new ReusedBufferFeed(frameMax, 1500);
    feed.openConsumingChannel();
    feed.requestGet(feed.openConsumingChannel());
    feed.feed(stream);
    const firstRound = [...feed.received];
    feed.requestGet(feed.channels[1]!);
    feed.feed(stream);

    expect(findCorruption(firstRound, expected)).toBeUndefined();
    expect(findCorruption(feed.received, [...expected, ...expected])).toBeUndefined();
  });

  test('channel close mid-body spares others', () => {
    // Channel 1 closes while its second body frame straddles two reads, so the decoder is
    // writing that frame into a body that the channel has just dropped.
    const cut = edges[7]! + 2000;
    const feed = new ReusedBufferFeed(frameMax, 128 * 1024);
    const first = feed.openConsumingChannel();
    feed.requestGet(feed.openConsumingChannel());
    feed.feed(stream.subarray(0, cut));
    let closed = false;
    first.close({ resolve: () => (closed = true), reject: (error) => expect.fail(error.message) });
    feed.feed(concat([stream.subarray(cut), encodeMethodFrame(feed.writer, 1, new ChannelCloseOk()).slice()]));

    expect(closed).toBe(true);
    expect(feed.closeError).toBeUndefined();
    const onChannel2 = expected.filter((message) => message.channel === 2);
    expect(findCorruption(feed.received, onChannel2)).toBeUndefined();
  });
});

describe('huge body with a reused read buffer', () => {
  test('body over 64 MiB arrives intact', () => {
    // Above 64 MiB the body is allocated only once a quarter has arrived, and until then the
    // engine keeps copies of the frames.
    const frameMax = 131_072;
    const size = 64 * 1024 * 1024 + 1000;
    const writer = new Writer();
    const huge = concat(contentFrames(writer, 1, new BasicDeliver('c1', 1, false, '', 'q'), 7, size, frameMax));
    const small = concat(contentFrames(writer, 1, new BasicDeliver('c1', 2, false, '', 'q'), 8, 300_000, frameMax));
    // Reads of an odd size hold two frames or more, and cut others at changing offsets.
    const feed = new ReusedBufferFeed(frameMax, 300_007);
    feed.openConsumingChannel();
    feed.feedInReadsOf(concat([huge, small]), 300_007);

    expect(feed.closeError).toBeUndefined();
    expect(
      findCorruption(feed.received, [
        { kind: 'deliver', channel: 1, seed: 7, size },
        { kind: 'deliver', channel: 1, seed: 8, size: 300_000 },
      ]),
    ).toBeUndefined();
  });
});
