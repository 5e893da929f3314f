/**
 * Received and published bytes stay intact although the TCP transport reads into one reused
 * buffer and the engine's writer reuses its slabs. Messages of many sizes are kept by the
 * application while more traffic overwrites the read buffer, fake brokers split their output at
 * chosen read boundaries, and publish bursts are held back, queued or interrupted by invalid
 * headers. RabbitMQ runs at AMQP_URL, by default amqp://guest:guest@127.0.0.1:5672, and the fake
 * brokers listen on 127.0.0.1. Every queue is exclusive, so the broker deletes it with its
 * connection.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BasicConsumeOk,
  BasicDeliver,
  ChannelCloseOk,
  ChannelFlow,
  ChannelOpenOk,
  ConnectionCloseOk,
  ConnectionOpenOk,
  ConnectionStart,
  ConnectionTune,
  FrameDecoder,
  FrameType,
  MethodId,
  type AnyMethod,
  QueueDeclareOk,
  Reader,
  Writer,
  encodeContentFrames,
  encodeMethodFrame,
  readBasicProperties,
} from '@warren/protocol';
import { FakeBroker, type FakePeer, type ReceivedFrame, waitFor } from '@warren/test-broker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BasicProperties,
  type Channel,
  type Connection,
  type ConnectOptions,
  Decimal,
  type DecodedBasicProperties,
  type FieldTable,
  InvalidArgumentError,
  type Message,
  type ReturnedMessage,
  RpcClient,
  connect,
  serveRpc,
  typed,
} from './index.js';
import { DEFAULT_FLUSH_THRESHOLD, WriteBatcher } from './write-batcher.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
/** Payload bytes of a full body frame at RabbitMQ's default frame_max of 131072. */
const FRAME_PAYLOAD = 131_064;
/**
 * Body sizes around the boundaries that matter: Node's buffer pool (4096), the writer's inline
 * body limit (1024), one body frame, and the 128 KiB read buffer.
 */
const SIZES = [0, 1, 100, 1023, 1024, 1025, 4095, 4096, 4097, FRAME_PAYLOAD - 1, FRAME_PAYLOAD, FRAME_PAYLOAD + 1, 2 * FRAME_PAYLOAD, 300_000, 2_000_000];

const connections: Connection[] = [];
const brokers: FakeBroker[] = [];
const processFailures: unknown[] = [];
const recordFailure = (error: unknown): void => {
  processFailures.push(error);
};

beforeAll(() => {
  process.on('unhandledRejection', recordFailure);
  process.on('uncaughtException', recordFailure);
});

afterAll(() => {
  process.off('unhandledRejection', recordFailure);
  process.off('uncaughtException', recordFailure);
  expect(processFailures).toEqual([]);
});

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
  for (const server of servers.splice(0)) server.close();
});

async function open(options: ConnectOptions = {}): Promise<Connection> {
  const connection = await connect({ url: BROKER_URL, ...options });
  connections.push(connection);
  return connection;
}

/** Returns `size` pseudo-random bytes that depend on `seed`, so no two messages look alike. */
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

/** Headers with a value of every field type, byte arrays included, as sent. */
function headersFor(seed: number): FieldTable {
  return {
    flag: seed % 2 === 0,
    int8: typed('b', -5 - (seed % 100)),
    uint8: typed('B', 200 + (seed % 50)),
    int16: typed('s', -3000 - (seed % 20_000)),
    uint16: typed('u', 60_000 + (seed % 5000)),
    int32: -100_000 - seed,
    uint32: typed('i', 4_000_000_000 + seed),
    int64: typed('l', 2 ** 40 + seed),
    float: typed('f', 1.5 + (seed % 1000)),
    double: 3.25 + seed,
    decimal: new Decimal(2, 12_345 + seed),
    text: `text ${seed} ✓`,
    time: new Date((1_700_000_000 + seed) * 1000),
    table: { nested: `n${seed}`, raw: patternBytes(seed + 7, 17) },
    list: [seed, `a${seed}`, patternBytes(seed + 11, 5), null],
    raw: patternBytes(seed + 13, 300),
    empty: new Uint8Array(0),
    nothing: null,
  };
}

/** The headers of `headersFor(seed)` as the decoder returns them. */
function decodedHeadersFor(seed: number): FieldTable {
  return {
    flag: seed % 2 === 0,
    int8: -5 - (seed % 100),
    uint8: 200 + (seed % 50),
    int16: -3000 - (seed % 20_000),
    uint16: 60_000 + (seed % 5000),
    int32: -100_000 - seed,
    uint32: 4_000_000_000 + seed,
    int64: 2 ** 40 + seed,
    float: 1.5 + (seed % 1000),
    double: 3.25 + seed,
    decimal: new Decimal(2, 12_345 + seed),
    text: `text ${seed} ✓`,
    time: new Date((1_700_000_000 + seed) * 1000),
    table: { nested: `n${seed}`, raw: patternBytes(seed + 7, 17) },
    list: [seed, `a${seed}`, patternBytes(seed + 11, 5), null],
    raw: patternBytes(seed + 13, 300),
    empty: new Uint8Array(0),
    nothing: null,
  };
}

function propertiesFor(seed: number): BasicProperties {
  return {
    contentType: 'application/octet-stream',
    messageId: `message-${seed}`,
    correlationId: `correlation-${seed}`,
    timestamp: new Date((1_600_000_000 + seed) * 1000),
    priority: seed % 10,
    appId: 'receive-write test',
    headers: headersFor(seed),
  };
}

function decodedPropertiesFor(seed: number): DecodedBasicProperties {
  return { ...propertiesFor(seed), headers: decodedHeadersFor(seed) } as DecodedBasicProperties;
}

/** Returns the offset of the first byte where `actual` differs from `expected`, or -1. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let index = 0; index < length; index++) {
    if (actual[index] !== expected[index]) return index;
  }
  return actual.length === expected.length ? -1 : length;
}

/** Checks every byte of the body and every property of a message sent with `seed` and `size`. */
function expectIntact(message: { body: Uint8Array; properties: DecodedBasicProperties }, seed: number, size: number, label: string): void {
  expect(message.body.length, `${label}: body length`).toBe(size);
  expect(firstDifference(message.body, patternBytes(seed, size)), `${label}: first corrupted body byte`).toBe(-1);
  expect(message.properties, `${label}: properties`).toEqual(decodedPropertiesFor(seed));
}

/**
 * Sends `count` messages of mixed sizes through `connection`, to a queue of its own, and checks
 * them as they arrive, so that the read buffer and the writer's slabs are reused many times.
 */
async function pushTraffic(connection: Connection, count: number, seedBase: number): Promise<void> {
  const channel = await connection.channel();
  const { queue } = await channel.queueDeclare('', { exclusive: true });
  const received: Message[] = [];
  await channel.basicConsume(queue, (message) => void received.push(message), { noAck: true });
  const sizes = [3, 700, 5000, 70_000, 140_000];
  for (let index = 0; index < count; index++) {
    channel.basicPublish('', queue, patternBytes(seedBase + index, sizes[index % sizes.length]!), propertiesFor(seedBase + index));
  }
  await waitFor(() => received.length === count, 30_000, () => `${count} traffic messages, got ${received.length}`);
  for (const [index, message] of received.entries()) {
    expectIntact(message, seedBase + index, sizes[index % sizes.length]!, `traffic message ${index}`);
  }
  await channel.close();
}

describe('received messages', () => {
  it('consumed messages stay intact', async () => {
    const connection = await open();
    const publisher = await connection.channel();
    const consuming = await connection.channel();
    const { queue } = await consuming.queueDeclare('', { exclusive: true });
    const deliveries: Message[] = [];
    await consuming.basicConsume(queue, (message) => void deliveries.push(message), { noAck: true });

    // Two rounds, so that each size follows both a smaller and a larger message.
    const sent: { seed: number; size: number }[] = [];
    for (const round of [0, 1]) {
      const sizes = round === 0 ? SIZES : [...SIZES].reverse();
      for (const size of sizes) {
        const seed = sent.length;
        sent.push({ seed, size });
        publisher.basicPublish('', queue, patternBytes(seed, size), propertiesFor(seed));
      }
    }
    await waitFor(() => deliveries.length === sent.length, 30_000, () => `${sent.length} messages, got ${deliveries.length}`);
    await pushTraffic(connection, 60, 1000);

    for (const [index, { seed, size }] of sent.entries()) expectIntact(deliveries[index]!, seed, size, `message ${index} of ${size} bytes`);
  });

  it('fetched and returned messages stay intact', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    const returned: ReturnedMessage[] = [];
    channel.on('return', (message) => returned.push(message));

    for (const [index, size] of SIZES.entries()) {
      channel.basicPublish('', queue, patternBytes(index, size), propertiesFor(index));
      channel.basicPublish('', `${queue}.missing`, patternBytes(500 + index, size), propertiesFor(500 + index), { mandatory: true });
    }
    await waitFor(() => returned.length === SIZES.length, 30_000, () => `${SIZES.length} returns, got ${returned.length}`);
    const fetched: Message[] = [];
    for (const _ of SIZES) {
      const message = await channel.basicGet(queue, { noAck: true });
      expect(message).not.toBeNull();
      fetched.push(message!);
    }
    await pushTraffic(connection, 60, 2000);

    for (const [index, size] of SIZES.entries()) {
      expectIntact(fetched[index]!, index, size, `fetched message of ${size} bytes`);
      expectIntact(returned[index]!, 500 + index, size, `returned message of ${size} bytes`);
      expect(returned[index]!.replyCode).toBe(312);
      expect(returned[index]!.routingKey).toBe(`${queue}.missing`);
    }
  });

  it('iterator buffers intact messages', async () => {
    const deliveries = { started: 0, bodyBytes: 0 };
    const connection = await open({
      frameTrace: (direction, _channel, description) => {
        if (direction !== 'in') return;
        if (description.startsWith('basic.deliver ')) deliveries.started++;
        const body = /^content body (\d+) bytes$/.exec(description);
        if (body !== null) deliveries.bodyBytes += Number(body[1]);
      },
    });
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    const consumer = await channel.basicConsume(queue, undefined, { noAck: true });

    for (const [index, size] of SIZES.entries()) channel.basicPublish('', queue, patternBytes(index, size), propertiesFor(index));
    const totalBytes = SIZES.reduce((sum, size) => sum + size, 0);
    // The trace describes each frame before the engine handles the same read.
    await waitFor(
      () => deliveries.started === SIZES.length && deliveries.bodyBytes === totalBytes,
      30_000,
      () => `${SIZES.length} deliveries of ${totalBytes} bytes, got ${deliveries.started} of ${deliveries.bodyBytes}`,
    );
    await pushTraffic(connection, 60, 3000);

    const iterator = consumer[Symbol.asyncIterator]();
    for (const [index, size] of SIZES.entries()) {
      const next = await iterator.next();
      expect(next.done).toBe(false);
      expectIntact(next.value as Message, index, size, `buffered message of ${size} bytes`);
    }
  });
});

describe('frame trace', () => {
  it('describes frames of large messages', async () => {
    const lines: string[] = [];
    const connection = await open({ frameTrace: (direction, channel, description) => lines.push(`${direction} ${channel} ${description}`) });
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    const received: Message[] = [];
    await channel.basicConsume(queue, (message) => void received.push(message), { noAck: true, consumerTag: 'trace-consumer' });
    lines.length = 0;

    const sizes = [300_000, 2_000_000];
    for (const [index, size] of sizes.entries()) channel.basicPublish('', queue, patternBytes(index, size), propertiesFor(index));
    await waitFor(() => received.length === sizes.length, 30_000, 'two large messages');
    for (const [index, size] of sizes.entries()) expectIntact(received[index]!, index, size, `message of ${size} bytes`);

    const expectedFrames = (direction: string, size: number): string[] => {
      const frames = [`${direction} ${channel.id} content header ${size} bytes`];
      for (let start = 0; start < size; start += FRAME_PAYLOAD) {
        frames.push(`${direction} ${channel.id} content body ${Math.min(FRAME_PAYLOAD, size - start)} bytes`);
      }
      return frames;
    };
    const outgoing = lines.filter((line) => line.startsWith('out '));
    const incoming = lines.filter((line) => line.startsWith('in '));
    expect(outgoing[0]).toMatch(new RegExp(`^out ${channel.id} basic\\.publish exchange="" routingKey="${queue}" mandatory=false`));
    expect(outgoing.slice(1, 5)).toEqual(expectedFrames('out', 300_000));
    expect(outgoing[5]).toMatch(/^out \d+ basic\.publish /);
    expect(outgoing.slice(6)).toEqual(expectedFrames('out', 2_000_000));
    expect(incoming[0]).toMatch(new RegExp(`^in ${channel.id} basic\\.deliver consumerTag="trace-consumer" deliveryTag=1 redelivered=false exchange="" routingKey="${queue}"`));
    expect(incoming.slice(1, 5)).toEqual(expectedFrames('in', 300_000));
    expect(incoming[5]).toMatch(/deliveryTag=2 /);
    expect(incoming.slice(6)).toEqual(expectedFrames('in', 2_000_000));
  });
});

describe('publishing', () => {
  it('publish burst survives invalid headers', async () => {
    const connection = await open();
    const publisher = await connection.channel();
    const consuming = await connection.channel();
    const { queue } = await consuming.queueDeclare('', { exclusive: true });
    const received: Message[] = [];
    await consuming.basicConsume(queue, (message) => void received.push(message), { noAck: true });

    const sizes = [0, 1, 7, 100, 500, 1023, 1024, 1025, 3000, 4096, 9000, 65_536, FRAME_PAYLOAD + 1, 200_000];
    const invalidHeaders: FieldTable[] = [
      { bad: typed('b', 1000) },
      // The first value moves the message to a slab of its own before the second one fails.
      { large: new Uint8Array(70_000), bad: typed('u', -1) },
      // Written whole into a new slab, then rejected as larger than one frame.
      { huge: new Uint8Array(140_000) },
      { ['k'.repeat(256)]: 1 },
    ];
    const sent: { seed: number; size: number }[] = [];
    let rejected = 0;
    for (let index = 0; index < 800; index++) {
      if (index % 23 === 11) {
        const headers = { ...headersFor(index), ...invalidHeaders[rejected % invalidHeaders.length] };
        expect(() => publisher.basicPublish('', queue, patternBytes(index, 2000), { headers }), `invalid publish ${index}`).toThrow(InvalidArgumentError);
        rejected++;
        continue;
      }
      const size = sizes[(index * 7) % sizes.length]!;
      const seed = 10_000 + index;
      sent.push({ seed, size });
      const published = publisher.basicPublish('', queue, patternBytes(seed, size), propertiesFor(seed));
      // Sometimes wait for the socket to drain, and sometimes for a turn of the event loop, so
      // that slabs are released both after a flush and on the socket's drain event.
      if (index % 97 === 0) await published;
      if (index % 41 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    await waitFor(() => received.length === sent.length, 60_000, () => `${sent.length} messages, got ${received.length}`);
    expect(rejected).toBeGreaterThan(30);
    for (const [index, { seed, size }] of sent.entries()) expectIntact(received[index]!, seed, size, `message ${index} of ${size} bytes`);
  });
});

describe('written chunk release', () => {
  it('releases many chunks in linear time', () => {
    let queued = 0;
    const socket = {
      write: (chunk: Uint8Array): boolean => {
        queued += chunk.byteLength;
        return false;
      },
      get writableLength(): number {
        return queued;
      },
      cork: (): void => {},
      uncork: (): void => {},
    };
    let released = 0;
    const batcher = new WriteBatcher(socket, DEFAULT_FLUSH_THRESHOLD, () => released++);
    // Chunks from two buffers in turn never join into one run, like the body views that
    // alternate with frame headers when large messages are published.
    const buffers = [new Uint8Array(64), new Uint8Array(64)];
    const count = 200_000;
    for (let index = 0; index < count; index++) batcher.write(buffers[index % 2]!.subarray(0, 10));
    batcher.flush();

    // The socket writes the backlog in ten steps, and each step releases what it wrote.
    const started = performance.now();
    const total = queued;
    for (let step = 1; step <= 10; step++) {
      queued = total - Math.floor((total * step) / 10);
      batcher.releaseWritten();
    }
    const elapsed = performance.now() - started;

    expect(released).toBe(count);
    // Linear work takes a few milliseconds. Work that grows with the square of the backlog
    // takes seconds.
    expect(elapsed, 'time in ms to release the written chunks').toBeLessThan(500);
  });

  it('backlog drains without stall', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    // Bodies over 1024 bytes are sent as views, so each publish leaves two chunks in flight.
    const body = patternBytes(1, 1100);
    let last: Promise<void> = Promise.resolve();
    for (let index = 0; index < 60_000; index++) last = channel.basicPublish('', queue, body);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await last;
    // The histogram records a stall only once the event loop runs a timer after it.
    await sleep(30);
    delay.disable();

    // The socket drains once RabbitMQ has read the backlog, and then every chunk still in
    // flight is released at once.
    expect(delay.max / 1e6, 'longest event loop delay in ms while the socket drained').toBeLessThan(500);
  });
});

/** Frames of one content-carrying method that a fake broker received, joined. */
interface ReceivedContent {
  channel: number;
  methodId: number;
  properties: DecodedBasicProperties;
  body: Uint8Array;
}

/** Joins the publishes in the frames a fake broker received, per channel, in arrival order. */
function receivedPublishes(frames: readonly ReceivedFrame[]): ReceivedContent[] {
  const inProgress = new Map<number, { content: ReceivedContent; filled: number }>();
  const done: ReceivedContent[] = [];
  for (const frame of frames) {
    if (frame.type === FrameType.method) {
      const methodId = new Reader(frame.payload).uint32();
      if (methodId !== MethodId.BasicPublish) continue;
      expect(inProgress.has(frame.channel), `publish on channel ${frame.channel} during another`).toBe(false);
      inProgress.set(frame.channel, {
        content: { channel: frame.channel, methodId, properties: {} as DecodedBasicProperties, body: new Uint8Array(0) },
        filled: -1,
      });
    } else if (frame.type === FrameType.header) {
      const entry = inProgress.get(frame.channel)!;
      const reader = new Reader(frame.payload);
      reader.uint16();
      reader.uint16();
      const size = reader.uint64Number();
      entry.content.properties = readBasicProperties(reader);
      entry.content.body = new Uint8Array(size);
      entry.filled = 0;
      if (size === 0) {
        done.push(entry.content);
        inProgress.delete(frame.channel);
      }
    } else if (frame.type === FrameType.body) {
      const entry = inProgress.get(frame.channel)!;
      entry.content.body.set(frame.payload, entry.filled);
      entry.filled += frame.payload.length;
      if (entry.filled === entry.content.body.length) {
        done.push(entry.content);
        inProgress.delete(frame.channel);
      }
    }
  }
  return done;
}

async function fakeConnection(broker: FakeBroker, options: ConnectOptions = {}): Promise<{ connection: Connection; peer: FakePeer }> {
  const connecting = connect({ url: broker.url, ...options });
  const peer = await broker.nextPeer();
  await peer.handshake();
  const connection = await connecting;
  connections.push(connection);
  return { connection, peer };
}

async function startFakeBroker(): Promise<FakeBroker> {
  const broker = await FakeBroker.start({ timeout: 10_000 });
  brokers.push(broker);
  return broker;
}

interface Burst {
  /** Seed and body size of each message, per channel, in publish order. */
  sent: Map<Channel, { seed: number; size: number }[]>;
  published: Promise<void>[];
}

/**
 * Publishes `count` messages with seeds from `seedBase`, alternating between `channels` so that
 * their frames share the writer's slabs, with inline and framed bodies mixed. Yields to the
 * event loop every `batch` messages, which lets the socket write and the writer reuse slabs.
 */
async function publishAlternately(channels: readonly Channel[], count: number, seedBase: number, batch: number): Promise<Burst> {
  const sizes = [0, 10, 400, 1024, 1025, 3000, 20_000];
  const sent = new Map(channels.map((channel) => [channel, [] as { seed: number; size: number }[]]));
  const published: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const channel = channels[index % channels.length]!;
    const seed = seedBase + index;
    const size = sizes[index % sizes.length]!;
    sent.get(channel)!.push({ seed, size });
    published.push(channel.basicPublish('', `to-${channel.id}`, patternBytes(seed, size), propertiesFor(seed)));
    if (index % batch === batch - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  return { sent, published };
}

async function waitForPublishes(peer: FakePeer, count: number): Promise<ReceivedContent[]> {
  let publishes: ReceivedContent[] = [];
  await waitFor(
    () => {
      publishes = receivedPublishes(peer.received);
      return publishes.length >= count;
    },
    30_000,
    () => `${count} publishes at the fake broker, got ${publishes.length}`,
  );
  return publishes;
}

describe('publishes held or queued', () => {
  it('held publishes stay intact', async () => {
    const broker = await startFakeBroker();
    const { connection, peer } = await fakeConnection(broker);
    const paused = await connection.channel();
    const running = await connection.channel();
    peer.send(paused.id, new ChannelFlow(false));
    await peer.expect(MethodId.ChannelFlowOk, { channel: paused.id });
    expect(paused.flowActive).toBe(false);

    // Held publishes and written ones share slabs. About 80 slabs fill up, more than the 64
    // that the writer tracks, so it also stops tracking some slabs that still have held frames.
    const burst = await publishAlternately([paused, running], 6000, 0, 300);
    const pausedPublishes = burst.sent.get(paused)!;
    const sentAlongside = burst.sent.get(running)!;
    await waitForPublishes(peer, sentAlongside.length);
    peer.send(paused.id, new ChannelFlow(true));
    await Promise.all(burst.published);

    const publishes = await waitForPublishes(peer, sentAlongside.length + pausedPublishes.length);
    const onPaused = publishes.filter((content) => content.channel === paused.id);
    const onRunning = publishes.filter((content) => content.channel === running.id);
    expect(onPaused).toHaveLength(pausedPublishes.length);
    expect(onRunning).toHaveLength(sentAlongside.length);
    for (const [index, { seed, size }] of pausedPublishes.entries()) expectIntact(onPaused[index]!, seed, size, `held publish ${index}`);
    for (const [index, { seed, size }] of sentAlongside.entries()) expectIntact(onRunning[index]!, seed, size, `publish ${index}`);
  });

  it('queued publishes stay intact', async () => {
    const broker = await startFakeBroker();
    const { connection, peer } = await fakeConnection(broker);
    const waiting = await connection.channel();
    const running = await connection.channel();

    // The publishes wait behind queue.declare until the fake broker replies.
    const declared = waiting.queueDeclare('slow');
    // Marked handled, so that a failure below does not also report an unhandled rejection.
    declared.catch(() => {});
    await peer.expect(MethodId.QueueDeclare, { channel: waiting.id });
    const burst = await publishAlternately([waiting, running], 4000, 0, 400);
    const queued = burst.sent.get(waiting)!;
    const sentAlongside = burst.sent.get(running)!;
    await waitForPublishes(peer, sentAlongside.length);
    peer.send(waiting.id, new QueueDeclareOk('slow', 0, 0));
    await declared;
    await Promise.all(burst.published);

    const publishes = await waitForPublishes(peer, sentAlongside.length + queued.length);
    const onWaiting = publishes.filter((content) => content.channel === waiting.id);
    const onRunning = publishes.filter((content) => content.channel === running.id);
    expect(onWaiting).toHaveLength(queued.length);
    expect(onRunning).toHaveLength(sentAlongside.length);
    for (const [index, { seed, size }] of queued.entries()) expectIntact(onWaiting[index]!, seed, size, `queued publish ${index}`);
    for (const [index, { seed, size }] of sentAlongside.entries()) expectIntact(onRunning[index]!, seed, size, `publish ${index}`);
  });
});

/**
 * A minimal broker, built on Warren's codec, whose socket the test can pause so that the
 * client's writes back up in its socket. It replies to the handshake, `channel.open`,
 * `channel.close` and `connection.close`, and records every frame it reads.
 */
class PausingBroker {
  readonly frames: ReceivedFrame[] = [];
  socket: Socket | undefined;
  readonly #server: Server;
  readonly #decoder = new FrameDecoder();
  readonly #writer = new Writer();
  #headerSeen = false;

  private constructor(server: Server) {
    this.#server = server;
    this.#decoder.frameMax = 0xffffffff;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async start(): Promise<PausingBroker> {
    const server = createServer();
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new PausingBroker(server);
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #accept(socket: Socket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      let bytes: Uint8Array = chunk;
      if (!this.#headerSeen) {
        this.#headerSeen = true;
        bytes = chunk.subarray(8);
        this.#send(0, new ConnectionStart(0, 9, {}, 'PLAIN', 'en_US'));
      }
      this.#decoder.push(bytes);
      for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) {
        const payload = frame.payload.slice();
        const method = frame.type === FrameType.method ? new Reader(payload).uint32() : undefined;
        this.frames.push({ type: frame.type, channel: frame.channel, payload, method: undefined, decodeError: undefined, autoReplied: false });
        if (method === MethodId.ConnectionStartOk) this.#send(0, new ConnectionTune(2047, 131_072, 0));
        if (method === MethodId.ConnectionOpen) this.#send(0, new ConnectionOpenOk());
        if (method === MethodId.ChannelOpen) this.#send(frame.channel, new ChannelOpenOk());
        if (method === MethodId.ChannelClose) this.#send(frame.channel, new ChannelCloseOk());
        if (method === MethodId.ConnectionClose) {
          this.#send(0, new ConnectionCloseOk());
          socket.end();
        }
      }
    });
  }

  #send(channel: number, method: AnyMethod): void {
    this.socket?.write(encodeMethodFrame(this.#writer, channel, method).slice());
  }
}

describe('publishes written under backpressure', () => {
  it('paused reader gets intact publishes', async () => {
    const broker = await PausingBroker.start();
    const connection = await connect({ url: broker.url, writeHighWaterMark: 64 * 1024 });
    connections.push(connection);
    const first = await connection.channel();
    const second = await connection.channel();
    const total = 6000;
    broker.socket!.pause();

    // The reader pauses and resumes while the client publishes, so that slabs are released
    // after partial writes as well as on drain, and reused while older ones still wait.
    const published: Promise<void>[] = [];
    const sent = new Map<Channel, { seed: number; size: number }[]>([
      [first, []],
      [second, []],
    ]);
    const sizes = [0, 5, 900, 1024, 1025, 7000, 20_000];
    let maxBuffered = 0;
    for (let index = 0; index < total; index++) {
      const channel = index % 3 === 0 ? second : first;
      const seed = index;
      let size = sizes[index % sizes.length]!;
      if (index % 25 === 24) size = index % 50 === 49 ? FRAME_PAYLOAD + 1 : 70_000;
      sent.get(channel)!.push({ seed, size });
      published.push(channel.basicPublish('', 'paused', patternBytes(seed, size), propertiesFor(seed)));
      maxBuffered = Math.max(maxBuffered, connection.bufferedAmount);
      if (index % 500 === 499) {
        broker.socket!.resume();
        // Short resumes write part of what waits, and long ones write all of it.
        await sleep(index % 1000 === 499 ? 2 : 30);
        broker.socket!.pause();
      }
    }
    expect(maxBuffered).toBeGreaterThan(1024 * 1024);
    await sleep(200);
    broker.socket!.resume();
    await Promise.all(published);

    let publishes: ReceivedContent[] = [];
    await waitFor(
      () => {
        publishes = receivedPublishes(broker.frames);
        return publishes.length === total;
      },
      30_000,
      () => `${total} publishes, got ${publishes.length}`,
    );
    for (const channel of [first, second]) {
      const onChannel = publishes.filter((content) => content.channel === channel.id);
      const expected = sent.get(channel)!;
      expect(onChannel).toHaveLength(expected.length);
      for (const [index, { seed, size }] of expected.entries()) expectIntact(onChannel[index]!, seed, size, `publish ${index} on channel ${channel.id}`);
    }
  });
});

/** Returns the offsets at which each frame in `bytes` starts, and the end of the last frame. */
function frameBoundaries(bytes: Uint8Array): number[] {
  const boundaries = [0];
  let offset = 0;
  while (offset < bytes.length) {
    const size = new DataView(bytes.buffer, bytes.byteOffset + offset + 3, 4).getUint32(0);
    offset += 7 + size + 1;
    boundaries.push(offset);
  }
  expect(offset).toBe(bytes.length);
  return boundaries;
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

/** Writes `bytes` to the client in pieces that end at `cuts`, pausing after each piece so that the client reads it alone. */
async function sendInPieces(peer: FakePeer, bytes: Uint8Array, cuts: readonly number[]): Promise<void> {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= start) continue;
    peer.sendRaw(bytes.slice(start, cut));
    start = cut;
    await sleep(1);
  }
}

describe('split reads', () => {
  it('deliveries survive cuts near frame edges', async () => {
    const broker = await startFakeBroker();
    const { connection, peer } = await fakeConnection(broker, { frameMax: 4096 });
    const channel = await connection.channel();
    const deliveries: Message[] = [];
    const consuming = channel.basicConsume('q', (message) => void deliveries.push(message), { noAck: true, consumerTag: 'split' });
    await peer.expect(MethodId.BasicConsume, { channel: channel.id });
    peer.send(channel.id, new BasicConsumeOk('split'));
    await consuming;

    // One group: bodies of 50 bytes, 10,000 bytes in three frames, none, exactly one frame and
    // one frame plus a byte, with a heartbeat in between.
    const groupSizes = [50, 10_000, 0, 4088, 4089];
    const writer = new Writer();
    const groupBytes = (group: number): Uint8Array => {
      const chunks: Uint8Array[] = [];
      for (const [index, size] of groupSizes.entries()) {
        const seed = group * groupSizes.length + index;
        const deliver = new BasicDeliver('split', seed + 1, false, '', 'q');
        encodeContentFrames(writer, channel.id, deliver, 60, propertiesFor(seed), patternBytes(seed, size), 4096, chunks);
        if (index === 1) chunks.push(new Uint8Array([FrameType.heartbeat, 0, 0, 0, 0, 0, 0, 0xce]));
      }
      return concat(chunks.map((chunk) => chunk.slice()));
    };

    // Cuts inside each frame header, right before each end octet and on each frame edge.
    const cutsOf = (bytes: Uint8Array): number[] => {
      const cuts = new Set<number>();
      for (const boundary of frameBoundaries(bytes)) {
        for (let delta = -9; delta <= 9; delta++) {
          const cut = boundary + delta;
          if (cut > 0 && cut < bytes.length) cuts.add(cut);
        }
      }
      return [...cuts].sort((left, right) => left - right);
    };
    const cuts = cutsOf(groupBytes(0));
    for (const [group, cut] of cuts.entries()) await sendInPieces(peer, groupBytes(group), [cut]);
    // Then whole groups in one-byte pieces for the first frames, and in pieces of 5 bytes after.
    const tailGroup = cuts.length;
    const tail = groupBytes(tailGroup);
    const smallCuts = Array.from({ length: 300 }, (_, index) => index + 1);
    for (let cut = 305; cut < tail.length; cut += 5) smallCuts.push(cut);
    await sendInPieces(peer, tail, smallCuts);

    const groups = tailGroup + 1;
    await waitFor(() => deliveries.length === groups * groupSizes.length, 30_000, () => `${groups * groupSizes.length} messages, got ${deliveries.length}`);
    for (const [index, message] of deliveries.entries()) {
      const size = groupSizes[index % groupSizes.length]!;
      expect(message.deliveryTag, `message ${index}`).toBe(index + 1);
      expectIntact(message, index, size, `message ${index} of ${size} bytes, group ${Math.floor(index / groupSizes.length)}`);
    }
  });

  it('handshake survives one-byte reads', async () => {
    const broker = await startFakeBroker();
    const connecting = connect({ url: broker.url, connectionName: 'one byte at a time' });
    const peer = await broker.nextPeer();
    await peer.expectProtocolHeader();
    const writer = new Writer();
    const serverProperties: FieldTable = { product: 'split broker', raw: patternBytes(1, 40), nested: { raw: patternBytes(2, 9) } };
    const start = encodeMethodFrame(writer, 0, new ConnectionStart(0, 9, serverProperties, 'PLAIN', 'en_US')).slice();
    await sendInPieces(peer, start, Array.from({ length: start.length }, (_, index) => index + 1));
    await peer.expect(MethodId.ConnectionStartOk, { channel: 0 });
    const tune = encodeMethodFrame(writer, 0, new ConnectionTune(2047, 131_072, 0)).slice();
    await sendInPieces(peer, tune, Array.from({ length: tune.length }, (_, index) => index + 1));
    await peer.expect(MethodId.ConnectionTuneOk, { channel: 0 });
    await peer.expect(MethodId.ConnectionOpen, { channel: 0 });
    const openOk = new Uint8Array([FrameType.method, 0, 0, 0, 0, 0, 5, 0, 10, 0, 41, 0, 0xce]);
    await sendInPieces(peer, openOk, Array.from({ length: openOk.length }, (_, index) => index + 1));

    const connection = await connecting;
    connections.push(connection);
    expect(connection.serverProperties).toEqual(serverProperties);
  });

  it('split protocol header is reported', async () => {
    const broker = await startFakeBroker();
    const connecting = connect({ url: broker.url });
    const failed = connecting.then(
      () => undefined,
      (error: unknown) => error,
    );
    const peer = await broker.nextPeer();
    await peer.expectProtocolHeader();
    const header = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 8, 0]);
    await sendInPieces(peer, header, [1, 2, 3, 4, 5, 6, 7]);

    const error = (await failed) as { code?: string; message?: string } | undefined;
    expect(error?.code).toBe('PROTOCOL_VERSION_MISMATCH');
    expect(error?.message).toContain('"AMQP" 0 0 8 0');
  });
});

describe('RPC timeouts', () => {
  it('mixed timeouts expire on time', async () => {
    const connection = await open();
    const serverChannel = await connection.channel();
    const { queue } = await serverChannel.queueDeclare('', { exclusive: true });
    // Each request carries the delay in milliseconds before its reply.
    await serveRpc(serverChannel, queue, async (request) => {
      await sleep(Number(request.body.toString()));
      return request.body;
    });
    const client = await RpcClient.create(await connection.channel(), { timeout: 1000 });

    const calls = [
      { timeout: 400, delay: 0 },
      { timeout: 150, delay: 700 },
      { timeout: 0, delay: 350 },
      { timeout: 300, delay: 60 },
      { timeout: 100, delay: 700 },
      { timeout: undefined, delay: 500 },
      { timeout: 50, delay: 700 },
      { timeout: 250, delay: 700 },
      { timeout: 250, delay: 700 },
    ];
    const startedAt = performance.now();
    const outcomes = await Promise.all(
      calls.map(({ timeout, delay }) =>
        client.call('', queue, String(delay), timeout === undefined ? {} : { timeout }).then(
          (reply) => ({ reply: reply.body.toString(), code: undefined, at: performance.now() - startedAt }),
          (error: { code?: string }) => ({ reply: undefined, code: error.code, at: performance.now() - startedAt }),
        ),
      ),
    );

    for (const [index, { timeout, delay }] of calls.entries()) {
      const outcome = outcomes[index]!;
      const limit = timeout ?? 1000;
      if (limit === 0 || delay < limit) {
        expect(outcome, `call ${index}`).toMatchObject({ reply: String(delay), code: undefined });
      } else {
        expect(outcome.code, `call ${index}`).toBe('RPC_TIMEOUT');
        expect(outcome.at, `call ${index} rejected at`).toBeGreaterThanOrEqual(limit - 1);
        expect(outcome.at, `call ${index} rejected at`).toBeLessThan(limit + 200);
      }
    }
    expect(client.pendingCount).toBe(0);
  });

  it('close rejects calls before deadlines', async () => {
    const connection = await open();
    const serverChannel = await connection.channel();
    const { queue } = await serverChannel.queueDeclare('', { exclusive: true });
    await serveRpc(serverChannel, queue, async (request) => {
      await sleep(300);
      return request.body;
    });
    const client = await RpcClient.create(await connection.channel(), { timeout: 100 });

    const calls = [50, 0, 200, 100].map((timeout) =>
      client.call('', queue, 'x', { timeout }).then(
        () => 'resolved',
        (error: { code?: string }) => error.code,
      ),
    );
    await sleep(20);
    await client.close();
    expect(await Promise.all(calls)).toEqual(['RPC_CLIENT_CLOSED', 'RPC_CLIENT_CLOSED', 'RPC_CLIENT_CLOSED', 'RPC_CLIENT_CLOSED']);
    // No timer is left to fire at the old deadlines.
    await sleep(250);
    expect(client.pendingCount).toBe(0);
    await expect(client.call('', queue, 'x')).rejects.toMatchObject({ code: 'RPC_CLIENT_CLOSED' });
  });
});
