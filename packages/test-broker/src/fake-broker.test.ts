/**
 * Tests of the fake broker itself, driven by a raw TCP client so that the client can send
 * what Warren never would.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import {
  BasicPublish,
  BasicQos,
  ChannelOpen,
  ConnectionStartOk,
  FrameType,
  MethodId,
  PROTOCOL_HEADER,
  Writer,
  encodeContentFrames,
  encodeMethodFrame,
} from '@warren/protocol';
import { afterEach, describe, expect, test } from 'vitest';
import { FakeBroker, type FakeBrokerOptions } from './fake-broker.js';
import { encodeRawFrame } from './frames.js';

interface RawClient {
  socket: Socket;
  /** Bytes received from the fake broker so far. */
  received: () => Buffer;
  /** Resolves with the bytes received once there are at least `count`. */
  receivedAtLeast: (count: number) => Promise<Buffer>;
  closed: Promise<void>;
}

const brokers: FakeBroker[] = [];
const sockets: Socket[] = [];
const writer = new Writer();

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
});

async function startBroker(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const broker = await FakeBroker.start(options);
  brokers.push(broker);
  return broker;
}

/** Connects a raw TCP client that records what it receives. */
async function connectRaw(broker: FakeBroker): Promise<RawClient> {
  const socket = connectTcp({ host: '127.0.0.1', port: broker.port });
  sockets.push(socket);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));

  const received = (): Buffer => Buffer.concat(chunks);
  const receivedAtLeast = async (count: number): Promise<Buffer> => {
    while (received().length < count) await new Promise((resolve) => socket.once('data', resolve));
    return received();
  };
  return { socket, received, receivedAtLeast, closed };
}

function methodFrame(channel: number, method: Parameters<typeof encodeMethodFrame>[2]): Uint8Array {
  return encodeMethodFrame(writer, channel, method);
}

describe('FakePeer input', () => {
  test('wrong protocol header gets ours back', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write('GET / HTTP/1.1\r\n\r\n');

    await expect(peer.expectProtocolHeader()).rejects.toThrow('instead of the AMQP 0-9-1 protocol header');
    await client.closed;
    expect(client.received()).toEqual(Buffer.from(PROTOCOL_HEADER));
  });

  test('bad frame end is recorded, not thrown', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 10, 0, 11]), { frameEnd: 0 }));

    await expect(peer.expect(MethodId.ConnectionStartOk)).rejects.toThrow('frame end octet is 0x00');
    expect(peer.inputError).toMatchObject({ code: 'FRAME_END_INVALID' });
    await peer.closed;
  });

  test('frame over receiveFrameMax is recorded', async () => {
    const broker = await startBroker({ receiveFrameMax: 1024 * 1024 });
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(encodeRawFrame(FrameType.method, 0, new Uint8Array(16), { announcedSize: 0xfffffff0 }));

    await expect(peer.expect(MethodId.ConnectionStartOk)).rejects.toThrow('announces a 4294967280-byte payload');
    expect(peer.inputError).toMatchObject({ code: 'FRAME_TOO_LARGE' });
  });

  test('unknown method is recorded on its frame', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 99, 0, 1])));

    await expect(peer.expect(MethodId.ConnectionStartOk)).rejects.toThrow('but the next frame is undecodable method frame');
    expect(peer.received[0]?.decodeError).toMatchObject({ code: 'METHOD_UNKNOWN' });
    expect(peer.inputError).toBeUndefined();
  });

  test('protocol header split into single bytes', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    const bytes = Buffer.concat([PROTOCOL_HEADER, methodFrame(0, new ConnectionStartOk({}, 'PLAIN', new Uint8Array(0), 'en_US'))]);
    for (const byte of bytes) {
      client.socket.write(Uint8Array.of(byte));
      await new Promise((resolve) => setImmediate(resolve));
    }

    await peer.expectProtocolHeader();
    const startOk = await peer.expect(MethodId.ConnectionStartOk);
    expect(startOk.mechanism).toBe('PLAIN');
  });
});

describe('FakePeer.expect', () => {
  test('names the method received instead', async () => {
    const broker = await startBroker({ autoRespond: false });
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(methodFrame(1, new ChannelOpen()));

    await expect(peer.expect(MethodId.ConnectionStartOk)).rejects.toThrow(
      'expected connection.start-ok from the client, but the next frame is channel.open on channel 1',
    );
  });

  test('times out with what arrived', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(methodFrame(1, new ChannelOpen()));

    await expect(peer.expect(MethodId.BasicQos, { timeout: 50 })).rejects.toThrow(
      'timed out after 50 ms waiting for basic.qos. Frames received so far: channel.open on channel 1.',
    );
  });

  test('skips auto-replied frames', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    client.socket.write(methodFrame(1, new ChannelOpen()));
    client.socket.write(methodFrame(1, new BasicQos(0, 10, false)));

    const qos = await peer.expect(MethodId.BasicQos, { channel: 1 });
    expect(qos.prefetchCount).toBe(10);
    expect(peer.received[0]).toMatchObject({ channel: 1, autoReplied: true });
    // channel.open-ok: class 20, method 11.
    const reply = await client.receivedAtLeast(11);
    expect(reply.subarray(7, 11)).toEqual(Buffer.from([0, 20, 0, 11]));
  });

  test('rejects when the client hangs up', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();

    client.socket.end(PROTOCOL_HEADER);

    await expect(peer.expect(MethodId.ConnectionStartOk)).rejects.toThrow(
      'the connection closed before the client sent connection.start-ok. No frame received so far.',
    );
  });

  test('expectContent joins body frames', async () => {
    const broker = await startBroker();
    const client = await connectRaw(broker);
    const peer = await broker.nextPeer();
    const body = Uint8Array.from({ length: 10_000 }, (_, index) => index % 251);
    const chunks: Uint8Array[] = [];
    encodeContentFrames(writer, 1, new BasicPublish('', 'jobs', false, false), 60, { contentType: 'application/octet-stream' }, body, 4096, chunks);

    client.socket.write(PROTOCOL_HEADER);
    for (const chunk of chunks) client.socket.write(chunk);

    const content = await peer.expectContent(MethodId.BasicPublish);
    expect(content.channel).toBe(1);
    expect(content.method.routingKey).toBe('jobs');
    expect(content.properties).toEqual({ contentType: 'application/octet-stream' });
    expect(content.body).toEqual(body);
  });
});

describe('FakeBroker', () => {
  test('stop reports a failed script', async () => {
    const broker = await FakeBroker.start();
    broker.onConnection(() => {
      throw new Error('script failed on purpose');
    });
    const client = await connectRaw(broker);
    await client.closed;

    await expect(broker.stop()).rejects.toMatchObject({ errors: [expect.objectContaining({ message: 'script failed on purpose' })] });
  });

  test('nextPeer times out without a client', async () => {
    const broker = await startBroker();

    await expect(broker.nextPeer(50)).rejects.toThrow(`no client connected to port ${broker.port} within 50 ms`);
  });

  test('heartbeats follow tune-ok', async () => {
    const broker = await startBroker({ heartbeats: true });
    const client = await connectRaw(broker);
    await broker.nextPeer();

    client.socket.write(PROTOCOL_HEADER);
    // connection.tune-ok: channel_max 10, frame_max 4096, heartbeat 1 s.
    client.socket.write(encodeRawFrame(FrameType.method, 0, new Uint8Array([0, 10, 0, 31, 0, 10, 0, 0, 16, 0, 0, 1])));
    const bytes = await client.receivedAtLeast(8);

    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([FrameType.heartbeat, 0, 0, 0, 0, 0, 0, 0xce]));
  });
});
