/**
 * Tests of RPC over direct reply-to against a real broker: RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672. Every queue gets a random name and is deleted after its test.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  ConnectionError,
  DIRECT_REPLY_TO,
  type FieldTable,
  InvalidArgumentError,
  type Message,
  RpcClient,
  connect,
  serveRpc,
} from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
/** Expiry of every test queue while unused, so that a queue survives a crashed run by at most this long. */
const QUEUE_EXPIRES_MS = 10 * 60 * 1000;
/** A correlation id: the client's random prefix, a dot, and the call's number in base 36. */
const CORRELATION_ID_PATTERN = /^[0-9a-z]+\.[0-9a-z]+$/;

const processFailures: { event: string; error: unknown }[] = [];
const recordRejection = (reason: unknown): void => {
  processFailures.push({ event: 'unhandledRejection', error: reason });
};
const recordException = (error: Error): void => {
  processFailures.push({ event: 'uncaughtException', error });
};

beforeAll(async () => {
  // Fails with the connect error, which names the address, when no broker listens.
  const probe = await connect(BROKER_URL);
  await probe.close();
  process.on('unhandledRejection', recordRejection);
  process.on('uncaughtException', recordException);
});

afterAll(() => {
  process.off('unhandledRejection', recordRejection);
  process.off('uncaughtException', recordException);
  expect(processFailures).toEqual([]);
});

const openConnections = new Set<Connection>();
const createdQueues = new Set<string>();

afterEach(async () => {
  // Checked per test as well, so that a failure names the test that caused it.
  const failures = processFailures.splice(0);
  expect(failures).toEqual([]);

  for (const connection of openConnections) await connection.close();
  openConnections.clear();

  if (createdQueues.size === 0) return;
  const cleanup = await connect(BROKER_URL);
  try {
    const channel = await cleanup.channel();
    for (const queue of createdQueues) await channel.queueDelete(queue);
  } finally {
    await cleanup.close();
  }
  createdQueues.clear();
});

/** Opens a connection that `afterEach` closes. */
async function open(): Promise<Connection> {
  const connection = await connect(BROKER_URL);
  openConnections.add(connection);
  return connection;
}

function uniqueName(purpose: string): string {
  return `warren-test.rpc.${purpose}.${randomUUID()}`;
}

/** Declares a queue with a random name that `afterEach` deletes. */
async function declareQueue(channel: Channel, purpose: string, args: FieldTable = {}): Promise<string> {
  const queue = uniqueName(purpose);
  createdQueues.add(queue);
  await channel.queueDeclare(queue, { arguments: { 'x-expires': QUEUE_EXPIRES_MS, ...args } });
  return queue;
}

/** Resolves once `condition` holds, or rejects naming `description` after `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, description: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(10);
  }
}

/** Returns the number of ready messages in `queue`, polled until it equals `expected` or 5 s pass. */
async function settledMessageCount(channel: Channel, queue: string, expected: number): Promise<number> {
  let count = -1;
  await waitFor(async () => {
    count = (await channel.queueDeclare(queue, { passive: true })).messageCount;
    return count === expected;
  }, `${expected} messages in ${queue}`).catch(() => {});
  return count;
}

/**
 * Returns the rejection reasons of `calls` once all settle, failing on any fulfilment. Call it
 * before the action that rejects them, so that each rejection has a handler in time.
 */
async function rejectionsOf(calls: Promise<Message>[]): Promise<unknown[]> {
  const results = await Promise.allSettled(calls);
  const fulfilled = results.filter((result) => result.status === 'fulfilled');
  expect(fulfilled).toEqual([]);
  return results.map((result) => (result as PromiseRejectedResult).reason);
}

/** Starts an RPC server on its own channel that replies with `reply to <body>`. */
async function startEchoServer(connection: Connection, queue: string) {
  const channel = await connection.channel();
  const requests: Message[] = [];
  const server = await serveRpc(channel, queue, (request) => {
    requests.push(request);
    return { body: `reply to ${request.body.toString()}`, properties: { contentType: 'text/plain' } };
  });
  return { channel, server, requests };
}

describe('rpc round trip', () => {
  it('reply matches correlation id', async () => {
    const connection = await open();
    const clientChannel = await connection.channel();
    const queue = await declareQueue(clientChannel, 'round-trip');
    const { channel: serverChannel, server, requests } = await startEchoServer(connection, queue);
    const client = await RpcClient.create(clientChannel);

    const reply = await client.call('', queue, 'ping', { properties: { messageId: 'request-1', headers: { attempt: 1 } } });

    expect(reply.body.toString()).toBe('reply to ping');
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    expect(request.properties.correlationId).toMatch(CORRELATION_ID_PATTERN);
    expect(reply.properties.correlationId).toBe(request.properties.correlationId);
    expect(reply.properties.contentType).toBe('text/plain');
    // RabbitMQ replaces the pseudo-queue name with a generated address of the reply consumer.
    expect(request.properties.replyTo?.startsWith(`${DIRECT_REPLY_TO}.`)).toBe(true);
    expect(request.properties.messageId).toBe('request-1');
    expect(request.properties.headers).toEqual({ attempt: 1 });
    expect(client.pendingCount).toBe(0);
    expect(client.unmatchedReplies).toBe(0);

    await server.close();
    // Closing the channel requeues unacknowledged messages, so an empty queue proves the ack.
    await serverChannel.close();
    expect(await settledMessageCount(clientChannel, queue, 0)).toBe(0);
    await client.close();
  });

  it('200 concurrent calls get own replies', async () => {
    const CALL_COUNT = 200;
    const connection = await open();
    const clientChannel = await connection.channel();
    const queue = await declareQueue(clientChannel, 'concurrent');
    const serverChannel = await connection.channel();
    // Random delays make the replies come back in another order than the requests.
    await serveRpc(
      serverChannel,
      queue,
      async (request) => {
        await sleep(Math.floor(Math.random() * 20));
        return `reply to ${request.body.toString()}`;
      },
      { prefetchCount: 50 },
    );
    const client = await RpcClient.create(clientChannel);

    const calls = Array.from({ length: CALL_COUNT }, (_, index) => client.call('', queue, `request ${index}`));
    expect(client.pendingCount).toBe(CALL_COUNT);
    const replies = await Promise.all(calls);

    expect(replies.map((reply) => reply.body.toString())).toEqual(Array.from({ length: CALL_COUNT }, (_, index) => `reply to request ${index}`));
    expect(new Set(replies.map((reply) => reply.properties.correlationId)).size).toBe(CALL_COUNT);
    expect(client.pendingCount).toBe(0);
    expect(client.unmatchedReplies).toBe(0);
  });

  it('one channel hosts calls and server', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'same-channel');
    await serveRpc(channel, queue, (request) => Buffer.concat([request.body, Buffer.from('!')]));
    const client = await RpcClient.create(channel);

    const reply = await client.call('', queue, Buffer.from([1, 2, 3]));

    expect([...reply.body]).toEqual([1, 2, 3, 0x21]);
  });
});

describe('rpc confirm mode', () => {
  it('confirm channels round trip', async () => {
    const connection = await open();
    const clientChannel = await connection.channel();
    const queue = await declareQueue(clientChannel, 'confirms');
    await clientChannel.confirmSelect();
    const serverChannel = await connection.channel();
    await serverChannel.confirmSelect();
    await serveRpc(serverChannel, queue, (request) => `confirmed ${request.body.toString()}`);
    const client = await RpcClient.create(clientChannel);

    const replies = await Promise.all([client.call('', queue, 'a'), client.call('', queue, 'b')]);

    expect(replies.map((reply) => reply.body.toString())).toEqual(['confirmed a', 'confirmed b']);
    await serverChannel.close();
    expect(await settledMessageCount(clientChannel, queue, 0)).toBe(0);
  });

  it('confirm channel unroutable call rejects once', async () => {
    const connection = await open();
    const channel = await connection.channel();
    await channel.confirmSelect();
    const client = await RpcClient.create(channel);

    // The broker sends basic.return before the ack, so the call rejects with RPC_UNROUTABLE and
    // the publish's later UnroutableError is ignored.
    await expect(client.call('', uniqueName('no-such-queue'), 'lost')).rejects.toMatchObject({ code: 'RPC_UNROUTABLE' });
    await channel.waitForConfirms().catch(() => {});

    expect(client.pendingCount).toBe(0);
    expect(channel.isOpen).toBe(true);
  });
});

describe('rpc timeouts', () => {
  it('call without server times out', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'no-server');
    const client = await RpcClient.create(channel);

    const startedAt = performance.now();
    const error: unknown = await client.call('', queue, 'anyone there?', { timeout: 200 }).catch((caught: unknown) => caught);
    const elapsed = performance.now() - startedAt;

    expect(error).toBeInstanceOf(AmqpError);
    expect((error as AmqpError).code).toBe('RPC_TIMEOUT');
    expect((error as AmqpError).source).toBe('client');
    expect((error as AmqpError).retryable).toBe(true);
    expect((error as AmqpError).message).toContain(`routing key '${queue}'`);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(client.pendingCount).toBe(0);
  });

  it('late reply after timeout is dropped', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'late');
    const client = await RpcClient.create(channel);

    const error: unknown = await client.call('', queue, 'slow', { timeout: 100 }).catch((caught: unknown) => caught);
    expect((error as AmqpError).code).toBe('RPC_TIMEOUT');

    // Act as a server that replies after the timeout, on another connection.
    const serverConnection = await open();
    const serverChannel = await serverConnection.channel();
    const request = await serverChannel.basicGet(queue, { noAck: true });
    expect(request).not.toBeNull();
    await serverChannel.basicPublish('', request!.properties.replyTo!, 'too late', { correlationId: request!.properties.correlationId! });
    await waitFor(() => client.unmatchedReplies === 1, 'the late reply to arrive');

    expect(client.pendingCount).toBe(0);
    expect(processFailures).toEqual([]);

    // The client keeps working after dropping the reply.
    await startEchoServer(serverConnection, queue);
    const reply = await client.call('', queue, 'fast');
    expect(reply.body.toString()).toBe('reply to fast');
  });

  it('reply with unknown correlation id is ignored', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'unknown-id');
    const client = await RpcClient.create(channel);
    const call = client.call('', queue, 'question', { timeout: 5000 });

    const serverChannel = await connection.channel();
    const request = await serverChannel.basicGet(queue, { noAck: true });
    const replyTo = request!.properties.replyTo!;
    await serverChannel.basicPublish('', replyTo, 'stranger', { correlationId: randomUUID() });
    await serverChannel.basicPublish('', replyTo, 'no id at all');
    await serverChannel.basicPublish('', replyTo, 'answer', { correlationId: request!.properties.correlationId! });

    const reply = await call;
    expect(reply.body.toString()).toBe('answer');
    // The broker delivers in publish order on one channel, so both strays arrived before the reply.
    expect(client.unmatchedReplies).toBe(2);
  });

  it('invalid timeout rejects without sending', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'invalid-timeout');
    const client = await RpcClient.create(channel);

    for (const timeout of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      const error: unknown = await client.call('', queue, 'x', { timeout }).catch((caught: unknown) => caught);
      expect(error, `timeout ${timeout}`).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code, `timeout ${timeout}`).toBe('VALUE_OUT_OF_RANGE');
    }
    await expect(RpcClient.create(await connection.channel(), { timeout: -5 })).rejects.toBeInstanceOf(InvalidArgumentError);

    expect(client.pendingCount).toBe(0);
    expect(await settledMessageCount(channel, queue, 0)).toBe(0);
  });
});

describe('rpc failures', () => {
  it('unroutable request rejects at once', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const client = await RpcClient.create(channel);

    const error: unknown = await client.call('', uniqueName('no-such-queue'), 'lost').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AmqpError);
    expect((error as AmqpError).code).toBe('RPC_UNROUTABLE');
    expect((error as AmqpError).replyCode).toBe(312);
    expect((error as AmqpError).replyText).toBe('NO_ROUTE');
    expect(client.pendingCount).toBe(0);
    expect(channel.isOpen).toBe(true);
  });

  it('channel close rejects each call once', async () => {
    const CALL_COUNT = 50;
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'channel-close');
    const client = await RpcClient.create(channel);

    let rejections = 0;
    const calls = Array.from({ length: CALL_COUNT }, () =>
      client.call('', queue, 'never answered', { timeout: 0 }).catch((error: unknown) => {
        rejections++;
        throw error;
      }),
    );
    const settled = rejectionsOf(calls);
    await channel.close();
    const errors = await settled;

    expect(rejections).toBe(CALL_COUNT);
    for (const error of errors) {
      expect(error).toBeInstanceOf(ChannelError);
      expect((error as ChannelError).code).toBe('CHANNEL_CLOSED');
    }
    expect(client.isOpen).toBe(false);
    expect(client.pendingCount).toBe(0);
    await expect(client.call('', queue, 'after close')).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    await expect(client.close()).resolves.toBeUndefined();

    await sleep(50);
    expect(rejections).toBe(CALL_COUNT);
    expect(processFailures).toEqual([]);
  });

  it('broker channel error rejects calls', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'broker-close');
    const client = await RpcClient.create(channel);
    const settled = rejectionsOf([client.call('', queue, 'a', { timeout: 0 }), client.call('', queue, 'b', { timeout: 0 })]);

    const declareError: unknown = await channel.queueDeclare(uniqueName('missing'), { passive: true }).catch((caught: unknown) => caught);
    const errors = await settled;

    expect((declareError as ChannelError).replyCode).toBe(404);
    expect(errors).toEqual([declareError, declareError]);
    expect(connection.isOpen).toBe(true);
  });

  it('connection close rejects calls', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'connection-close');
    const client = await RpcClient.create(channel);
    const calls = Array.from({ length: 10 }, () => client.call('', queue, 'never answered'));

    const settled = rejectionsOf(calls);
    await connection.close();
    const errors = await settled;

    for (const error of errors) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe('CONNECTION_CLOSED');
    }
    expect(client.pendingCount).toBe(0);
  });

  it('client close rejects calls, channel stays', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'client-close');
    const client = await RpcClient.create(channel);
    const calls = Array.from({ length: 10 }, () => client.call('', queue, 'never answered'));

    const settled = rejectionsOf(calls);
    await client.close();
    const errors = await settled;

    for (const error of errors) {
      expect(error).toBeInstanceOf(AmqpError);
      expect((error as AmqpError).code).toBe('RPC_CLIENT_CLOSED');
    }
    await expect(client.call('', queue, 'after close')).rejects.toMatchObject({ code: 'RPC_CLIENT_CLOSED' });
    expect(channel.isOpen).toBe(true);
    expect(channel.listenerCount('close')).toBe(0);
    expect(channel.listenerCount('return')).toBe(0);

    // The reply consumer is gone, so the channel can host a new client.
    const next = await RpcClient.create(channel);
    await startEchoServer(connection, queue);
    // The ten requests of the closed client are still queued. The server replies to them too, and
    // the broker discards those replies because their consumer no longer exists.
    expect((await next.call('', queue, 'again')).body.toString()).toBe('reply to again');
    // The server replied in delivery order, so the ten discarded replies were sent before this one.
    expect(next.unmatchedReplies).toBe(0);
  });

  it('second client on channel fails 406', async () => {
    const connection = await open();
    const channel = await connection.channel();
    await RpcClient.create(channel);

    const error: unknown = await RpcClient.create(channel).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('CHANNEL_CLOSED_BY_BROKER');
    expect((error as ChannelError).replyCode).toBe(406);
    expect(connection.isOpen).toBe(true);
  });

  it('manual-ack reply consumer fails 406', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const closeEvents: unknown[] = [];
    channel.on('close', (error) => closeEvents.push(error));

    const error: unknown = await channel.basicConsume(DIRECT_REPLY_TO, () => {}, { noAck: false }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('CHANNEL_CLOSED_BY_BROKER');
    expect((error as ChannelError).replyCode).toBe(406);
    expect((error as ChannelError).source).toBe('broker');
    expect((error as ChannelError).message).toMatch(/^basic\.consume: PRECONDITION_FAILED/);
    expect(closeEvents).toEqual([error]);
    expect(channel.isOpen).toBe(false);
    expect(connection.isOpen).toBe(true);

    // The connection still carries RPC on a new channel.
    const next = await connection.channel();
    const queue = await declareQueue(next, 'after-406');
    await startEchoServer(connection, queue);
    const client = await RpcClient.create(next);
    expect((await client.call('', queue, 'still working')).body.toString()).toBe('reply to still working');
  });
});

describe('rpc server', () => {
  it('throwing handler nacks and keeps serving', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const deadLetters = await declareQueue(channel, 'dead-letters');
    const queue = await declareQueue(channel, 'failing', {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetters,
    });
    const serverChannel = await connection.channel();
    const reported: { error: unknown; body: string }[] = [];
    await serveRpc(
      serverChannel,
      queue,
      async (request) => {
        const body = request.body.toString();
        if (body === 'throw') throw new Error('handler threw');
        if (body === 'reject') return Promise.reject(new Error('handler rejected'));
        if (body === 'invalid') return 42 as unknown as string;
        return `reply to ${body}`;
      },
      { onError: (error, request) => reported.push({ error, body: request.body.toString() }) },
    );
    const client = await RpcClient.create(channel);

    for (const body of ['throw', 'reject', 'invalid']) {
      const error: unknown = await client.call('', queue, body, { timeout: 300 }).catch((caught: unknown) => caught);
      expect((error as AmqpError).code, body).toBe('RPC_TIMEOUT');
    }
    const reply = await client.call('', queue, 'fine');

    expect(reply.body.toString()).toBe('reply to fine');
    expect(reported.map(({ body }) => body)).toEqual(['throw', 'reject', 'invalid']);
    expect((reported[0]!.error as Error).message).toBe('handler threw');
    expect((reported[1]!.error as Error).message).toBe('handler rejected');
    expect(reported[2]!.error).toBeInstanceOf(InvalidArgumentError);
    expect((reported[2]!.error as InvalidArgumentError).code).toBe('VALUE_TYPE_INVALID');
    // Rejected without requeue, the three requests went to the dead-letter queue.
    expect(await settledMessageCount(channel, deadLetters, 3)).toBe(3);
    expect(await settledMessageCount(channel, queue, 0)).toBe(0);
    expect(serverChannel.isOpen).toBe(true);
    expect(processFailures).toEqual([]);
  });

  it('onError exception does not crash', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'throwing-on-error');
    const serverChannel = await connection.channel();
    let reports = 0;
    await serveRpc(
      serverChannel,
      queue,
      (request) => {
        if (request.body.toString() === 'fail') throw new Error('handler failed');
        return 'ok';
      },
      {
        onError: () => {
          reports++;
          throw new Error('onError failed too');
        },
      },
    );
    const client = await RpcClient.create(channel);

    await expect(client.call('', queue, 'fail', { timeout: 200 })).rejects.toMatchObject({ code: 'RPC_TIMEOUT' });
    expect((await client.call('', queue, 'next')).body.toString()).toBe('ok');
    expect(reports).toBe(1);
    expect(processFailures).toEqual([]);
  });

  it('request without replyTo is rejected', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const deadLetters = await declareQueue(channel, 'no-reply-to-dead');
    const queue = await declareQueue(channel, 'no-reply-to', {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetters,
    });
    const handled: string[] = [];
    const reported: unknown[] = [];
    await serveRpc(
      await connection.channel(),
      queue,
      (request) => {
        handled.push(request.body.toString());
        return 'unused';
      },
      { onError: (error) => reported.push(error) },
    );

    await channel.basicPublish('', queue, 'fire and forget', { correlationId: 'no-reply-to' });
    await waitFor(() => reported.length === 1, 'the missing replyTo report');

    expect(handled).toEqual([]);
    expect(reported[0]).toBeInstanceOf(AmqpError);
    expect((reported[0] as AmqpError).code).toBe('RPC_REPLY_TO_MISSING');
    expect(await settledMessageCount(channel, deadLetters, 1)).toBe(1);
  });

  it('close waits for running handler', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'close-waits');
    const serverChannel = await connection.channel();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const server = await serveRpc(serverChannel, queue, async () => {
      started();
      await released;
      return 'finished';
    });
    expect(server.consumerTag).not.toBe('');
    const client = await RpcClient.create(channel);

    const call = client.call('', queue, 'slow');
    await handlerStarted;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await sleep(100);
    expect(closed).toBe(false);
    expect(server.activeRequests).toBe(1);

    release();
    await closing;
    expect((await call).body.toString()).toBe('finished');
    expect(server.activeRequests).toBe(0);
    expect((await channel.queueDeclare(queue, { passive: true })).consumerCount).toBe(0);
  });

  it('channel close drops reply, requeues request', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = await declareQueue(channel, 'server-channel-close');
    const serverChannel = await connection.channel();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reported: unknown[] = [];
    let handlerCalls = 0;
    await serveRpc(
      serverChannel,
      queue,
      async () => {
        handlerCalls++;
        await released;
        return 'never sent';
      },
      { onError: (error) => reported.push(error) },
    );
    const client = await RpcClient.create(channel);

    const call = client.call('', queue, 'abandoned', { timeout: 500 });
    await waitFor(() => handlerCalls === 1, 'the handler to start');
    await serverChannel.close();
    release();

    await expect(call).rejects.toMatchObject({ code: 'RPC_TIMEOUT' });
    expect(reported).toEqual([]);
    expect(await settledMessageCount(channel, queue, 1)).toBe(1);
    expect(processFailures).toEqual([]);
  });
});
