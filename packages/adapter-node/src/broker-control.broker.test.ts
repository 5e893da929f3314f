/**
 * Tests of how the Node adapter handles what the broker and its operator do to a connection: a
 * memory alarm that blocks publishing, `rabbitmqctl close_connection`, and a client close while
 * requests are pending. They run against RabbitMQ at AMQP_URL, by default
 * amqp://guest:guest@127.0.0.1:5672, and drive it with rabbitmqctl. Set RABBITMQCTL to another
 * command, such as `docker exec rabbit rabbitmqctl`, when the broker runs in a container.
 *
 * NOTE: a memory alarm blocks publishing for every connection on the broker. So each alarm test
 * also delays the publishes of test files that run in parallel, for up to about 2 s with
 * RabbitMQ 3.10.8 on the same 2-CPU machine. A test in another file that measures the socket
 * buffer or a short timeout at that moment can then fail. Running this file in a Vitest
 * project of its own with a higher `sequence.groupOrder` keeps other files out of the alarm.
 * `withMemoryAlarm` of `@warren/test-broker` clears every alarm in a `finally`, after at most
 * MAX_ALARM_MS.
 */
import { randomUUID } from 'node:crypto';
import { type AddressInfo, connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ALARM_LOCK_WAIT_MS,
  MEMORY_ALARM_REASON,
  acquireAlarmLock,
  findConnectionPid,
  rabbitmqctl,
  releaseAlarmLock,
  waitFor,
  withMemoryAlarm,
  withTimeout,
} from '@warren/test-broker';
import {
  AmqpError,
  type Channel,
  type ConnectOptions,
  Connection,
  ConnectionClosedByBrokerError,
  ConnectionError,
  type Message,
  connect,
  parseUrl,
} from './index.js';

const BROKER_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const BROKER_ADDRESS = parseUrl(BROKER_URL);
const BROKER_HOST = BROKER_ADDRESS.hostname ?? '127.0.0.1';
const BROKER_PORT = BROKER_ADDRESS.port ?? 5672;
const BROKER_VHOST = BROKER_ADDRESS.vhost ?? '/';
const BROKER_PASSWORD = BROKER_ADDRESS.password ?? 'guest';

/** rabbitmqctl controls the node on this machine, so the tests skip a broker on another host. */
const BROKER_IS_LOCAL = ['127.0.0.1', 'localhost', '::1'].includes(BROKER_HOST);

/** Expiry of every test queue while unused, so that a queue survives a crashed run by at most this long. */
const QUEUE_EXPIRES_MS = 10 * 60 * 1000;

const BASIC_PUBLISH = { classId: 60, methodId: 40 };
const BASIC_ACK = { classId: 60, methodId: 80 };
const QUEUE_DECLARE = { classId: 50, methodId: 10 };

// ---------------------------------------------------------------------------------------------
// Process failure log, cleanup and small helpers
// ---------------------------------------------------------------------------------------------

const processFailures: { event: string; error: unknown }[] = [];
const recordRejection = (reason: unknown): void => {
  processFailures.push({ event: 'unhandledRejection', error: reason });
};
const recordException = (error: Error): void => {
  processFailures.push({ event: 'uncaughtException', error });
};

beforeAll(async () => {
  if (!BROKER_IS_LOCAL) return;
  process.on('unhandledRejection', recordRejection);
  process.on('uncaughtException', recordException);
  await rabbitmqctl('status');
});

afterAll(() => {
  if (!BROKER_IS_LOCAL) return;
  process.off('unhandledRejection', recordRejection);
  process.off('uncaughtException', recordException);
  expect(processFailures).toEqual([]);
});

const openConnections = new Set<Connection>();
const openProxies = new Set<FrameRecordingProxy>();
const createdQueues = new Set<string>();

afterEach(async () => {
  for (const connection of openConnections) await connection.close();
  openConnections.clear();
  for (const proxy of openProxies) await proxy.close();
  openProxies.clear();

  if (createdQueues.size === 0) return;
  const cleanup = await connect(BROKER_URL);
  try {
    const channel = await cleanup.channel();
    // RabbitMQ returns delete-ok for a missing queue, so a queue that a test deleted itself is fine.
    for (const queue of createdQueues) await channel.queueDelete(queue);
  } finally {
    await cleanup.close();
  }
  createdQueues.clear();
});

/** Options of `connect()` that the adapter may not have yet; the tests that use them check for them first. */
interface PendingConnectOptions {
  blockedConnectionTimeout?: number;
}

/** Opens a connection that `afterEach` closes; `url` defaults to the test broker. */
async function open(options: ConnectOptions & PendingConnectOptions = {}): Promise<Connection> {
  const connection = await connect({ url: BROKER_URL, ...options } as ConnectOptions);
  openConnections.add(connection);
  return connection;
}

function uniqueName(purpose: string): string {
  return `warren-test.${purpose}.${randomUUID()}`;
}

/** Declares a queue with a random name that `afterEach` deletes. */
async function declareQueue(channel: Channel, purpose: string): Promise<string> {
  const queue = uniqueName(purpose);
  createdQueues.add(queue);
  await channel.queueDeclare(queue, { arguments: { 'x-expires': QUEUE_EXPIRES_MS } });
  return queue;
}

/** A promise with its outcome recorded as it settles, so a test can check that it is still pending. */
interface Tracked<T> {
  promise: Promise<T>;
  status: 'pending' | 'resolved' | 'rejected';
  error: unknown;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, status: 'pending', error: undefined };
  promise.then(
    () => {
      tracked.status = 'resolved';
    },
    (error: unknown) => {
      tracked.status = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** Calls `start` and returns its promise, turning a synchronous throw into a rejection. */
async function callAsync<T>(start: () => Promise<T>): Promise<T> {
  return start();
}

/** Records every `blocked` and `unblocked` event of a connection, in order. */
function recordBlockingEvents(connection: Connection): string[][] {
  const events: string[][] = [];
  connection.on('blocked', (reason) => events.push(['blocked', reason]));
  connection.on('unblocked', () => events.push(['unblocked']));
  return events;
}

/** Records the error of every `close` event of a connection or channel. */
function recordCloseEvents(emitter: Connection | Channel): unknown[] {
  const events: unknown[] = [];
  if (emitter instanceof Connection) emitter.on('close', (error) => events.push(error));
  else emitter.on('close', (error) => events.push(error));
  return events;
}

/** Resolves with the arguments of the next `event` of the connection. */
function nextEvent(connection: Connection, event: 'blocked' | 'unblocked'): Promise<unknown[]> {
  return new Promise((resolve) => connection.once(event, (...args: unknown[]) => resolve(args)));
}

/** Publishes `count` messages to `queue` and consumes them with manual acks, without acking them. */
async function deliverUnacked(publishChannel: Channel, consumeChannel: Channel, queue: string, count: number): Promise<Message[]> {
  for (let index = 0; index < count; index++) await publishChannel.basicPublish('', queue, `message ${index}`);
  const deliveries: Message[] = [];
  await consumeChannel.basicConsume(queue, (message) => {
    deliveries.push(message);
  });
  await waitFor(() => deliveries.length === count, 5000, `${count} deliveries from ${queue}`);
  return deliveries;
}

// ---------------------------------------------------------------------------------------------
// rabbitmqctl
// ---------------------------------------------------------------------------------------------

/** Returns the ready and unacknowledged message counts of a queue, straight from its queue process. */
async function readQueueCounts(queue: string): Promise<{ ready: number; unacknowledged: number }> {
  const output = await rabbitmqctl('list_queues', '-p', BROKER_VHOST, 'name', 'messages_ready', 'messages_unacknowledged', '--formatter', 'json');
  const rows = JSON.parse(output) as { name: string; messages_ready: number; messages_unacknowledged: number }[];
  const row = rows.find((candidate) => candidate.name === queue);
  if (row === undefined) throw new Error(`queue ${queue} not found in rabbitmqctl list_queues`);
  return { ready: row.messages_ready, unacknowledged: row.messages_unacknowledged };
}

async function waitForQueueCounts(queue: string, expected: { ready: number; unacknowledged: number }, timeoutMs: number): Promise<void> {
  let counts: { ready: number; unacknowledged: number } | undefined;
  const reached = async (): Promise<boolean> => {
    counts = await readQueueCounts(queue);
    return counts.ready === expected.ready && counts.unacknowledged === expected.unacknowledged;
  };
  await waitFor(reached, timeoutMs, () => `counts ${JSON.stringify(expected)} of queue ${queue}; last read ${JSON.stringify(counts)}`);
}

// ---------------------------------------------------------------------------------------------
// Frame-recording proxy
// ---------------------------------------------------------------------------------------------

interface SentMethod {
  channel: number;
  classId: number;
  methodId: number;
}

/**
 * A TCP proxy for one client connection that records the method frames the client sends. It can
 * stop forwarding them to the broker while it keeps reading them, so requests stay unanswered,
 * as with a broker that stopped reading its socket.
 */
class FrameRecordingProxy {
  readonly sentMethods: SentMethod[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #upstream: Socket | undefined;
  #forwarding = true;
  #heldChunks: Buffer[] = [];
  #clientEnded = false;
  #unparsed = Buffer.alloc(0);
  #protocolHeaderSeen = false;

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (client) => this.#proxy(client));
  }

  static async start(): Promise<FrameRecordingProxy> {
    const server = createServer();
    const proxy = new FrameRecordingProxy(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    openProxies.add(proxy);
    return proxy;
  }

  /** The test broker's URL with the proxy's address in place of the broker's. */
  get url(): string {
    const url = new URL(BROKER_URL);
    url.hostname = '127.0.0.1';
    url.port = String((this.#server.address() as AddressInfo).port);
    return url.href;
  }

  /** Counts the frames of one method, such as BASIC_ACK, that the client has sent so far. */
  countSent(method: { classId: number; methodId: number }): number {
    return this.sentMethods.filter((sent) => sent.classId === method.classId && sent.methodId === method.methodId).length;
  }

  /** Keeps what the client sends from the broker until `resumeForwarding`. */
  pauseForwarding(): void {
    this.#forwarding = false;
  }

  resumeForwarding(): void {
    this.#forwarding = true;
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    for (const chunk of this.#heldChunks) upstream.write(chunk);
    this.#heldChunks = [];
    if (this.#clientEnded) upstream.end();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #proxy(client: Socket): void {
    const upstream = connectTcp({ host: BROKER_HOST, port: BROKER_PORT });
    this.#upstream = upstream;
    this.#sockets.add(client);
    this.#sockets.add(upstream);

    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    upstream.on('end', () => client.end());
    client.on('data', (chunk: Buffer) => {
      this.#record(chunk);
      if (this.#forwarding) upstream.write(chunk);
      else this.#heldChunks.push(chunk);
    });
    client.on('end', () => {
      this.#clientEnded = true;
      if (this.#forwarding) upstream.end();
    });
    // A reset on one side ends the other; the error itself is expected when a test ends a connection.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }

  /** Parses client bytes into frames: 8 bytes of protocol header, then type, channel, size, payload, 0xCE. */
  #record(chunk: Buffer): void {
    this.#unparsed = Buffer.concat([this.#unparsed, chunk]);
    if (!this.#protocolHeaderSeen) {
      if (this.#unparsed.length < 8) return;
      this.#unparsed = this.#unparsed.subarray(8);
      this.#protocolHeaderSeen = true;
    }
    while (this.#unparsed.length >= 7) {
      const size = this.#unparsed.readUInt32BE(3);
      if (this.#unparsed.length < size + 8) return;
      if (this.#unparsed[0] === 1) {
        this.sentMethods.push({
          channel: this.#unparsed.readUInt16BE(1),
          classId: this.#unparsed.readUInt16BE(7),
          methodId: this.#unparsed.readUInt16BE(9),
        });
      }
      this.#unparsed = this.#unparsed.subarray(size + 8);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Features that the adapter may not have yet
// ---------------------------------------------------------------------------------------------

type ConnectionWithUpdateSecret = Connection & { updateSecret(secret: string, reason: string): Promise<void> };

const HAS_UPDATE_SECRET = typeof (Connection.prototype as unknown as Record<string, unknown>).updateSecret === 'function';

/**
 * Reports whether `connect()` accepts `blockedConnectionTimeout`. With the option wired up, -1
 * is rejected with INVALID_OPTION; without it, the option is ignored and the connection opens.
 */
async function probeBlockedConnectionTimeout(): Promise<boolean> {
  if (!BROKER_IS_LOCAL) return false;
  try {
    const connection = await connect({ url: BROKER_URL, blockedConnectionTimeout: -1 } as ConnectOptions);
    await connection.close();
    return false;
  } catch (error) {
    return AmqpError.isInstance(error) && error.code === 'INVALID_OPTION';
  }
}

const HAS_BLOCKED_CONNECTION_TIMEOUT = await probeBlockedConnectionTimeout();

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe.skipIf(!BROKER_IS_LOCAL)('broker control', () => {
  describe.sequential('memory alarm', () => {
    const UNACKED_COUNT = 5;

    // The lock covers each whole test, because the checks after the alarm need a broker without one.
    beforeEach(acquireAlarmLock, ALARM_LOCK_WAIT_MS + 5000);
    afterEach(releaseAlarmLock);

    it('holds publishes but sends acks', async () => {
      // The publisher goes through the proxy, which shows what the client writes while blocked.
      const proxy = await FrameRecordingProxy.start();
      const publisher = await open({ url: proxy.url });
      const publisherEvents = recordBlockingEvents(publisher);
      const publishChannel = await publisher.channel();
      const publisherAckChannel = await publisher.channel();
      const heldQueue = await declareQueue(publishChannel, 'held');
      const publisherQueue = await declareQueue(publishChannel, 'acked-by-publisher');
      const publisherDeliveries = await deliverUnacked(publishChannel, publisherAckChannel, publisherQueue, UNACKED_COUNT);

      // RabbitMQ blocks only connections that publish during the alarm, so this one is never
      // blocked, and the broker applies its acks while the alarm lasts.
      const consumer = await open();
      const consumerEvents = recordBlockingEvents(consumer);
      const consumerChannel = await consumer.channel();
      const consumerQueue = await declareQueue(consumerChannel, 'acked-by-consumer');
      const consumerDeliveries = await deliverUnacked(publishChannel, consumerChannel, consumerQueue, UNACKED_COUNT);
      expect(proxy.countSent(BASIC_ACK)).toBe(0);

      const unblocked = nextEvent(publisher, 'unblocked');
      const { heldPublish, publishesBeforeHeld } = await withMemoryAlarm(async () => {
        // RabbitMQ 3.10 sends connection.blocked only after the connection publishes during the
        // alarm, so this publish goes out. The broker stops reading the socket right after it.
        const blocked = nextEvent(publisher, 'blocked');
        await publishChannel.basicPublish('', heldQueue, 'publish that triggers the block');
        const [reason] = await withTimeout(blocked, 5000, 'the blocked event');
        expect(reason).toBe(MEMORY_ALARM_REASON);
        expect(publisher.blocked).toBe(true);
        const publishesBeforeHeld = proxy.countSent(BASIC_PUBLISH);

        const heldPublish = track(publishChannel.basicPublish('', heldQueue, 'held publish'));
        for (const message of publisherDeliveries) publisherAckChannel.basicAck(message.deliveryTag);
        // The broker reads the acks only after the alarm, but the client must write them now.
        await waitFor(() => proxy.countSent(BASIC_ACK) === UNACKED_COUNT, 2000, `${UNACKED_COUNT} basic.ack frames from the blocked client`);

        for (const message of consumerDeliveries) consumerChannel.basicAck(message.deliveryTag);
        await waitForQueueCounts(consumerQueue, { ready: 0, unacknowledged: 0 }, 5000);

        expect(heldPublish.status).toBe('pending');
        expect(proxy.countSent(BASIC_PUBLISH)).toBe(publishesBeforeHeld);
        expect(consumer.blocked).toBe(false);
        return { heldPublish, publishesBeforeHeld };
      });

      await withTimeout(unblocked, 5000, 'the unblocked event');
      expect(publisher.blocked).toBe(false);
      await withTimeout(heldPublish.promise, 5000, 'the held publish to be sent');
      expect(proxy.countSent(BASIC_PUBLISH)).toBe(publishesBeforeHeld + 1);
      expect(publisherEvents).toEqual([['blocked', MEMORY_ALARM_REASON], ['unblocked']]);
      expect(consumerEvents).toEqual([]);

      // The acks that waited in the socket reach the broker after the alarm.
      await waitForQueueCounts(publisherQueue, { ready: 0, unacknowledged: 0 }, 5000);
      await waitForQueueCounts(heldQueue, { ready: 2, unacknowledged: 0 }, 5000);
      const first = await consumerChannel.basicGet(heldQueue, { noAck: true });
      const second = await consumerChannel.basicGet(heldQueue, { noAck: true });
      expect(first?.body.toString()).toBe('publish that triggers the block');
      expect(second?.body.toString()).toBe('held publish');
    });

    it('close while blocked completes', async () => {
      const connection = await open();
      const closeEvents = recordCloseEvents(connection);
      const channel = await connection.channel();
      const queue = await declareQueue(channel, 'close-while-blocked');

      const closing = await withMemoryAlarm(async () => {
        const blocked = nextEvent(connection, 'blocked');
        await channel.basicPublish('', queue, 'publish that triggers the block');
        await withTimeout(blocked, 5000, 'the blocked event');
        const heldPublish = track(channel.basicPublish('', queue, 'held publish'));

        const closing = track(connection.close());
        // Held publishes reject at once; only close() itself waits for the broker's close-ok.
        await withTimeout(heldPublish.promise.catch(() => undefined), 1000, 'the held publish to reject');
        expect(heldPublish.status).toBe('rejected');
        expect(heldPublish.error).toBeInstanceOf(ConnectionError);
        expect((heldPublish.error as ConnectionError).code).toBe('CONNECTION_CLOSED');
        expect(connection.isOpen).toBe(false);
        expect(() => channel.basicPublish('', queue, 'publish after close')).toThrow(ConnectionError);
        return closing;
      });

      // RabbitMQ reads the close once the alarm clears, and then sends close-ok.
      await withTimeout(closing.promise, 5000, 'close() after the alarm cleared');
      expect(closing.status).toBe('resolved');
      await expect(connection.closed).resolves.toBeUndefined();
      expect(closeEvents).toEqual([undefined]);
    });

    const BLOCKED_TIMEOUT_MS = 1000;

    if (HAS_BLOCKED_CONNECTION_TIMEOUT) {
      it('blockedConnectionTimeout closes blocked connection', async () => {
        const connection = await open({ blockedConnectionTimeout: BLOCKED_TIMEOUT_MS });
        const closeEvents = recordCloseEvents(connection);
        const channel = await connection.channel();
        const queue = await declareQueue(channel, 'blocked-timeout');

        const { error, heldPublish, blockedMs } = await withMemoryAlarm(async () => {
          const blocked = nextEvent(connection, 'blocked');
          await channel.basicPublish('', queue, 'publish that triggers the block');
          await withTimeout(blocked, 5000, 'the blocked event');
          const blockedAt = performance.now();
          const heldPublish = track(channel.basicPublish('', queue, 'held publish'));

          const error = await withTimeout(connection.closed, BLOCKED_TIMEOUT_MS + 5000, 'the connection to close');
          return { error, heldPublish, blockedMs: performance.now() - blockedAt };
        });

        expect(error).toBeInstanceOf(ConnectionError);
        expect(error?.code).toBe('BLOCKED_TIMEOUT');
        expect(error?.source).toBe('broker');
        expect(error?.retryable).toBe(true);
        // The client starts the timeout when connection.blocked arrives, a moment before the test receives the event.
        expect(blockedMs).toBeGreaterThanOrEqual(BLOCKED_TIMEOUT_MS - 100);
        expect(blockedMs).toBeLessThan(BLOCKED_TIMEOUT_MS + 2000);
        await heldPublish.promise.catch(() => undefined);
        expect(heldPublish.status).toBe('rejected');
        expect(heldPublish.error).toBe(error);
        expect(closeEvents).toEqual([error]);
        await expect(connection.close()).resolves.toBeUndefined();
      });
    } else {
      it.todo('blockedConnectionTimeout closes blocked connection (connect() does not accept the option yet)');
    }
  });

  describe('forced close', () => {
    const CLOSE_REASON = 'warren broker-control test';

    it('close_connection rejects pending requests', async () => {
      const proxy = await FrameRecordingProxy.start();
      const connectionName = `warren-test-${randomUUID()}`;
      const connection = await open({ url: proxy.url, connectionName });
      const closeEvents = recordCloseEvents(connection);
      const channel = await connection.channel();
      const channelCloseEvents = recordCloseEvents(channel);
      const queue = await declareQueue(channel, 'forced-close');
      const consumer = await channel.basicConsume(queue);
      const nextMessage = track(consumer[Symbol.asyncIterator]().next());
      const pid = await findConnectionPid(connectionName);

      // The proxy keeps these requests from the broker, so they are still pending when the broker closes the connection.
      proxy.pauseForwarding();
      const declare = track(channel.queueDeclare(queue, { passive: true }));
      const opening = track(connection.channel());
      await rabbitmqctl('close_connection', pid, CLOSE_REASON);

      const error = await withTimeout(connection.closed, 5000, 'the connection to close');
      expect(error).toBeInstanceOf(ConnectionClosedByBrokerError);
      expect(error?.code).toBe('CONNECTION_CLOSED_BY_BROKER');
      expect(error?.source).toBe('broker');
      expect(error?.replyCode).toBe(320);
      expect(error?.retryable).toBe(true);
      expect(error?.replyText).toContain(CLOSE_REASON);
      expect(closeEvents).toEqual([error]);
      expect(connection.isOpen).toBe(false);

      await Promise.allSettled([declare.promise, opening.promise, nextMessage.promise]);
      for (const request of [declare, opening, nextMessage]) {
        expect(request.status).toBe('rejected');
        expect(request.error).toBeInstanceOf(ConnectionError);
        expect(request.error).toMatchObject({ code: 'CONNECTION_CLOSED_BY_BROKER', replyCode: 320 });
      }
      expect(channelCloseEvents).toEqual([error]);
      expect(consumer.ended).toBe(true);

      const publishError: unknown = (() => {
        try {
          void channel.basicPublish('', queue, 'publish after close');
          return undefined;
        } catch (caught) {
          return caught;
        }
      })();
      expect(publishError).toMatchObject({ code: 'CONNECTION_CLOSED_BY_BROKER' });

      await expect(connection.close()).resolves.toBeUndefined();
      expect(closeEvents).toEqual([error]);
      // Unhandled rejections surface after the microtask queue drains, so give them a turn.
      await sleep(50);
      expect(processFailures).toEqual([]);
    });
  });

  describe('client close', () => {
    const CHANNEL_COUNT = 3;

    /** Starts a passive declare on each channel, then two requests that queue behind it. */
    function startRequests(channels: Channel[], queue: string): Tracked<unknown>[] {
      return channels.flatMap((channel) => [
        track<unknown>(channel.queueDeclare(queue, { passive: true })),
        track<unknown>(channel.exchangeDeclare('amq.direct', 'direct', { passive: true })),
        track<unknown>(channel.basicQos(10)),
      ]);
    }

    async function openChannels(connection: Connection): Promise<Channel[]> {
      const channels: Channel[] = [];
      for (let index = 0; index < CHANNEL_COUNT; index++) channels.push(await connection.channel());
      return channels;
    }

    function expectAllClosedByClient(requests: Tracked<unknown>[]): void {
      expect(requests.map((request) => request.status)).toEqual(requests.map(() => 'rejected'));
      for (const request of requests) {
        expect(request.error).toBeInstanceOf(ConnectionError);
        expect((request.error as ConnectionError).code).toBe('CONNECTION_CLOSED');
      }
    }

    it('close rejects requests on every channel', async () => {
      const connection = await open();
      const closeEvents = recordCloseEvents(connection);
      const channels = await openChannels(connection);
      const channelCloseEvents = channels.map((channel) => recordCloseEvents(channel));
      const queue = await declareQueue(channels[0]!, 'close-pending');

      // close() runs in the same turn of the event loop as the requests, so no reply can arrive before it.
      const requests = startRequests(channels, queue);
      const closing = connection.close();
      await Promise.allSettled(requests.map((request) => request.promise));

      expect(requests).toHaveLength(3 * CHANNEL_COUNT);
      expectAllClosedByClient(requests);
      await expect(withTimeout(closing, 5000, 'close()')).resolves.toBeUndefined();
      expect(closeEvents).toEqual([undefined]);
      for (const events of channelCloseEvents) {
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ code: 'CONNECTION_CLOSED' });
      }
    });

    it('close discards late replies', async () => {
      const proxy = await FrameRecordingProxy.start();
      const connection = await open({ url: proxy.url });
      const closeEvents = recordCloseEvents(connection);
      const channels = await openChannels(connection);
      const queue = await declareQueue(channels[0]!, 'close-late-replies');
      const declaresBefore = proxy.countSent(QUEUE_DECLARE);

      // The head request of each channel reaches the proxy, which keeps it from the broker.
      proxy.pauseForwarding();
      const requests = startRequests(channels, queue);
      await waitFor(() => proxy.countSent(QUEUE_DECLARE) === declaresBefore + CHANNEL_COUNT, 2000, 'the passive declares to be sent');
      const closing = track(connection.close());
      await Promise.allSettled(requests.map((request) => request.promise));
      expectAllClosedByClient(requests);

      // The broker now replies to the declares, which the client must discard, and then to the close.
      proxy.resumeForwarding();
      await withTimeout(closing.promise, 5000, 'close() after the broker replied');
      expect(closing.status).toBe('resolved');
      await expect(connection.closed).resolves.toBeUndefined();
      expect(closeEvents).toEqual([undefined]);
    });

    it('close ends without close-ok', async () => {
      // The engine waits 10 s for close-ok by default; the adapter does not expose the setting.
      const closeTimeoutMs = 10_000;
      const proxy = await FrameRecordingProxy.start();
      const connection = await open({ url: proxy.url });
      const closeEvents = recordCloseEvents(connection);

      proxy.pauseForwarding();
      const startedAt = performance.now();
      await withTimeout(connection.close(), closeTimeoutMs + 5000, 'close() without a close-ok');
      const elapsedMs = performance.now() - startedAt;

      expect(elapsedMs).toBeLessThan(closeTimeoutMs + 3000);
      await expect(connection.closed).resolves.toBeUndefined();
      expect(closeEvents).toEqual([undefined]);
    }, 30_000);

    it('close after forced close resolves', async () => {
      const connectionName = `warren-test-${randomUUID()}`;
      const connection = await open({ connectionName });
      const pid = await findConnectionPid(connectionName);
      await rabbitmqctl('close_connection', pid, 'close after forced close');
      await withTimeout(connection.closed, 5000, 'the connection to close');

      await expect(withTimeout(connection.close(), 1000, 'close() of an ended connection')).resolves.toBeUndefined();
    });
  });

  describe('update secret', () => {
    if (HAS_UPDATE_SECRET) {
      it('updateSecret resolves on RabbitMQ', async () => {
        const connection = (await open()) as ConnectionWithUpdateSecret;

        await expect(connection.updateSecret(BROKER_PASSWORD, 'test')).resolves.toBeUndefined();
        expect(connection.isOpen).toBe(true);

        const first = connection.updateSecret(BROKER_PASSWORD, 'first of two');
        const second: unknown = await callAsync(() => connection.updateSecret(BROKER_PASSWORD, 'second of two')).catch((caught: unknown) => caught);
        expect(second).toBeInstanceOf(ConnectionError);
        expect((second as ConnectionError).code).toBe('UPDATE_SECRET_PENDING');
        await expect(first).resolves.toBeUndefined();

        await connection.close();
        const afterClose: unknown = await callAsync(() => connection.updateSecret(BROKER_PASSWORD, 'after close')).catch((caught: unknown) => caught);
        expect(afterClose).toBeInstanceOf(ConnectionError);
        expect((afterClose as ConnectionError).code).toBe('CONNECTION_CLOSED');
      });
    } else {
      it.todo('updateSecret resolves on RabbitMQ (Connection has no updateSecret yet)');
    }
  });
});
