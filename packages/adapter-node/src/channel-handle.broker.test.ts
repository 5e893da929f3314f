/**
 * Channel handles used from real `worker_threads` Workers against RabbitMQ at AMQP_URL, by
 * default amqp://guest:guest@127.0.0.1:5672. The Workers run channel-handle.worker.mjs, which
 * imports the built package from ../dist, so build first: `npm test` runs
 * `pnpm turbo run build` before Vitest. Queues get random names and are deleted after each test.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Channel, type Connection, Decimal, type Message, connect } from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

const WORKER_SCRIPT = fileURLToPath(new URL('./channel-handle.worker.mjs', import.meta.url));
const BUILT_PACKAGE = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const SOURCE_DIRECTORY = fileURLToPath(new URL('.', import.meta.url));
/** Time that a finished worker gets to exit by itself. */
const EXIT_TIMEOUT_MS = 5000;
/**
 * Pause after which a requeue that RabbitMQ was still doing shows in the queue's count. RabbitMQ
 * 3.10 on the same 2-CPU machine as the tests requeued within 50 ms.
 */
const REQUEUE_PAUSE_MS = 300;

/** What channel-handle.worker.mjs reports for a failed request. */
interface WorkerError {
  name: string;
  code: string;
  message: string;
  replyCode: number | undefined;
  isChannelError: boolean;
  isConnectionError: boolean;
  returned: { body: string; routingKey: string; replyCode: number } | undefined;
}

interface WorkerReply {
  ticket: number;
  ok: boolean;
  error?: WorkerError;
  [key: string]: unknown;
}

const connections: Connection[] = [];
const queues: string[] = [];
const workers: Worker[] = [];
const processFailures: { event: string; error: unknown }[] = [];
const recordRejection = (reason: unknown): void => {
  processFailures.push({ event: 'unhandledRejection', error: reason });
};
const recordException = (error: Error): void => {
  processFailures.push({ event: 'uncaughtException', error });
};

beforeAll(() => {
  assertBuiltPackage();
  process.on('unhandledRejection', recordRejection);
  process.on('uncaughtException', recordException);
});

afterAll(() => {
  process.off('unhandledRejection', recordRejection);
  process.off('uncaughtException', recordException);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  const cleanup = await connect(BROKER_URL);
  const channel = await cleanup.channel();
  for (const queue of queues.splice(0)) await channel.queueDelete(queue);
  await cleanup.close();
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  expect(processFailures.splice(0)).toEqual([]);
});

function assertBuiltPackage(): void {
  if (!existsSync(BUILT_PACKAGE)) {
    throw new Error(`${BUILT_PACKAGE} not found; run \`pnpm turbo run build\` first (\`npm test\` builds before it runs Vitest)`);
  }
  const builtAt = statSync(BUILT_PACKAGE).mtimeMs;
  const newestSource = Math.max(
    ...readdirSync(SOURCE_DIRECTORY)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
      .map((name) => statSync(join(SOURCE_DIRECTORY, name)).mtimeMs),
  );
  if (newestSource > builtAt) {
    console.warn(`channel-handle: ${BUILT_PACKAGE} is older than the sources, so the workers run the last build; run \`pnpm turbo run build\``);
  }
}

async function openConnection(): Promise<Connection> {
  const connection = await connect(BROKER_URL);
  connections.push(connection);
  return connection;
}

async function declareQueue(channel: Channel): Promise<string> {
  const queue = `warren-test.channel-handle.${randomUUID()}`;
  queues.push(queue);
  await channel.queueDeclare(queue);
  return queue;
}

/** A worker that owns a handle of `channel` and runs the commands of channel-handle.worker.mjs. */
interface HandleWorker {
  worker: Worker;
  channelId: number;
  /** Runs one command in the worker and resolves with its reply, failed or not. */
  run(command: string, options?: Record<string, unknown>): Promise<WorkerReply>;
}

async function startWorker(channel: Channel): Promise<HandleWorker> {
  const handle = channel.createHandle();
  const worker = new Worker(WORKER_SCRIPT, { workerData: { handle }, transferList: [handle] });
  workers.push(worker);

  const waiting = new Map<number, (reply: WorkerReply) => void>();
  let nextTicket = 1;
  const ready = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { ready: boolean; channelId: number }) => resolve(message.channelId));
  });
  const channelId = await ready;
  worker.on('message', (reply: WorkerReply) => {
    waiting.get(reply.ticket)?.(reply);
    waiting.delete(reply.ticket);
  });

  return {
    worker,
    channelId,
    run(command, options = {}) {
      const ticket = nextTicket++;
      return new Promise<WorkerReply>((resolve, reject) => {
        waiting.set(ticket, resolve);
        worker.once('error', reject);
        worker.postMessage({ ticket, command, ...options });
      });
    },
  };
}

/** Fetches `count` messages with manual acknowledgement, failing when one is missing. */
async function getMessages(channel: Channel, queue: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = performance.now() + 10_000;
  while (messages.length < count) {
    const message = await channel.basicGet(queue);
    if (message !== null) messages.push(message);
    else if (performance.now() > deadline) throw new Error(`only ${messages.length} of ${count} messages arrived in ${queue}`);
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return messages;
}

async function messageCount(channel: Channel, queue: string): Promise<number> {
  return (await channel.queueDeclare(queue, { passive: true })).messageCount;
}

/**
 * Waits until the queue contains `expected` ready messages and still does after a pause, then
 * returns the count. RabbitMQ requeues nacked messages, and those of a closed channel, after it
 * has replied to later methods, so a single count can miss them.
 */
async function settledMessageCount(channel: Channel, queue: string, expected: number): Promise<number> {
  const deadline = performance.now() + 5000;
  let count = await messageCount(channel, queue);
  while (count !== expected && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = await messageCount(channel, queue);
  }
  await new Promise((resolve) => setTimeout(resolve, REQUEUE_PAUSE_MS));
  return messageCount(channel, queue);
}

describe('channel handle in a worker', () => {
  it('knows the channel id', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();

    const { channelId } = await startWorker(channel);

    expect(channelId).toBe(channel.id);
  });

  it('acks, nacks and rejects by tag', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const queue = await declareQueue(channel);
    for (let index = 1; index <= 5; index++) await channel.basicPublish('', queue, `message ${index}`);
    const consuming = await connection.channel();
    const fetched = await getMessages(consuming, queue, 5);
    expect(fetched.map((message) => message.deliveryTag)).toEqual([1, 2, 3, 4, 5]);
    const { run } = await startWorker(consuming);

    expect(await run('ack', { deliveryTag: 1 })).toMatchObject({ ok: true });
    expect(await run('nack', { deliveryTag: 2 })).toMatchObject({ ok: true });
    expect(await run('reject', { deliveryTag: 3, requeue: false })).toMatchObject({ ok: true });
    expect(await run('ack', { deliveryTag: 5, multiple: true })).toMatchObject({ ok: true });
    const readyAfterAcks = await settledMessageCount(consuming, queue, 1);
    // Closing the channel requeues whatever it left unacknowledged.
    await consuming.close();
    const readyAfterClose = await settledMessageCount(channel, queue, 1);
    const [requeued] = await getMessages(channel, queue, 1);

    expect(readyAfterAcks).toBe(1);
    expect(readyAfterClose).toBe(1);
    expect(requeued!.body.toString()).toBe('message 2');
    expect(requeued!.redelivered).toBe(true);
  });

  it('publishes properties and body intact', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const queue = await declareQueue(channel);
    const { run } = await startWorker(channel);

    expect(await run('publishRich', { routingKey: queue })).toMatchObject({ ok: true });
    const [message] = await getMessages(channel, queue, 1);

    expect(message!.body).toEqual(Buffer.from([0, 1, 2, 250, 251, 252]));
    expect(message!.properties).toEqual({
      contentType: 'application/octet-stream',
      headers: {
        price: new Decimal(2, 1999),
        small: -1,
        float: 0.5,
        long: 5,
        when: new Date(1_700_000_000_000),
        bytes: new Uint8Array([0, 255]),
        nested: { list: [300, 'text', null] },
      },
      deliveryMode: 2,
      priority: 4,
      correlationId: 'correlation-1',
      messageId: 'message-1',
      timestamp: new Date(1_600_000_000_000),
      appId: 'channel-handle-test',
    });
    expect(message!.properties.headers!.price).toBeInstanceOf(Decimal);
  });

  it('publish in confirm mode resolves on ack', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const queue = await declareQueue(channel);
    await channel.confirmSelect();
    const { run } = await startWorker(channel);

    const reply = await run('publish', { exchange: '', routingKey: queue, body: 'confirmed' });

    expect(reply).toMatchObject({ ok: true });
    // A confirm means the queue has the message.
    expect(await messageCount(channel, queue)).toBe(1);
  });

  it('unroutable mandatory publish rejects in the worker', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    await channel.confirmSelect();
    const { run } = await startWorker(channel);
    const nowhere = `warren-test.nowhere.${randomUUID()}`;

    const reply = await run('publish', { exchange: '', routingKey: nowhere, body: 'lost', mandatory: true });

    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({
      name: 'UnroutableError',
      code: 'MESSAGE_UNROUTABLE',
      replyCode: 312,
      isChannelError: true,
      returned: { body: 'lost', routingKey: nowhere, replyCode: 312 },
    });
    expect(channel.isOpen).toBe(true);
  });

  it('publishes in the order sent', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const queue = await declareQueue(channel);
    const { run } = await startWorker(channel);
    const count = 2000;

    expect(await run('publishSequence', { routingKey: queue, count })).toMatchObject({ ok: true, published: count });
    const consumer = await channel.basicConsume(queue, undefined, { noAck: true });
    const received: number[] = [];
    for await (const message of consumer) {
      received.push(Number(message.body.toString()));
      if (received.length === count) break;
    }

    expect(received).toEqual(Array.from({ length: count }, (_, index) => index));
  });

  it('worker that finished exits by itself', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const queue = await declareQueue(channel);
    for (let index = 1; index <= 3; index++) await channel.basicPublish('', queue, `message ${index}`);
    const consuming = await connection.channel();
    const fetched = await getMessages(consuming, queue, 3);
    const handle = consuming.createHandle();
    const tags = fetched.map((message) => message.deliveryTag);

    const worker = new Worker(WORKER_SCRIPT, { workerData: { handle, ackAndExit: tags }, transferList: [handle] });
    workers.push(worker);
    const result = new Promise((resolve) => worker.once('message', resolve));
    const exited = new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', resolve);
    });
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), EXIT_TIMEOUT_MS).unref());

    expect(await result).toEqual({ acked: true, pendingCount: 0 });
    expect(await Promise.race([exited, timeout])).toBe(0);
    await consuming.close();
    expect(await settledMessageCount(channel, queue, 0)).toBe(0);
  });
});

describe('channel handle of a closed channel', () => {
  it('rejects after a client close', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const { run, channelId } = await startWorker(channel);
    await channel.close();

    const reply = await run('ack', { deliveryTag: 7 });

    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({
      name: 'ChannelClosedByClientError',
      code: 'CHANNEL_CLOSED',
      isChannelError: true,
      message: `basic.ack of delivery tag 7 was not sent: channel ${channelId} was closed by the client`,
    });
    await expectConnectionWorks(connection);
  });

  it('rejects after a broker close', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const { run, channelId } = await startWorker(channel);
    const missing = `warren-test.missing.${randomUUID()}`;
    await expect(channel.queueDeclare(missing, { passive: true })).rejects.toMatchObject({ replyCode: 404 });

    const ack = await run('ack', { deliveryTag: 7 });
    const publish = await run('publish', { exchange: '', routingKey: 'anywhere', body: 'late' });

    expect(ack.ok).toBe(false);
    expect(ack.error).toMatchObject({
      name: 'ChannelClosedByBrokerError',
      code: 'CHANNEL_CLOSED_BY_BROKER',
      replyCode: 404,
      isChannelError: true,
    });
    expect(ack.error!.message).toBe(
      `basic.ack of delivery tag 7 was not sent: channel ${channelId} is closed (queue.declare: NOT_FOUND - no queue '${missing}' in vhost '/')`,
    );
    expect(publish.error!.message).toContain(`basic.publish to exchange "" with routing key "anywhere" was not sent: channel ${channelId} is closed`);
    await expectConnectionWorks(connection);
  });

  it('rejects once the connection closed', async () => {
    const connection = await openConnection();
    const channel = await connection.channel();
    const { run, channelId } = await startWorker(channel);
    await connection.close();

    const reply = await run('ack', { deliveryTag: 1 });
    const pending = await run('pendingCount');

    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({ name: 'ConnectionClosedByClientError', code: 'CONNECTION_CLOSED', isConnectionError: true });
    // The request may reach the connection's thread before or after that thread has handled the
    // close, so the message may also start with "basic.ack of delivery tag 1 was not sent: ".
    expect((reply.error as { message: string }).message).toMatch(
      new RegExp(`^(basic\\.ack of delivery tag 1 was not sent: )?channel ${channelId} is closed because the client closed its connection$`),
    );
    expect(pending).toMatchObject({ ok: true, pendingCount: 0 });
  });
});

/** Checks that a connection still declares, publishes and fetches after one of its channels closed. */
async function expectConnectionWorks(connection: Connection): Promise<void> {
  expect(connection.isOpen).toBe(true);
  const channel = await connection.channel();
  const queue = await declareQueue(channel);
  await channel.basicPublish('', queue, 'still working');
  const [message] = await getMessages(channel, queue, 1);
  expect(message!.body.toString()).toBe('still working');
}
