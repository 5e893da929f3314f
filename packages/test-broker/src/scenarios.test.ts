/**
 * Scenarios that RabbitMQ will not produce on demand, played by the fake broker against the
 * Node adapter's `connect()`. Each test checks the error code or event that docs/errors.md
 * documents, and every test checks that nothing reached `unhandledRejection` or
 * `uncaughtException`.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type ConnectOptions, type Connection, connect } from '@warren/adapter-node';
import {
  BasicAck,
  BasicCancel,
  BasicCancelOk,
  BasicConsumeOk,
  BasicDeliver,
  ChannelClose,
  ChannelFlow,
  ChannelOpenOk,
  ConnectionBlocked,
  ConnectionClose,
  ConnectionOpenOk,
  ConnectionSecure,
  ConnectionUnblocked,
  FrameType,
  MethodId,
  type SaslMechanism,
  Writer,
  encodeMethodFrame,
} from '@warren/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FakeBroker, type FakeBrokerOptions, type FakePeer, type HandshakeResult, encodeRawFrame } from './index.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

const processFailures: { event: string; error: unknown }[] = [];
const recordRejection = (reason: unknown): void => {
  processFailures.push({ event: 'unhandledRejection', error: reason });
};
const recordException = (error: Error): void => {
  processFailures.push({ event: 'uncaughtException', error });
};

beforeAll(() => {
  process.on('unhandledRejection', recordRejection);
  process.on('uncaughtException', recordException);
});

afterAll(() => {
  process.off('unhandledRejection', recordRejection);
  process.off('uncaughtException', recordException);
});

const brokers: FakeBroker[] = [];
const connections: Connection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
  // A rejection is reported as unhandled only after the microtasks of its turn have run.
  await new Promise((resolve) => setImmediate(resolve));
  expect(processFailures.splice(0)).toEqual([]);
});

async function startBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const broker = await FakeBroker.start(options);
  brokers.push(broker);
  return broker;
}

interface OpenConnection {
  broker: FakeBroker;
  connection: Connection;
  peer: FakePeer;
  handshake: HandshakeResult;
}

/** Starts a fake broker, connects the client and completes the handshake on the broker's side. */
async function openConnection(options: FakeBrokerOptions = {}, connectOptions: ConnectOptions = {}): Promise<OpenConnection> {
  const broker = await startBroker(options);
  const connecting = connect({ url: broker.url, ...connectOptions });
  // The promise is awaited below. This handler only keeps its rejection from going unhandled when the handshake fails first.
  connecting.catch(() => {});
  const peer = await broker.nextPeer();
  const handshake = await peer.handshake();
  const connection = await connecting;
  connections.push(connection);
  return { broker, connection, peer, handshake };
}

/** Plays the handshake up to and including the client's `connection.start-ok`. */
async function untilStartOk(peer: FakePeer): Promise<void> {
  await peer.expectProtocolHeader();
  peer.sendStart();
  await peer.expect(MethodId.ConnectionStartOk);
}

/** Plays the handshake up to and including the client's `connection.open`, which gets no `open-ok`. */
async function untilOpen(peer: FakePeer): Promise<void> {
  await untilStartOk(peer);
  peer.sendTune();
  await peer.expect(MethodId.ConnectionTuneOk);
  await peer.expect(MethodId.ConnectionOpen);
}

function heartbeatsFrom(peer: FakePeer): number {
  return peer.received.filter((frame) => frame.type === FrameType.heartbeat).length;
}

function publishesFrom(peer: FakePeer): number {
  return peer.received.filter((frame) => frame.method?.id === MethodId.BasicPublish).length;
}

/** Waits long enough for frames that the client wrote to reach the fake broker over loopback. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

/** Encodes a `basic.deliver` method frame without its content. */
function deliverFrame(channel: number): Uint8Array {
  return encodeMethodFrame(new Writer(), channel, BasicDeliver.from({ consumerTag: 'ctag-1', deliveryTag: 1 }));
}

/** Builds a content header frame of class `classId` whose payload ends after `propertyBytes`. */
function contentHeaderFrame(channel: number, bodySize: bigint, propertyBytes: number[] = [0, 0], classId = 60): Uint8Array {
  const payload = new Uint8Array(12 + propertyBytes.length);
  const view = new DataView(payload.buffer);
  view.setUint16(0, classId);
  view.setBigUint64(4, bodySize);
  payload.set(propertyBytes, 12);
  return encodeRawFrame(FrameType.header, channel, payload);
}

describe('heartbeat', () => {
  test('silent broker times out', async () => {
    const { connection, peer } = await openConnection({ tune: { heartbeat: 1 } });
    const openedAt = performance.now();

    const error = await connection.closed;
    const elapsed = performance.now() - openedAt;

    expect(connection.tune.heartbeat).toBe(1);
    expect(error).toMatchObject({ code: 'HEARTBEAT_TIMEOUT', source: 'network', retryable: true });
    // Two intervals of silence, detected by a check that runs every quarter interval.
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(3000);
    expect(heartbeatsFrom(peer)).toBeGreaterThanOrEqual(1);
    expect(connection.isOpen).toBe(false);
    await peer.closed;
  }, 10_000);

  test('broker heartbeats keep it open', async () => {
    const { connection, peer } = await openConnection({ tune: { heartbeat: 1 }, heartbeats: true });

    await new Promise((resolve) => setTimeout(resolve, 2600));

    expect(connection.isOpen).toBe(true);
    expect(heartbeatsFrom(peer)).toBeGreaterThanOrEqual(1);
  }, 10_000);
});

describe('tune', () => {
  test('zero values take client defaults', async () => {
    const { connection, handshake } = await openConnection({ tune: { channelMax: 0, frameMax: 0, heartbeat: 0 } });

    expect(handshake.tuneOk.channelMax).toBe(2047);
    expect(handshake.tuneOk.frameMax).toBe(131072);
    expect(handshake.tuneOk.heartbeat).toBe(0);
    expect(connection.tune).toEqual({ channelMax: 2047, frameMax: 131072, heartbeat: 0 });
    const channel = await connection.channel();
    expect(channel.id).toBe(1);
  });

  test('frame_max 1024 is rejected', async () => {
    const broker = await startBroker({ tune: { frameMax: 1024 } });
    const connecting = connect(broker.url);
    const outcome = expect(connecting).rejects.toMatchObject({
      code: 'FRAME_MAX_TOO_SMALL',
      source: 'broker',
      message: 'frame_max 1024 is below the minimum of 4096 bytes (broker offered 1024)',
    });
    const peer = await broker.nextPeer();

    await untilStartOk(peer);
    peer.sendTune();

    await outcome;
    await peer.closed;
    const tuneOk = peer.received.find((frame) => frame.method?.id === MethodId.ConnectionTuneOk);
    expect(tuneOk).toBeUndefined();
  });
});

describe('close during the handshake', () => {
  const cases: { name: string; play: (peer: FakePeer) => Promise<void>; expected: Record<string, unknown> }[] = [
    {
      name: 'close 403 after start-ok',
      play: async (peer) => {
        await untilStartOk(peer);
        peer.send(0, new ConnectionClose(403, 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN', 0, 0));
        await peer.expect(MethodId.ConnectionCloseOk);
      },
      expected: { code: 'AUTHENTICATION_FAILED', source: 'broker', replyCode: 403 },
    },
    {
      name: 'close 530 after open',
      play: async (peer) => {
        await untilOpen(peer);
        peer.send(0, new ConnectionClose(530, "NOT_ALLOWED - vhost / not found", 10, 40));
        await peer.expect(MethodId.ConnectionCloseOk);
      },
      expected: { code: 'VHOST_ACCESS_REFUSED', source: 'broker', replyCode: 530, classId: 10, methodId: 40 },
    },
    {
      name: 'hang-up after start-ok',
      play: async (peer) => {
        await untilStartOk(peer);
        peer.close();
      },
      expected: { code: 'PROBABLE_AUTHENTICATION_FAILURE', source: 'broker' },
    },
    {
      name: 'hang-up after open',
      play: async (peer) => {
        await untilOpen(peer);
        peer.close();
      },
      expected: { code: 'PROBABLE_ACCESS_REFUSED', source: 'broker' },
    },
  ];

  test.each(cases)('$name', async ({ play, expected }) => {
    const broker = await startBroker();
    const connecting = connect(broker.url);
    const outcome = expect(connecting).rejects.toMatchObject(expected);
    const peer = await broker.nextPeer();

    await play(peer);

    await outcome;
  });
});

describe('connection.secure', () => {
  const mechanismName = 'X-WARREN-TEST';

  test('challenges reach the mechanism', async () => {
    const challenges: string[] = [];
    const mechanism: SaslMechanism = {
      name: mechanismName,
      initialResponse: () => textEncoder.encode('initial response'),
      challenge: (challenge) => {
        const text = textDecoder.decode(challenge);
        challenges.push(text);
        return textEncoder.encode(`response to ${text}`);
      },
    };
    const broker = await startBroker({ mechanisms: `PLAIN ${mechanismName}` });
    const connecting = connect({ url: broker.url, mechanism });
    connecting.catch(() => {});
    const peer = await broker.nextPeer();

    await peer.expectProtocolHeader();
    peer.sendStart();
    const startOk = await peer.expect(MethodId.ConnectionStartOk);
    expect(startOk.mechanism).toBe(mechanismName);
    expect(textDecoder.decode(startOk.response)).toBe('initial response');

    for (const nonce of ['nonce-1', 'nonce-2']) {
      peer.send(0, new ConnectionSecure(textEncoder.encode(nonce)));
      const secureOk = await peer.expect(MethodId.ConnectionSecureOk);
      expect(textDecoder.decode(secureOk.response)).toBe(`response to ${nonce}`);
    }

    peer.sendTune();
    await peer.expect(MethodId.ConnectionTuneOk);
    await peer.expect(MethodId.ConnectionOpen);
    peer.send(0, new ConnectionOpenOk());
    const connection = await connecting;
    connections.push(connection);

    expect(challenges).toEqual(['nonce-1', 'nonce-2']);
    expect(connection.isOpen).toBe(true);
  });

  test('challenge to PLAIN fails', async () => {
    const broker = await startBroker();
    const connecting = connect(broker.url);
    const outcome = expect(connecting).rejects.toMatchObject({ code: 'AUTH_CHALLENGE_UNSUPPORTED', source: 'broker' });
    const peer = await broker.nextPeer();

    await untilStartOk(peer);
    peer.send(0, new ConnectionSecure(textEncoder.encode('nonce')));

    await outcome;
    await peer.closed;
    const secureOk = peer.received.find((frame) => frame.method?.id === MethodId.ConnectionSecureOk);
    expect(secureOk).toBeUndefined();
  });
});

describe('frame errors', () => {
  const unknownChannelFrames: [string, (peer: FakePeer) => void][] = [
    ['method frame', (peer) => peer.send(3, new BasicAck(1, false))],
    ['content header', (peer) => peer.sendRaw(encodeRawFrame(FrameType.header, 3, new Uint8Array(14)))],
    ['content body', (peer) => peer.sendRaw(encodeRawFrame(FrameType.body, 3, textEncoder.encode('body')))],
  ];

  test.each(unknownChannelFrames)('%s for unknown channel closes with 504', async (_, sendFrame) => {
    const { connection, peer } = await openConnection();

    sendFrame(peer);

    const error = await connection.closed;
    expect(error).toMatchObject({ code: 'CHANNEL_UNKNOWN', replyCode: 504, source: 'broker' });
    const close = await peer.expect(MethodId.ConnectionClose);
    expect(close.replyCode).toBe(504);
    expect(close.replyText).toContain('channel 3');
  });

  test('frame for a closed channel closes with 504', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();
    const id = channel.id;
    await channel.close();

    peer.send(id, new BasicAck(1, false));

    const error = await connection.closed;
    expect(error).toMatchObject({ code: 'CHANNEL_UNKNOWN', replyCode: 504 });
    const close = await peer.expect(MethodId.ConnectionClose);
    expect(close.replyCode).toBe(504);
  });

  test('oversized frame header closes with 501', async () => {
    const { connection, peer } = await openConnection({ tune: { frameMax: 4096 } });
    expect(connection.tune.frameMax).toBe(4096);

    // Only the 7-byte header: the client must reject it before any payload arrives.
    peer.sendRaw(encodeRawFrame(FrameType.method, 0, new Uint8Array(0), { announcedSize: 100_000, headerOnly: true }));

    const error = await connection.closed;
    expect(error).toMatchObject({ code: 'FRAME_TOO_LARGE', replyCode: 501, source: 'broker' });
    expect(error?.message).toContain('100000-byte payload');
    const close = await peer.expect(MethodId.ConnectionClose);
    expect(close.replyCode).toBe(501);
  });

  test('frame of frame_max passes, one byte more fails', async () => {
    const { connection, peer } = await openConnection({ tune: { frameMax: 4096 } });
    const channel = await connection.channel();
    const consuming = channel.basicConsume('jobs', undefined, { noAck: true });
    await peer.expect(MethodId.BasicConsume);
    peer.send(channel.id, new BasicConsumeOk('ctag-1'));
    const consumer = await consuming;
    const iterator = consumer[Symbol.asyncIterator]();

    // A body frame of 4088 payload bytes is exactly 4096 bytes with header and end octet.
    const body = new Uint8Array(4088).fill(7);
    peer.sendContent(channel.id, BasicDeliver.from({ consumerTag: 'ctag-1', deliveryTag: 1, routingKey: 'jobs' }), {}, body, 4096);
    const first = await iterator.next();
    expect(first.value?.body.length).toBe(4088);

    peer.sendContent(channel.id, BasicDeliver.from({ consumerTag: 'ctag-1', deliveryTag: 2, routingKey: 'jobs' }), {}, new Uint8Array(0), 4096);
    // The empty delivery announced no body, so any body frame is a protocol error. The size check
    // runs first, before the payload is read, so the error must be FRAME_TOO_LARGE.
    peer.sendRaw(encodeRawFrame(FrameType.body, channel.id, new Uint8Array(4089)));

    const error = await connection.closed;
    expect(error).toMatchObject({ code: 'FRAME_TOO_LARGE', replyCode: 501 });
    const close = await peer.expect(MethodId.ConnectionClose);
    expect(close.replyCode).toBe(501);
  });

  // Each case sends frames on channel 0 or on the open channel, and the client must close the
  // connection with the code and reply code that docs/errors.md lists for it.
  const malformedFrames: { name: string; frames: (channel: number) => Uint8Array[]; code: string; replyCode: number }[] = [
    { name: 'unknown frame type', frames: () => [encodeRawFrame(9, 0, new Uint8Array(3))], code: 'FRAME_TYPE_UNKNOWN', replyCode: 501 },
    {
      name: 'wrong frame end',
      frames: () => [encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 10, 0, 61]), { frameEnd: 0 })],
      code: 'FRAME_END_INVALID',
      replyCode: 501,
    },
    {
      name: 'heartbeat on channel 1',
      frames: (channel) => [encodeRawFrame(FrameType.heartbeat, channel, new Uint8Array(0))],
      code: 'HEARTBEAT_INVALID',
      replyCode: 501,
    },
    {
      name: 'heartbeat with payload',
      frames: () => [encodeRawFrame(FrameType.heartbeat, 0, new Uint8Array(3))],
      code: 'HEARTBEAT_INVALID',
      replyCode: 501,
    },
    {
      name: 'truncated method',
      // connection.close (10, 50) cut off inside its reply code.
      frames: () => [encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 10, 0, 50, 1]))],
      code: 'FRAME_TRUNCATED',
      replyCode: 502,
    },
    {
      name: 'body size over 2^53',
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 2n ** 60n)],
      code: 'VALUE_OUT_OF_RANGE',
      replyCode: 502,
    },
    {
      name: 'unknown field type',
      // Property flags 0x2000 (headers), then a table of 4 bytes: key "a", type tag 'Z' and one octet.
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 0n, [0x20, 0, 0, 0, 0, 4, 1, 0x61, 0x5a, 0])],
      code: 'FIELD_TYPE_UNKNOWN',
      replyCode: 502,
    },
    {
      name: 'invalid property flags',
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 2n, [0, 1])],
      code: 'PROPERTY_FLAGS_INVALID',
      replyCode: 502,
    },
    {
      name: 'unexpected channel.open-ok',
      frames: (channel) => [encodeMethodFrame(new Writer(), channel, new ChannelOpenOk())],
      code: 'METHOD_UNEXPECTED',
      replyCode: 503,
    },
    {
      name: 'content header without method',
      frames: (channel) => [contentHeaderFrame(channel, 2n)],
      code: 'FRAME_UNEXPECTED',
      replyCode: 505,
    },
    {
      name: 'method before the body',
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 10n), deliverFrame(channel)],
      code: 'FRAME_UNEXPECTED',
      replyCode: 505,
    },
    {
      name: 'body longer than announced',
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 2n), encodeRawFrame(FrameType.body, channel, new Uint8Array(5))],
      code: 'FRAME_UNEXPECTED',
      replyCode: 505,
    },
    {
      name: 'body over maxMessageSize',
      frames: (channel) => [deliverFrame(channel), contentHeaderFrame(channel, 2n * 1024n * 1024n)],
      code: 'MESSAGE_TOO_LARGE',
      replyCode: 501,
    },
    {
      name: 'unknown method',
      frames: () => [encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 99, 0, 1]))],
      code: 'METHOD_UNKNOWN',
      replyCode: 540,
    },
  ];

  test.each(malformedFrames)('$name closes with $replyCode', async ({ frames, code, replyCode }) => {
    const { connection, peer } = await openConnection({}, { maxMessageSize: 1024 * 1024 });
    const channel = await connection.channel();

    for (const frame of frames(channel.id)) peer.sendRaw(frame);

    const error = await connection.closed;
    expect(error).toMatchObject({ code, replyCode, source: 'broker' });
    const close = await peer.expect(MethodId.ConnectionClose);
    expect(close.replyCode).toBe(replyCode);
  });
});

describe('broker notifications', () => {
  test('channel.flow false is acknowledged', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();

    const paused = once(channel, 'flow');
    peer.send(channel.id, new ChannelFlow(false));
    const pauseOk = await peer.expect(MethodId.ChannelFlowOk, { channel: channel.id });
    expect(pauseOk.active).toBe(false);
    expect(await paused).toEqual([false]);
    expect(channel.flowActive).toBe(false);

    const publishing = channel.basicPublish('', 'jobs', 'held');
    await settle();
    expect(publishesFrom(peer)).toBe(0);

    const resumed = once(channel, 'flow');
    peer.send(channel.id, new ChannelFlow(true));
    const resumeOk = await peer.expect(MethodId.ChannelFlowOk, { channel: channel.id });
    expect(resumeOk.active).toBe(true);
    expect(await resumed).toEqual([true]);
    const publish = await peer.expectContent(MethodId.BasicPublish, { channel: channel.id });
    expect(textDecoder.decode(publish.body)).toBe('held');
    await publishing;
    expect(channel.isOpen).toBe(true);
  });

  test('connection.blocked and unblocked', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();

    const blocked = once(connection, 'blocked');
    peer.send(0, new ConnectionBlocked('low on memory'));
    expect(await blocked).toEqual(['low on memory']);
    expect(connection.blocked).toBe(true);

    const publishing = channel.basicPublish('', 'jobs', 'held');
    await settle();
    expect(publishesFrom(peer)).toBe(0);

    const unblocked = once(connection, 'unblocked');
    peer.send(0, new ConnectionUnblocked());
    await unblocked;
    expect(connection.blocked).toBe(false);
    const publish = await peer.expectContent(MethodId.BasicPublish, { channel: channel.id });
    expect(textDecoder.decode(publish.body)).toBe('held');
    await publishing;
    expect(connection.isOpen).toBe(true);
  });

  test.each([false, true])('basic.cancel ends the consumer (noWait %s)', async (noWait) => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();
    const consuming = channel.basicConsume('jobs');
    const consume = await peer.expect(MethodId.BasicConsume, { channel: channel.id });
    expect(consume.queue).toBe('jobs');
    peer.send(channel.id, new BasicConsumeOk('ctag-1'));
    const consumer = await consuming;

    const cancelled = once(consumer, 'cancel');
    const delivery = BasicDeliver.from({ consumerTag: 'ctag-1', deliveryTag: 1, routingKey: 'jobs' });
    peer.sendContent(channel.id, delivery, { contentType: 'text/plain' }, textEncoder.encode('first'));
    peer.send(channel.id, new BasicCancel('ctag-1', noWait));

    const bodies: string[] = [];
    for await (const message of consumer) bodies.push(message.body.toString());
    await cancelled;

    expect(bodies).toEqual(['first']);
    expect(consumer.cancelledByBroker).toBe(true);
    expect(consumer.ended).toBe(true);
    expect(channel.isOpen).toBe(true);
    await connection.close();
    const cancelOks = peer.received.filter((frame) => frame.method?.id === MethodId.BasicCancelOk);
    expect(cancelOks).toHaveLength(noWait ? 0 : 1);
  });

  test('close right behind consume-ok ends the consumer', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();
    const consuming = channel.basicConsume('jobs');
    await peer.expect(MethodId.BasicConsume, { channel: channel.id });
    peer.send(channel.id, new BasicConsumeOk('ctag-1'));
    peer.send(channel.id, new ChannelClose(404, 'NOT_FOUND - gone', 0, 0));
    const consumer = await consuming;

    await expect(consumer[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED_BY_BROKER' });
    expect(consumer.ended).toBe(true);
  });

  test('basicCancel ends a for await loop', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();
    const consuming = channel.basicConsume('jobs');
    await peer.expect(MethodId.BasicConsume, { channel: channel.id });
    peer.send(channel.id, new BasicConsumeOk('ctag-1'));
    const consumer = await consuming;
    const loop = (async () => {
      let count = 0;
      for await (const _message of consumer) count++;
      return count;
    })();

    const cancelling = channel.basicCancel('ctag-1');
    await peer.expect(MethodId.BasicCancel, { channel: channel.id });
    peer.send(channel.id, new BasicCancelOk('ctag-1'));
    await cancelling;
    expect(await loop).toBe(0);
    expect(consumer.cancelledByBroker).toBe(false);
  });

  test('concurrent reads all settle on close', async () => {
    const { connection, peer } = await openConnection();
    const channel = await connection.channel();
    const consuming = channel.basicConsume('jobs');
    await peer.expect(MethodId.BasicConsume, { channel: channel.id });
    peer.send(channel.id, new BasicConsumeOk('ctag-1'));
    const consumer = await consuming;
    const iterator = consumer[Symbol.asyncIterator]();
    const reads = [iterator.next(), iterator.next()];

    peer.sendContent(channel.id, BasicDeliver.from({ consumerTag: 'ctag-1', deliveryTag: 1 }), {}, textEncoder.encode('one'));
    await settle();
    await channel.close();
    const results = await Promise.all(reads);
    expect(results.map((result) => result.done)).toEqual([false, true]);
  });

  test('rejecting async logger causes no unhandled rejection', async () => {
    const logger = { info: async () => Promise.reject(new Error('log sink down')), warn: async () => Promise.reject(new Error('log sink down')) };
    const { connection } = await openConnection({}, { logger });
    await connection.close();
    // afterEach fails the test if a rejection went unhandled.
  });

  test('client properties carry the package version', async () => {
    const { handshake } = await openConnection();
    const packageJson = JSON.parse(readFileSync(new URL('../../adapter-node/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(handshake.startOk.clientProperties.product).toBe('Warren');
    expect(handshake.startOk.clientProperties.version).toBe(packageJson.version);
  });
});
