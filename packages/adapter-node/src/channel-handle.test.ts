/**
 * The channel handle and its dispatcher on one thread, joined by a real `MessageChannel`, with a
 * stand-in channel that records calls. The broker tests run the handle in real Workers.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  type AmqpError,
  type BasicProperties,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  ChannelError,
  ConnectionClosedByBrokerError,
  ConnectionClosedByClientError,
  ConnectionError,
  Decimal,
  InvalidArgumentError,
  NackError,
  UnroutableError,
  encodeBasicPropertiesBytes,
  typed,
} from '@warren/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type DispatchTarget, createChannelHandlePort } from './channel-handle-dispatcher.js';
import { ChannelHandle } from './channel-handle.js';
import type { PublishOptions } from './channel.js';

type Call = [method: string, ...args: unknown[]];

/** Records the calls a dispatcher makes, and fails them as a closed channel does once `close()` was called. */
class StubChannel implements DispatchTarget {
  readonly id = 3;
  readonly calls: Call[] = [];
  readonly connection: { closed: Promise<AmqpError | undefined> };
  /** What the next `basicPublish` returns; by default a resolved promise. */
  publishResult: () => Promise<void> = () => Promise.resolve();
  /** An error that the next call throws, as an invalid argument would. */
  throwNext: unknown;
  #closeError: AmqpError | undefined;
  #resolveClosed!: (error: AmqpError | undefined) => void;

  constructor() {
    this.connection = { closed: new Promise((resolve) => (this.#resolveClosed = resolve)) };
  }

  get isOpen(): boolean {
    return this.#closeError === undefined;
  }

  close(error: AmqpError): void {
    this.#closeError = error;
  }

  /** Closes the channel with `error`, then resolves `connection.closed` with `reported` as a Connection does. */
  closeConnection(error: AmqpError, reported: AmqpError | undefined): void {
    this.#closeError ??= error;
    this.#resolveClosed(reported);
  }

  basicAck(deliveryTag: number, multiple: boolean): void {
    this.#call(['basicAck', deliveryTag, multiple]);
  }

  basicNack(deliveryTag: number, multiple: boolean, requeue: boolean): void {
    this.#call(['basicNack', deliveryTag, multiple, requeue]);
  }

  basicReject(deliveryTag: number, requeue: boolean): void {
    this.#call(['basicReject', deliveryTag, requeue]);
  }

  basicPublish(exchange: string, routingKey: string, body: Uint8Array, properties?: BasicProperties, options?: PublishOptions): Promise<void> {
    this.#call(['basicPublish', exchange, routingKey, body, properties, options]);
    return this.publishResult();
  }

  #call(call: Call): void {
    if (this.#closeError !== undefined) throw this.#closeError;
    if (this.throwNext !== undefined) {
      const error = this.throwNext;
      this.throwNext = undefined;
      throw error;
    }
    this.calls.push(call);
  }
}

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

const openPorts: MessagePort[] = [];

afterEach(() => {
  for (const port of openPorts.splice(0)) port.close();
  expect(processFailures.splice(0)).toEqual([]);
});

function openHandle(channel = new StubChannel()): { channel: StubChannel; handle: ChannelHandle; port: MessagePort } {
  const port = createChannelHandlePort(channel);
  openPorts.push(port);
  return { channel, handle: new ChannelHandle(port), port };
}

/** Waits for the turns of the event loop that carry messages both ways. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/** Returns the rejection of `promise`, failing the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<AmqpError> {
  try {
    await promise;
  } catch (error) {
    return error as AmqpError;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Sends `message` on a fresh port from createHandle() and returns the reply, skipping the open message. */
async function replyTo(channel: StubChannel, message: unknown): Promise<unknown> {
  const port = createChannelHandlePort(channel);
  openPorts.push(port);
  const replies: unknown[] = [];
  port.on('message', (reply) => replies.push(reply));
  port.postMessage(message);
  await settle();
  expect(replies[0]).toEqual({ type: 'open', channelId: 3 });
  return replies[1];
}

describe('ChannelHandle construction', () => {
  test('knows the channel id at once', () => {
    const { handle } = openHandle();

    expect(handle.channelId).toBe(3);
  });

  test('rejects a value that is not a port', () => {
    expect(() => new ChannelHandle({} as MessagePort)).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', code: 'CHANNEL_HANDLE_PORT_INVALID' }),
    );
  });

  test('rejects a port not from createHandle', () => {
    const { port1, port2 } = new MessageChannel();
    openPorts.push(port1, port2);

    expect(() => new ChannelHandle(port2)).toThrow(expect.objectContaining({ code: 'CHANNEL_HANDLE_PORT_INVALID' }));
  });

  test('rejects a second handle on one port', () => {
    const { port } = openHandle();

    expect(() => new ChannelHandle(port)).toThrow(/only one handle per port/);
  });
});

describe('ChannelHandle requests', () => {
  test('run in the order sent', async () => {
    const { channel, handle } = openHandle();

    await Promise.all([
      handle.basicAck(1),
      handle.basicAck(2, true),
      handle.basicNack(3),
      handle.basicNack(4, true, false),
      handle.basicReject(5),
      handle.basicReject(6, false),
      handle.basicPublish('exchange', 'key', 'text'),
      handle.basicAck(7),
    ]);

    expect(channel.calls.map((call) => call.slice(0, 4))).toEqual([
      ['basicAck', 1, false],
      ['basicAck', 2, true],
      ['basicNack', 3, false, true],
      ['basicNack', 4, true, false],
      ['basicReject', 5, true],
      ['basicReject', 6, false],
      ['basicPublish', 'exchange', 'key', new TextEncoder().encode('text')],
      ['basicAck', 7, false],
    ]);
  });

  test('resolve thousands of acks', async () => {
    const { channel, handle } = openHandle();

    await Promise.all(Array.from({ length: 5000 }, (_, index) => handle.basicAck(index + 1)));

    expect(channel.calls).toHaveLength(5000);
    expect(channel.calls.at(-1)).toEqual(['basicAck', 5000, false]);
    expect(handle.pendingCount).toBe(0);
  });

  test('publish copies the body', async () => {
    const { channel, handle } = openHandle();
    const shared = new Uint8Array(64).fill(9);
    const body = shared.subarray(8, 12);

    await handle.basicPublish('', 'queue', body, undefined, { mandatory: true });

    // The caller's buffer is neither detached nor changed.
    expect(shared.byteLength).toBe(64);
    expect(body).toEqual(new Uint8Array([9, 9, 9, 9]));
    const [, , , sentBody, properties, options] = channel.calls[0]!;
    expect(sentBody).toEqual(new Uint8Array([9, 9, 9, 9]));
    expect((sentBody as Uint8Array).buffer.byteLength).toBe(4);
    expect(properties).toBeUndefined();
    expect(options).toEqual({ mandatory: true });
  });

  test('publish keeps typed header values', async () => {
    const { channel, handle } = openHandle();
    const properties: BasicProperties = {
      contentType: 'text/plain',
      headers: { price: new Decimal(2, 1999), small: typed('b', -1), float: typed('f', 0.5), text: 'é' },
      deliveryMode: 2,
    };

    await handle.basicPublish('', 'queue', 'body', properties);

    const sent = channel.calls[0]![4] as BasicProperties;
    expect(encodeBasicPropertiesBytes(sent)).toEqual(encodeBasicPropertiesBytes(properties));
  });

  test('publish with invalid properties throws before sending', async () => {
    const { channel, handle } = openHandle();

    expect(() => handle.basicPublish('', 'queue', 'body', { appId: 'x'.repeat(256) })).toThrow(InvalidArgumentError);
    expect(() => handle.basicPublish('', 'queue', 42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'VALUE_TYPE_INVALID' }),
    );

    await settle();
    expect(channel.calls).toEqual([]);
    expect(handle.pendingCount).toBe(0);
  });

  test('reject with the class and code thrown', async () => {
    const { channel, handle } = openHandle();
    channel.throwNext = new InvalidArgumentError('basic.ack deliveryTag: value -1 does not fit an unsigned 64-bit integer field', 'VALUE_OUT_OF_RANGE');

    const error = await rejectionOf(handle.basicAck(-1));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe('VALUE_OUT_OF_RANGE');
    expect(error.message).toContain('value -1 does not fit');
  });

  test('publish rejects as the channel rejects', async () => {
    const { channel, handle } = openHandle();
    channel.publishResult = () => Promise.reject(new NackError('the broker rejected message 1 published on channel 3 (basic.nack)', { code: 'MESSAGE_NACKED', source: 'broker', retryable: true }));

    const error = await rejectionOf(handle.basicPublish('', 'queue', 'body'));

    expect(error).toBeInstanceOf(NackError);
    expect(error.code).toBe('MESSAGE_NACKED');
    expect(error.retryable).toBe(true);
  });

  test('unroutable publish carries the returned message', async () => {
    const { channel, handle } = openHandle();
    // The returned body views a larger buffer, as a body received from the socket does.
    const socketChunk = new Uint8Array(4096);
    socketChunk.set([104, 105], 100);
    const returned = {
      body: socketChunk.subarray(100, 102),
      properties: { headers: { price: new Decimal(2, 1999) } },
      replyCode: 312,
      replyText: 'NO_ROUTE',
      exchange: 'orders',
      routingKey: 'nowhere',
    };
    channel.publishResult = () =>
      Promise.reject(new UnroutableError('basic.return: NO_ROUTE', { code: 'MESSAGE_UNROUTABLE', source: 'broker', replyCode: 312, replyText: 'NO_ROUTE', returned }));

    const error = (await rejectionOf(handle.basicPublish('orders', 'nowhere', 'hi', undefined, { mandatory: true }))) as UnroutableError;

    expect(error).toBeInstanceOf(UnroutableError);
    expect(error.code).toBe('MESSAGE_UNROUTABLE');
    const received = error.returned as typeof returned;
    expect(Buffer.isBuffer(received.body)).toBe(true);
    expect(received.body.toString()).toBe('hi');
    expect(received.body.buffer.byteLength).toBe(2);
    expect(received.properties.headers.price).toBeInstanceOf(Decimal);
    expect(received.properties.headers.price).toEqual(new Decimal(2, 1999));
    expect(received).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'orders', routingKey: 'nowhere' });
  });

  test('ignored rejections are not unhandled', async () => {
    const { channel, handle } = openHandle();
    channel.close(new ChannelClosedByClientError('channel 3 was closed by the client', { code: 'CHANNEL_CLOSED', source: 'client' }));

    void handle.basicAck(1);
    void handle.basicPublish('', 'queue', 'body');
    handle.close();
    void handle.basicReject(2);
    await settle();

    // afterEach fails the test when anything reached unhandledRejection.
    expect(handle.pendingCount).toBe(0);
  });
});

describe('ChannelHandle on a closed channel', () => {
  test('names the channel and delivery tag', async () => {
    const { channel, handle } = openHandle();
    const closeError = new ChannelClosedByBrokerError("queue.declare: NOT_FOUND - no queue 'missing' in vhost '/'", {
      code: 'CHANNEL_CLOSED_BY_BROKER',
      source: 'broker',
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'missing' in vhost '/'",
    });
    channel.close(closeError);

    const error = await rejectionOf(handle.basicAck(7));

    expect(error).toBeInstanceOf(ChannelClosedByBrokerError);
    expect(error.code).toBe('CHANNEL_CLOSED_BY_BROKER');
    expect(error.replyCode).toBe(404);
    expect(error.message).toBe("basic.ack of delivery tag 7 was not sent: channel 3 is closed (queue.declare: NOT_FOUND - no queue 'missing' in vhost '/')");
    expect(error.cause).toBeInstanceOf(ChannelClosedByBrokerError);
    expect(channel.calls).toEqual([]);
  });

  test('names a client close', async () => {
    const { channel, handle } = openHandle();
    channel.close(new ChannelClosedByClientError('channel 3 was closed by the client', { code: 'CHANNEL_CLOSED', source: 'client' }));

    const nack = await rejectionOf(handle.basicNack(8));
    const publish = await rejectionOf(handle.basicPublish('orders', 'new', 'body'));

    expect(nack).toBeInstanceOf(ChannelClosedByClientError);
    expect(nack.code).toBe('CHANNEL_CLOSED');
    expect(nack.message).toBe('basic.nack of delivery tag 8 was not sent: channel 3 was closed by the client');
    expect(publish.message).toBe('basic.publish to exchange "orders" with routing key "new" was not sent: channel 3 was closed by the client');
  });

  test('keeps the port open for later requests', async () => {
    const { channel, handle } = openHandle();
    channel.close(new ChannelClosedByClientError('channel 3 was closed by the client', { code: 'CHANNEL_CLOSED', source: 'client' }));

    await rejectionOf(handle.basicAck(1));
    const second = await rejectionOf(handle.basicReject(2));

    expect(second.message).toContain('basic.reject of delivery tag 2 was not sent');
  });
});

describe('ChannelHandle when the connection closes', () => {
  test('answers queued requests, then closes the port', async () => {
    const { channel, handle, port } = openHandle();
    const portClosed = new Promise((resolve) => port.once('close', resolve));
    const connectionError = new ConnectionClosedByBrokerError('CONNECTION_FORCED - closed via management plugin', {
      code: 'CONNECTION_CLOSED_BY_BROKER',
      source: 'broker',
      replyCode: 320,
    });

    const queued = handle.basicAck(1);
    // `closed` resolves before the dispatcher has read the ack, which stays queued on the port.
    channel.closeConnection(connectionError, connectionError);
    const error = await rejectionOf(queued);
    await portClosed;
    const later = await rejectionOf(handle.basicAck(2));

    expect(error).toBeInstanceOf(ConnectionClosedByBrokerError);
    expect(error.message).toBe('basic.ack of delivery tag 1 was not sent: channel 3 is closed because its connection ended (CONNECTION_FORCED - closed via management plugin)');
    expect(later).toBeInstanceOf(ConnectionClosedByBrokerError);
    expect(later.code).toBe('CONNECTION_CLOSED_BY_BROKER');
    expect(later.message).toBe('channel 3 is closed because its connection ended (CONNECTION_FORCED - closed via management plugin)');
    expect(channel.calls).toEqual([]);
  });

  test('rejects requests left pending', async () => {
    const { channel, handle } = openHandle();
    let finishPublish!: () => void;
    channel.publishResult = () => new Promise<void>((resolve) => (finishPublish = resolve));

    const publish = handle.basicPublish('', 'queue', 'body');
    await settle();
    const clientClose = new ConnectionClosedByClientError('the connection was closed by the client', { code: 'CONNECTION_CLOSED', source: 'client' });
    channel.closeConnection(clientClose, undefined);
    const error = await rejectionOf(publish);
    // A reply after the port closed goes nowhere and throws nothing.
    finishPublish();
    await settle();

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(error.message).toBe('channel 3 is closed because the client closed its connection');
    expect(handle.pendingCount).toBe(0);
  });
});

describe('ChannelHandle.close', () => {
  test('rejects pending and later requests', async () => {
    const { channel, handle } = openHandle();
    channel.publishResult = () => new Promise<void>(() => {});

    const pending = handle.basicPublish('', 'queue', 'body');
    await settle();
    handle.close();
    const pendingError = await rejectionOf(pending);
    const laterError = await rejectionOf(handle.basicAck(1));

    expect(pendingError).toBeInstanceOf(ChannelError);
    expect(pendingError.code).toBe('CHANNEL_HANDLE_CLOSED');
    expect(laterError.code).toBe('CHANNEL_HANDLE_CLOSED');
    expect(channel.calls).toHaveLength(1);
  });

  test('lets the channel keep working', async () => {
    const { channel, handle } = openHandle();
    handle.close();
    await settle();

    const { handle: second } = openHandle(channel);
    await second.basicAck(3);

    expect(channel.calls).toEqual([['basicAck', 3, false]]);
  });
});

describe('ChannelHandleDispatcher message validation', () => {
  test('answers a malformed request with its id', async () => {
    const channel = new StubChannel();

    const reply = await replyTo(channel, { method: 'basic.ack', id: 5, deliveryTag: '7', multiple: false });

    expect(reply).toMatchObject({
      type: 'rejected',
      id: 5,
      error: { name: 'InvalidArgumentError', code: 'CHANNEL_HANDLE_REQUEST_INVALID', message: 'channel handle: basic.ack request: deliveryTag must be a number, got string' },
    });
    expect(channel.calls).toEqual([]);
  });

  test.each([
    ['null', null, 0],
    ['a number', 42, 0],
    ['a request without an id', { method: 'basic.ack', deliveryTag: 1, multiple: false }, 0],
    ['an unknown method', { method: 'basic.get', id: 6 }, 6],
  ])('answers %s', async (_name, message, expectedId) => {
    const channel = new StubChannel();

    const reply = await replyTo(channel, message);

    expect(reply).toMatchObject({ type: 'rejected', id: expectedId, error: { code: 'CHANNEL_HANDLE_REQUEST_INVALID' } });
    expect(channel.calls).toEqual([]);
  });

  test('answers an invalid property block', async () => {
    const channel = new StubChannel();

    const reply = await replyTo(channel, {
      method: 'basic.publish',
      id: 2,
      exchange: '',
      routingKey: 'queue',
      body: new Uint8Array(1),
      properties: new Uint8Array([0x20, 0x00, 0, 0, 0, 9]),
      mandatory: false,
    });

    expect(reply).toMatchObject({ type: 'rejected', id: 2, error: { name: 'InvalidArgumentError', code: 'CHANNEL_HANDLE_REQUEST_INVALID' } });
    expect((reply as { error: { message: string } }).error.message).toContain('properties are not a valid property block');
    expect(channel.calls).toEqual([]);
  });

  test('keeps serving after a malformed request', async () => {
    const channel = new StubChannel();
    const port = createChannelHandlePort(channel);
    openPorts.push(port);
    const replies: unknown[] = [];
    port.on('message', (reply) => replies.push(reply));

    port.postMessage({ method: 'basic.ack', id: 1 });
    port.postMessage({ method: 'basic.ack', id: 2, deliveryTag: 4, multiple: false });
    await settle();

    expect(replies.slice(1)).toEqual([
      expect.objectContaining({ type: 'rejected', id: 1 }),
      { type: 'resolved', ids: [2] },
    ]);
    expect(channel.calls).toEqual([['basicAck', 4, false]]);
  });
});

describe('ChannelHandle flow control', () => {
  test('holds back requests beyond the window', async () => {
    const { port1: connectionSide, port2: handleSide } = new MessageChannel();
    connectionSide.postMessage({ type: 'open', channelId: 9 });
    await new Promise((resolve) => setImmediate(resolve));
    const handle = new ChannelHandle(handleSide);
    const acks = Array.from({ length: 1500 }, (_, index) => handle.basicAck(index + 1));
    const received = (): { id: number; deliveryTag: number }[] => {
      const messages: { id: number; deliveryTag: number }[] = [];
      for (let entry = receiveMessageOnPort(connectionSide); entry !== undefined; entry = receiveMessageOnPort(connectionSide)) {
        messages.push(entry.message as { id: number; deliveryTag: number });
      }
      return messages;
    };

    const first = received();
    expect(first).toHaveLength(1000);
    expect(handle.pendingCount).toBe(1500);

    connectionSide.postMessage({ type: 'resolved', ids: first.slice(0, 300).map((request) => request.id) });
    await Promise.all(acks.slice(0, 300));
    const second = received();
    expect(second.map((request) => request.deliveryTag)).toEqual(Array.from({ length: 300 }, (_, index) => 1001 + index));
    expect(handle.pendingCount).toBe(1200);

    handle.close();
    await expect(acks[1499]).rejects.toMatchObject({ code: 'CHANNEL_HANDLE_CLOSED' });
    expect(handle.pendingCount).toBe(0);
    connectionSide.close();
  });
});
