/**
 * Tests of the blocking adapter against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. The adapter starts its I/O thread from the built package,
 * so these tests import `dist`: build first (`npm test` does).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  type BlockingChannel,
  BlockingConnection,
  ChannelClosedByBrokerError,
  ChannelClosedByClientError,
  ChannelError,
  ConnectionClosedByClientError,
  ConnectionError,
  Decimal,
  InvalidArgumentError,
  type Message,
  NackError,
  type ReturnedMessage,
  typed,
  UnroutableError,
} from '@warren/adapter-blocking';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const open: BlockingConnection[] = [];

function connectBlocking(options: { heartbeat?: number } = {}): BlockingConnection {
  const connection = new BlockingConnection({ url: BROKER_URL, ...options });
  open.push(connection);
  return connection;
}

afterEach(() => {
  for (const connection of open.splice(0)) connection.close();
});

function declareQueue(channel: BlockingChannel, args: Record<string, number | string> = {}): string {
  return channel.queueDeclare(`warren-blocking-${randomUUID()}`, { exclusive: true, arguments: args }).queue;
}

function publishNumbered(channel: BlockingChannel, queue: string, count: number): void {
  for (let index = 0; index < count; index++) channel.basicPublish('', queue, `message ${index}`);
}

/** Waits, servicing the connection, until the queue contains `count` ready messages. */
function waitForReady(connection: BlockingConnection, channel: BlockingChannel, queue: string, count: number): void {
  const deadline = performance.now() + 5000;
  while (channel.queueDeclare(queue, { passive: true }).messageCount !== count) {
    if (performance.now() > deadline) throw new Error(`queue ${queue} did not reach ${count} messages`);
    connection.sleep(0.01);
  }
}

describe('BlockingConnection', () => {
  it('opens with server properties and capabilities', () => {
    const connection = connectBlocking();
    expect(connection.isOpen).toBe(true);
    expect(connection.isClosed).toBe(false);
    expect(connection.serverProperties.product).toBe('RabbitMQ');
    expect(connection.publisherConfirmsSupported).toBe(true);
    expect(connection.basicNackSupported).toBe(true);
    expect(connection.consumerCancelNotifySupported).toBe(true);
    expect(connection.exchangeExchangeBindingsSupported).toBe(true);
    expect(connection.tune.frameMax).toBeGreaterThanOrEqual(4096);

    connection.close();
    expect(connection.isClosed).toBe(true);
    expect(() => connection.channel()).toThrow(ConnectionClosedByClientError);
    expect(() => connection.processDataEvents()).toThrow(ConnectionClosedByClientError);
    expect(() => connection.sleep(0.01)).toThrow(ConnectionClosedByClientError);
    expect(() => connection.addCallbackThreadsafe(() => {})).toThrow(ConnectionClosedByClientError);
    connection.close();
  });

  it('throws the async adapter errors on connect', () => {
    const url = new URL(BROKER_URL);
    url.password = 'wrong-password';
    expect(() => new BlockingConnection(url.toString())).toThrow(AuthenticationError);

    let connectFailure: unknown;
    try {
      new BlockingConnection({ url: 'amqp://guest:guest@127.0.0.1:1', connectionAttempts: 1 });
    } catch (error) {
      connectFailure = error;
    }
    expect(connectFailure).toBeInstanceOf(ConnectionError);
    expect((connectFailure as ConnectionError).code).toBe('CONNECT_FAILED');

    expect(() => new BlockingConnection('http://example')).toThrow(ConnectionError);
    expect(() => new BlockingConnection({ url: BROKER_URL, mechanism: { name: 'X' } as never })).toThrow(/mechanism must be a name/);
  });

  it('runs callLater timers in due order and removes them', () => {
    const connection = connectBlocking();
    const order: string[] = [];
    connection.callLater(0.05, () => order.push('late'));
    connection.callLater(0.01, () => order.push('early'));
    const removed = connection.callLater(0.02, () => order.push('removed'));
    connection.removeTimeout(removed);

    connection.processDataEvents(0);
    expect(order).toEqual([]);
    connection.sleep(0.1);
    expect(order).toEqual(['early', 'late']);
  });

  it('processDataEvents returns at once with 0, and after one callback without a limit', () => {
    const connection = connectBlocking();
    let start = performance.now();
    connection.processDataEvents(0);
    expect(performance.now() - start).toBeLessThan(50);

    let ran = 0;
    connection.callLater(0.05, () => ran++);
    start = performance.now();
    connection.processDataEvents();
    expect(ran).toBe(1);
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);

    start = performance.now();
    connection.processDataEvents(0.1);
    expect(performance.now() - start).toBeGreaterThanOrEqual(95);
  });

  it('runs addCallbackThreadsafe callbacks at the next dispatch', () => {
    const connection = connectBlocking();
    const calls: number[] = [];
    connection.addCallbackThreadsafe(() => {
      calls.push(1);
      // A callback queued from a callback runs in a later dispatch, not recursively.
      connection.addCallbackThreadsafe(() => calls.push(2));
    });
    expect(calls).toEqual([]);
    connection.processDataEvents(0);
    expect(calls).toContain(1);
    connection.processDataEvents(0);
    expect(calls).toEqual([1, 2]);
  });

  it('forwards log lines and frame traces', () => {
    const logged: string[] = [];
    const traced: string[] = [];
    const connection = new BlockingConnection({
      url: BROKER_URL,
      logger: { info: (message) => logged.push(message) },
      frameTrace: (direction, channel, description) => traced.push(`${direction} ${channel} ${description}`),
    });
    open.push(connection);
    connection.channel().queueDeclare('', { exclusive: true });

    expect(logged.some((line) => line.startsWith('connected to amqp://'))).toBe(true);
    expect(traced.some((line) => line.startsWith('out 1 queue.declare'))).toBe(true);
    expect(traced.some((line) => line.startsWith('in 1 queue.declare-ok'))).toBe(true);
  });

  it('updates the secret', () => {
    const connection = connectBlocking();
    connection.updateSecret('guest', 'rotation');
    expect(connection.isOpen).toBe(true);
  });
});

describe('BlockingChannel methods', () => {
  it('declares, binds, unbinds and deletes exchanges and queues', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const source = `warren-blocking-source-${randomUUID()}`;
    const destination = `warren-blocking-destination-${randomUUID()}`;
    channel.exchangeDeclare(source, 'topic');
    channel.exchangeDeclare(destination, 'fanout', { autoDelete: true });
    channel.exchangeBind(destination, source, 'orders.#');
    const queue = declareQueue(channel);
    channel.queueBind(queue, destination);

    channel.basicPublish(source, 'orders.created', 'routed');
    waitForReady(connection, channel, queue, 1);
    channel.exchangeUnbind(destination, source, 'orders.#');
    channel.basicPublish(source, 'orders.created', 'not routed');
    channel.queueUnbind(queue, destination);

    expect(channel.queuePurge(queue)).toBe(1);
    channel.basicPublish('', queue, 'one');
    waitForReady(connection, channel, queue, 1);
    const declared = channel.queueDeclare(queue, { passive: true });
    expect(declared).toEqual({ queue, messageCount: 1, consumerCount: 0 });
    expect(channel.queueDelete(queue)).toBe(1);
    channel.exchangeDelete(source);
    channel.exchangeDelete(destination);
    expect(() => channel.exchangeDeclare(source, 'topic', { passive: true })).toThrow(ChannelClosedByBrokerError);
  });

  it('throws the broker error with its code and keeps the connection', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    let error: unknown;
    try {
      channel.queueDeclare(`warren-missing-${randomUUID()}`, { passive: true });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChannelClosedByBrokerError);
    expect((error as ChannelClosedByBrokerError).code).toBe('CHANNEL_CLOSED_BY_BROKER');
    expect((error as ChannelClosedByBrokerError).replyCode).toBe(404);
    expect((error as Error).message).toMatch(/^queue\.declare: NOT_FOUND/);

    expect(channel.isClosed).toBe(true);
    expect(() => channel.queueDeclare('', { exclusive: true })).toThrow(ChannelClosedByBrokerError);
    expect(() => channel.basicAck(1)).toThrow(ChannelClosedByBrokerError);
    const other = connection.channel();
    expect(other.queueDeclare('', { exclusive: true }).queue).toMatch(/^amq\.gen-/);
  });

  it('publishes with properties and gets, acks, nacks and rejects', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    const headers = { price: new Decimal(2, 1999), small: typed('b', -3), big: 2n ** 60n, list: [1, 'two'] };
    channel.basicPublish('', queue, Buffer.from([0, 1, 2, 255]), { contentType: 'application/octet-stream', headers, priority: 3 });
    publishNumbered(channel, queue, 3);
    waitForReady(connection, channel, queue, 4);

    const first = channel.basicGet(queue)!;
    expect([...first.body]).toEqual([0, 1, 2, 255]);
    expect(Buffer.isBuffer(first.body)).toBe(true);
    expect(first.properties.contentType).toBe('application/octet-stream');
    expect(first.properties.priority).toBe(3);
    expect(first.properties.headers).toEqual({ price: new Decimal(2, 1999), small: -3, big: 2n ** 60n, list: [1, 'two'] });
    expect(first.messageCount).toBe(3);
    channel.basicAck(first.deliveryTag);

    const second = channel.basicGet(queue)!;
    const third = channel.basicGet(queue)!;
    const fourth = channel.basicGet(queue)!;
    channel.basicNack(second.deliveryTag, false, true);
    channel.basicReject(third.deliveryTag, false);
    channel.basicNack(fourth.deliveryTag, false, false);

    // The nacked message comes back; the rejected and dropped ones do not.
    const again = channel.basicGet(queue, { autoAck: true })!;
    expect(again.body.toString()).toBe(second.body.toString());
    expect(again.redelivered).toBe(true);
    expect(channel.basicGet(queue)).toBeNull();
  });

  it('recovers unacknowledged messages', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 1);
    waitForReady(connection, channel, queue, 1);
    const message = channel.basicGet(queue)!;
    expect(message.redelivered).toBe(false);
    channel.basicRecover(true);
    waitForReady(connection, channel, queue, 1);
    expect(channel.basicGet(queue, { autoAck: true })!.redelivered).toBe(true);
  });

  it('commits and rolls back transactions', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    channel.txSelect();
    channel.basicPublish('', queue, 'rolled back');
    channel.txRollback();
    channel.basicPublish('', queue, 'committed');
    channel.txCommit();
    expect(channel.basicGet(queue, { autoAck: true })!.body.toString()).toBe('committed');
    expect(channel.basicGet(queue)).toBeNull();
  });

  it('sets qos and flow', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    channel.basicQos(2);
    publishNumbered(channel, queue, 5);
    waitForReady(connection, channel, queue, 5);
    const received: Message[] = [];
    channel.basicConsume(queue, (message) => received.push(message));
    connection.sleep(0.3);
    expect(received).toHaveLength(2);
    expect(channel.flow(true)).toBe(true);
  });

  it('keeps typed values in method arguments', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    // RabbitMQ accepts x-max-length only as an integer; a plain object would close the channel.
    const { queue } = channel.queueDeclare('', { exclusive: true, arguments: { 'x-max-length': typed('l', 1) } });
    channel.basicPublish('', queue, 'first');
    channel.basicPublish('', queue, 'second');
    waitForReady(connection, channel, queue, 1);
    expect(channel.basicGet(queue, { autoAck: true })!.body.toString()).toBe('second');

    const exchange = `warren-blocking-headers-${randomUUID()}`;
    channel.exchangeDeclare(exchange, 'headers', { autoDelete: true });
    channel.queueBind(queue, exchange, '', { 'x-match': 'all', price: new Decimal(2, 1999), level: typed('s', 7) });
    channel.basicPublish(exchange, '', 'matched', { headers: { price: new Decimal(2, 1999), level: typed('s', 7) } });
    waitForReady(connection, channel, queue, 1);
  });

  it('throws a channel close from the next pipelined publish', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const exchange = `warren-missing-${randomUUID()}`;
    let error: unknown;
    const deadline = performance.now() + 5000;
    try {
      // The broker closes the channel with 404 after the first publish to a missing exchange.
      while (performance.now() < deadline) channel.basicPublish(exchange, '', 'lost');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChannelClosedByBrokerError);
    expect((error as ChannelClosedByBrokerError).replyCode).toBe(404);
    expect(channel.isClosed).toBe(true);
  });

  it('reports a failed pipelined request at the next call', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    // An unknown delivery tag makes the broker close the channel with 406 PRECONDITION_FAILED.
    channel.basicAck(999);
    let error: unknown;
    try {
      channel.queueDeclare('', { exclusive: true });
      connection.sleep(0.2);
      channel.queueDeclare('', { exclusive: true });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChannelClosedByBrokerError);
    expect((error as ChannelClosedByBrokerError).replyCode).toBe(406);
  });

  it('throws for closed channels and invalid publishes', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    expect(() => channel.basicPublish('', 'q', 'x', { deliveryMode: 3 })).toThrow(InvalidArgumentError);
    expect(() => channel.basicPublish('', 'q', 'x', { appId: 'a'.repeat(256) })).toThrow(InvalidArgumentError);
    expect(() => channel.basicPublish('', 'q', 42 as never)).toThrow(InvalidArgumentError);
    expect(() => channel.basicPublish('x'.repeat(256), 'q', 'x')).toThrow(InvalidArgumentError);
    expect(() => channel.basicAck(-1)).toThrow(InvalidArgumentError);
    expect(() => channel.queueDeclare('', { arguments: { bad: () => 1 } as never })).toThrow(InvalidArgumentError);
    expect(() => connection.callLater(1, 'not a function' as never)).toThrow(InvalidArgumentError);
    // None of these reached the broker, so the channel is still open.
    expect(channel.queueDeclare('', { exclusive: true }).queue).toMatch(/^amq\.gen-/);
    channel.close();
    expect(channel.isClosed).toBe(true);
    expect(() => channel.basicPublish('', 'q', 'x')).toThrow(ChannelClosedByClientError);
    channel.close();
  });
});

describe('BlockingChannel publisher confirms', () => {
  it('returns once acked and throws NackError and UnroutableError', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    channel.confirmDelivery();

    channel.basicPublish('', queue, 'fits');
    expect(() => channel.basicPublish('', queue, 'overflows')).toThrow(NackError);

    let unroutable: unknown;
    try {
      channel.basicPublish('', `warren-nowhere-${randomUUID()}`, 'lost', { headers: { price: new Decimal(2, 1999) } }, { mandatory: true });
    } catch (error) {
      unroutable = error;
    }
    expect(unroutable).toBeInstanceOf(UnroutableError);
    expect((unroutable as UnroutableError).code).toBe('MESSAGE_UNROUTABLE');
    const returned = (unroutable as UnroutableError).returned as ReturnedMessage;
    expect(Buffer.isBuffer(returned.body)).toBe(true);
    expect(returned.body.toString()).toBe('lost');
    expect(returned.properties.headers?.price).toEqual(new Decimal(2, 1999));

    // The channel keeps working after both errors.
    expect(channel.queueDeclare(queue, { passive: true }).messageCount).toBe(1);
  });

  it.each([5000, 300_000])('unroutable %i-byte body raises UnroutableError', (size) => {
    const connection = connectBlocking();
    const channel = connection.channel();
    channel.confirmDelivery();
    const body = Buffer.alloc(size, 7);

    let unroutable: unknown;
    try {
      channel.basicPublish('', `warren-nowhere-${randomUUID()}`, body, {}, { mandatory: true });
    } catch (error) {
      unroutable = error;
    }

    expect(unroutable).toBeInstanceOf(UnroutableError);
    expect(((unroutable as UnroutableError).returned as ReturnedMessage).body.equals(body)).toBe(true);
  });

  it('gets several empty messages', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    for (let index = 0; index < 3; index++) channel.basicPublish('', queue, '');

    const bodies = [1, 2, 3].map(() => channel.basicGet(queue, { autoAck: true })?.body.length);
    expect(bodies).toEqual([0, 0, 0]);
  });

  it('calls return callbacks outside confirm mode', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const returned: string[] = [];
    channel.addOnReturnCallback((message, from) => {
      expect(from).toBe(channel);
      returned.push(`${message.replyCode} ${message.body.toString()}`);
    });
    channel.basicPublish('', `warren-nowhere-${randomUUID()}`, 'bounced', {}, { mandatory: true });
    connection.sleep(0.2);
    expect(returned).toEqual(['312 bounced']);
  });
});

describe('BlockingChannel consumers', () => {
  it('dispatches basicConsume callbacks in startConsuming until stopConsuming', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 10);

    const bodies: string[] = [];
    const tag = channel.basicConsume(queue, (message, from) => {
      bodies.push(message.body.toString());
      from.basicAck(message.deliveryTag);
      if (bodies.length === 10) from.stopConsuming();
    });
    expect(channel.consumerTags).toEqual([tag]);
    // Callbacks run only while the connection dispatches.
    expect(bodies).toEqual([]);
    channel.startConsuming();
    expect(bodies).toEqual(Array.from({ length: 10 }, (_, index) => `message ${index}`));
    expect(channel.consumerTags).toEqual([]);
  });

  it('refuses startConsuming from a callback', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 1);
    let error: unknown;
    channel.basicConsume(queue, (message, from) => {
      try {
        from.startConsuming();
      } catch (caught) {
        error = caught;
      }
      from.stopConsuming();
    });
    channel.startConsuming();
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('REENTRANT_CALL');
  });

  it('returns undispatched autoAck messages from basicCancel', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 5);
    waitForReady(connection, channel, queue, 5);
    const tag = channel.basicConsume(queue, () => {}, { autoAck: true });
    // Let the deliveries arrive without dispatching them.
    const deadline = performance.now() + 2000;
    while (channel.queueDeclare(queue, { passive: true }).messageCount > 0 && performance.now() < deadline);
    const pending = channel.basicCancel(tag);
    expect(pending.map((message) => message.body.toString())).toEqual(Array.from({ length: 5 }, (_, index) => `message ${index}`));
  });

  it('requeues undispatched manual-ack messages on basicCancel', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 3);
    waitForReady(connection, channel, queue, 3);
    const tag = channel.basicConsume(queue, () => {
      throw new Error('no message is dispatched in this test');
    });
    const deadline = performance.now() + 2000;
    while (channel.queueDeclare(queue, { passive: true }).messageCount > 0 && performance.now() < deadline);
    expect(channel.basicCancel(tag)).toEqual([]);
    waitForReady(connection, channel, queue, 3);
  });

  it('ends startConsuming when the broker cancels the last consumer', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = channel.queueDeclare(`warren-blocking-${randomUUID()}`).queue;
    channel.basicConsume(queue, () => {});
    connection.callLater(0.1, () => connection.channel().queueDelete(queue));
    channel.startConsuming();
    expect(channel.consumerTags).toEqual([]);
  });

  it('throws from startConsuming when the broker closes the channel', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    channel.basicPublish('', queue, 'trigger');
    // An ack of an unknown delivery tag makes the broker close the channel with 406.
    channel.basicConsume(queue, (message, from) => from.basicAck(message.deliveryTag + 1000));
    expect(() => channel.startConsuming()).toThrow(ChannelClosedByBrokerError);
    expect(channel.isClosed).toBe(true);
  });

  it('calls cancel callbacks when the broker cancels a consumer', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = channel.queueDeclare(`warren-blocking-${randomUUID()}`, { autoDelete: false }).queue;
    const cancelled: string[] = [];
    channel.addOnCancelCallback((consumerTag) => cancelled.push(consumerTag));
    const tag = channel.basicConsume(queue, () => {});
    connection.channel().queueDelete(queue);
    channel.startConsuming();
    expect(cancelled).toEqual([tag]);
  });

  it('consume yields messages, then null after the inactivity timeout', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 3);

    const seen: (string | null)[] = [];
    const start = performance.now();
    for (const message of channel.consume(queue, { inactivityTimeout: 0.2 })) {
      if (message === null) {
        seen.push(null);
        break;
      }
      seen.push(message.body.toString());
      channel.basicAck(message.deliveryTag);
    }
    expect(seen).toEqual(['message 0', 'message 1', 'message 2', null]);
    expect(performance.now() - start).toBeGreaterThanOrEqual(195);

    // The same arguments resume the same consumer.
    channel.basicPublish('', queue, 'later');
    const next = channel.consume(queue, { inactivityTimeout: 1 }).next();
    expect((next.value as Message).body.toString()).toBe('later');
    expect(() => channel.consume(queue, { autoAck: true }).next()).toThrow(ChannelError);
    expect(channel.cancel()).toBe(0);
  });

  it('cancel requeues what the generator prefetched and did not yield', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = declareQueue(channel);
    publishNumbered(channel, queue, 5);
    waitForReady(connection, channel, queue, 5);

    const generator = channel.consume(queue);
    const first = generator.next().value as Message;
    expect(first.body.toString()).toBe('message 0');
    const deadline = performance.now() + 2000;
    while (channel.getWaitingMessageCount() < 4 && performance.now() < deadline);
    expect(channel.getWaitingMessageCount()).toBe(4);

    expect(channel.cancel()).toBe(4);
    expect(channel.getWaitingMessageCount()).toBe(0);
    // Four were requeued; the first stays unacknowledged on this channel.
    waitForReady(connection, channel, queue, 4);
    expect(generator.next().done).toBe(true);
  });

  it('consume throws when the channel closes under it', () => {
    const connection = connectBlocking();
    const channel = connection.channel();
    const queue = channel.queueDeclare(`warren-blocking-${randomUUID()}`, { exclusive: true }).queue;
    const generator = channel.consume(queue, { inactivityTimeout: 5 });
    // An ack of an unknown tag makes the broker close the channel.
    channel.basicAck(12345);
    expect(() => generator.next()).toThrow(ChannelClosedByBrokerError);
  });
});
